"""The bus: how changes captured by the feed's trigger reach the hub of every server process.

PostgreSQL LISTEN/NOTIFY on `parsecrm_live`, on the process's one listening connection (storage/notify.py), which
also carries the auth channel: both go into the hub's single queue in the order PostgreSQL delivered them, so a
log-out that committed before a change is applied before that change is judged. Spilled payloads are fetched once
per process here, and swept after a while by any process. When the listening connection drops, changes committed
until it is back are not heard: the hub gets a `gap` on both edges and every client is told to resubscribe.
With `REDIS_URL` set, redisbus.py's subclass carries the same stream over Redis instead.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncpg
import orjson

from ..security.sessions import AUTH_CHANNEL
from ..storage.cache import SCHEMA_CHANNEL
from ..storage.notify import Listener
from .feed import LIVE_CHANNEL, Change, to_change, unknown_columns
from .hub import Hub

log = logging.getLogger("parsecrm.livequery")

SPILL_KEEP_SECONDS = 300


class NotifyBus:
    up = True  # events can reach this process (the Redis bus is down while Redis is)

    def __init__(self, pool: asyncpg.Pool, listener: Listener, hub: Hub, on_schema: Any) -> None:
        self.pool = pool
        self.listener = listener
        self.hub = hub
        self.on_schema = on_schema

    async def start(self) -> None:
        put = self.hub.events.put_nowait

        def live(payload: str) -> None:
            if payload == "*":  # the listener lost its connection, or is back: changes in between were not heard
                log.warning("live query listener reconnected; clients are told to resubscribe")
                put(("gap", "listener reconnected"))
            else:
                put(("live", payload))

        self.listener.on(AUTH_CHANNEL, lambda payload: put(("auth", payload)))
        self.listener.on(SCHEMA_CHANNEL, lambda _payload: self.on_schema())
        await self.listener.listen(LIVE_CHANNEL, live)

    def close(self) -> None:
        pass

    async def decode(self, payload: str) -> Change | None:
        if payload.startswith("#"):
            payload = await self.pool.fetchval('SELECT "payload" FROM "_LiveSpill" WHERE "id" = $1', int(payload[1:]))
            if payload is None:
                return None
        event = orjson.loads(payload)
        schemas = self.hub.schemas
        schema = await schemas.get(event["c"])
        if schema is not None and (unknown_columns(schema, event.get("n")) or unknown_columns(schema, event.get("o"))):
            schemas.invalidate()  # the write added a field this process has not heard of yet
            schema = await schemas.get(event["c"])
        return to_change(schema, event) if schema is not None else None

    async def sweep(self) -> None:
        while True:
            await asyncio.sleep(60)
            try:
                await self.pool.execute(
                    'DELETE FROM "_LiveSpill" WHERE "at" < now() - make_interval(secs => $1)', SPILL_KEEP_SECONDS
                )
            except (OSError, asyncpg.PostgresError):
                log.warning("live query spill sweep failed", exc_info=True)
