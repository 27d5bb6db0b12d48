"""The Redis bus (`REDIS_URL` set): live events reach every server process over Redis pub/sub.

PostgreSQL stays the source of truth and the capture: the feed's trigger still sends each committed change as a
NOTIFY. Exactly one process of the cluster — the *relay*, whichever holds a PostgreSQL advisory lock on its
listening connection — LISTENs for them, inlines spilled payloads, and PUBLISHes each (and each session change of
the auth channel) in the order PostgreSQL delivered them, on one Redis channel per database. Every process
SUBSCRIBEs to that channel and feeds its hub, so the commit-order guarantee and "a log-out is applied before any
later event" carry over (one publisher, one channel: Redis keeps the order).

What Redis adds over NOTIFY alone: one LISTEN on the live channel for the whole cluster instead of one per process
(PostgreSQL's notification queue is held back by its slowest listener, and a full queue makes every writing
transaction fail), spilled payloads read once per cluster, and events of any size on the fan-out side. What it
costs: one more service and hop, and one more way to lose events. Losses are never silent: when a process loses
Redis, the relay loses PostgreSQL or Redis, or the relay changes hands, every client concerned is told to
resubscribe (a `gap` for the hub: close code 1012, the SDK reconnects, resubscribes and emits `open`, where an app
refetches), and while a process has no Redis it refuses new live connections (close 1013: the SDK retries).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import asyncpg
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from ..security.sessions import AUTH_CHANNEL
from ..storage.cache import SCHEMA_CHANNEL
from ..storage.notify import Listener
from ..storage.pool import Connection
from .bus import NotifyBus
from .feed import LIVE_CHANNEL
from .hub import Hub

log = logging.getLogger("parsecrm.livequery")

RELAY_LOCK = 0x6C697672  # advisory lock: the one relay of a database
RETRY_SECONDS = 1.0  # a lost Redis or relay connection is retried this often
IDLE_SECONDS = 15.0  # a channel this quiet is checked with a PING
# message kinds on the Redis channel: a change (the feed's JSON, never a spill reference), a session change, a gap
LIVE, AUTH, GAP = "l", "a", "g"


def _client(url: str) -> aioredis.Redis:
    # no silent retries inside redis-py: its pub/sub would reconnect and resubscribe by itself, hiding the gap
    return aioredis.from_url(url, decode_responses=True, retry=Retry(NoBackoff(), 0), socket_connect_timeout=2)


class RedisBus(NotifyBus):
    def __init__(self, pool: asyncpg.Pool, listener: Listener, hub: Hub, on_schema: Any, url: str, dsn: str) -> None:
        super().__init__(pool, listener, hub, on_schema)
        self.url, self.dsn = url, dsn
        self.channel = ""
        self.up = False  # subscribed to the channel now: events can reach this process
        self.tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self.listener.on(SCHEMA_CHANNEL, lambda _payload: self.on_schema())
        database = await self.pool.fetchval("SELECT current_database()")
        self.channel = f"parsecrm:live:{database}"
        subscribed, settled = asyncio.Event(), asyncio.Event()
        self.tasks = [
            asyncio.create_task(self._subscribe(subscribed)),
            asyncio.create_task(Relay(self, self.dsn).run(settled)),
        ]
        # serve once this process hears the channel and a relay's start-up gap is behind us (a client that came
        # earlier would be told to resubscribe at once); serve anyway if Redis is away: clients are told to retry
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(subscribed.wait(), settled.wait()), 5)

    def close(self) -> None:
        for task in self.tasks:
            task.cancel()

    # -- every process: the channel into the hub --------------------------------------------------------------------
    async def _subscribe(self, subscribed: asyncio.Event) -> None:
        put = self.hub.events.put_nowait
        lost = False
        while True:
            client = _client(self.url)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    self.up = True
                    subscribed.set()
                    if lost:  # clients that connected while we were away missed events: resubscribe them
                        log.warning("live query bus: Redis is back")
                        put(("gap", "redis back"))
                        lost = False
                    await self._read(pubsub)
            except Exception as exc:  # Redis lost (RedisError, OSError), or a fault of ours: never end silently
                if not isinstance(exc, RedisError | OSError):
                    log.exception("live query bus: reading Redis failed")
                if self.up:
                    log.warning("live query bus: lost Redis (%s); clients are told to resubscribe", exc)
                    put(("gap", "redis lost"))
                self.up, lost = False, True
            finally:
                with contextlib.suppress(Exception):
                    await client.aclose()
            await asyncio.sleep(RETRY_SECONDS)

    async def _read(self, pubsub: Any) -> None:
        """Hand every message to the hub; on a quiet channel, PING every IDLE_SECONDS and treat a PING left
        unanswered for as long as a lost connection (a peer gone without closing the socket)."""
        loop = asyncio.get_running_loop()
        heard, pinged = loop.time(), False
        while True:
            message = await pubsub.get_message(timeout=IDLE_SECONDS)  # PONGs too: not ignore_subscribe_messages
            now = loop.time()
            if message is not None:
                heard, pinged = now, False
                if message["type"] == "message":
                    self._dispatch(message["data"])
            elif now - heard >= IDLE_SECONDS:
                if pinged:
                    raise RedisConnectionError("no answer to PING")
                await pubsub.ping()
                heard, pinged = now, True

    def _dispatch(self, data: str) -> None:
        kind, body = data[:1], data[1:]
        if kind == LIVE:
            self.hub.events.put_nowait(("live", body))
        elif kind == AUTH:
            # the local session cache hears of this change on its own NOTIFY, maybe later: drop it now, so the hub
            # re-resolves the session from the database before judging any later event
            self.hub.sessions.invalidate(body)
            self.hub.events.put_nowait(("auth", body))
        elif kind == GAP:
            self.hub.events.put_nowait(("gap", body))


class Relay:
    """The cluster's one PostgreSQL → Redis relay; every process runs a candidate (one PostgreSQL connection,
    waiting on the advisory lock), the lock picks one."""

    def __init__(self, bus: RedisBus, dsn: str) -> None:
        self.bus, self.dsn = bus, dsn
        self.queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()

    async def run(self, settled: asyncio.Event) -> None:
        """`settled` is set once this process knows another relays, or has sent its own start-up gap."""
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self.dsn, server_settings={"application_name": "parsecrm-live-relay"})
                if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", RELAY_LOCK):
                    settled.set()
                    # waits while another process relays; its connection's end (it stopped, crashed or lost
                    # PostgreSQL) releases the lock and one waiting process takes over at once
                    await conn.execute("SELECT pg_advisory_lock($1)", RELAY_LOCK)
                await self._relay(conn, settled)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                log.warning("live query relay: lost PostgreSQL; retrying", exc_info=True)
            except Exception:  # a fault of ours must not end relaying: give the lock up (the next relay sends a gap)
                log.exception("live query relay failed; retrying")
            finally:
                settled.set()
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close()
            await asyncio.sleep(RETRY_SECONDS)

    def _heard(self, _conn: Connection, _pid: int, channel: str, payload: object) -> None:
        self.queue.put_nowait((AUTH if channel == AUTH_CHANNEL else LIVE, str(payload)))

    async def _relay(self, conn: asyncpg.Connection, settled: asyncio.Event) -> None:
        """Holding the lock: listen, then forward in order until the connection is lost."""
        self.queue = asyncio.Queue()
        await conn.add_listener(LIVE_CHANNEL, self._heard)
        await conn.add_listener(AUTH_CHANNEL, self._heard)
        log.info("live query relay: this process relays PostgreSQL notifications to Redis")
        client = _client(self.bus.url)
        try:
            # whatever was committed before this LISTEN and after the previous relay's last one was not relayed
            pending = await self._forward(client, (GAP, "relay started"))
            settled.set()
            while not conn.is_closed():
                if pending is None:
                    with contextlib.suppress(TimeoutError):
                        pending = await asyncio.wait_for(self.queue.get(), RETRY_SECONDS)
                    continue
                pending = await self._forward(client, pending)
        finally:
            with contextlib.suppress(Exception):
                await client.aclose()

    async def _forward(self, client: aioredis.Redis, item: tuple[str, str]) -> tuple[str, str] | None:
        """Publish one message; on failure drop it and return a gap to publish first once Redis answers again."""
        kind, payload = item
        if kind == LIVE and payload.startswith("#"):  # spilled: read once here, sent whole
            payload = await self.bus.pool.fetchval(
                'SELECT "payload" FROM "_LiveSpill" WHERE "id" = $1', int(payload[1:])
            )
            if payload is None:
                return None
        try:
            await client.publish(self.bus.channel, kind + payload)
        except (RedisError, OSError) as exc:
            log.warning("live query relay: cannot publish to Redis (%s); events are dropped until it is back", exc)
            self._drop_queued()  # covered by the gap that must go out first (and memory stays bounded meanwhile)
            await asyncio.sleep(RETRY_SECONDS / 4)
            return (GAP, "relay lost redis") if kind != GAP else item
        if kind == GAP:  # what was heard before the gap went out is covered by it: every client resubscribes after
            self._drop_queued()
        return None

    def _drop_queued(self) -> None:
        while not self.queue.empty():
            self.queue.get_nowait()
