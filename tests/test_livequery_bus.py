"""The live-query bus across processes: two real servers on one database, with PostgreSQL NOTIFY and with a real
Redis (a `redis-server` of the test's own, so it can be stopped), and `crm serve --workers 2` over Redis; what
clients are told when Redis goes away or the relay process stops."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from conftest import Api, Server, free_port, unique
from test_livequery import LIVE, next_event, subscribe, ws_url


class RedisServer:
    """A real redis-server on a free port, without persistence; stop() and start() again on the same port."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is needed (Debian package redis-server)"
        self.binary, self.port = binary, free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        argv = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            ping = subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True)
            if ping.stdout.strip() == "PONG":
                return
            time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


def two_servers(make_server: Callable[..., Server], env: dict[str, str]) -> tuple[Server, Server]:
    one = make_server(env)
    Api(one).post("classes/Note", {"tag": "init"})  # the class exists before the second server starts
    two = make_server(env, database_url=one.database_url)
    return one, two


async def closed_with(ws: ClientConnection, timeout: float = 15) -> int | None:
    """Read until the server closes the connection; its close code."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), timeout)
    except ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd is not None else None


@pytest.mark.parametrize("bus", ["postgres", "redis"])
def test_a_save_through_one_process_reaches_a_subscriber_on_the_other(
    bus: str, make_server: Callable[..., Server], request: pytest.FixtureRequest
) -> None:
    env = dict(LIVE)
    if bus == "redis":
        env["REDIS_URL"] = request.getfixturevalue("redis_server").url
    one, two = two_servers(make_server, env)
    tag = unique(bus)

    async def go() -> None:
        on_two = await subscribe(two, {"tag": tag})
        on_one = await subscribe(one, {"tag": tag})
        ids = [Api(one).post("classes/Note", {"tag": tag, "i": i}).json()["objectId"] for i in range(20)]
        for ws in (on_two, on_one):  # every save, in commit order, on both processes
            assert [(await next_event(ws))["object"]["objectId"] for _ in ids] == ids
        Api(two).put(f"classes/Note/{ids[0]}", {"i": -1, "big": "x" * 20_000})  # over NOTIFY's limit: spilled
        for ws in (on_two, on_one):
            event = await next_event(ws)
            assert (event["op"], event["object"]["i"], event["original"]["i"]) == ("update", -1, 0)
            assert len(event["object"]["big"]) == 20_000
        await on_one.close()
        await on_two.close()

    try:
        asyncio.run(go())
    finally:
        one.stop()
        two.stop()


def test_losing_redis_tells_clients_to_resubscribe_and_delivery_resumes(make_server: Callable[..., Server]) -> None:
    redis = RedisServer()
    redis.start()
    one, two = two_servers(make_server, {**LIVE, "REDIS_URL": redis.url})
    tag = unique("outage")

    async def refused_while_down() -> int | None:
        ws = await connect(ws_url(two))
        return await closed_with(ws)

    async def live_again() -> ClientConnection:
        """Subscribe as the SDK does after a close: retry until the server accepts, then check an event arrives."""
        for _attempt in range(40):
            try:
                ws = await subscribe(two, {"tag": tag})
                oid = Api(one).post("classes/Note", {"tag": tag, "phase": "after"}).json()["objectId"]
                event = await next_event(ws, 10)
                assert (event["op"], event["object"]["objectId"]) == ("create", oid)
                return ws
            except (ConnectionClosed, AssertionError, TimeoutError):
                # refused while this process has no Redis yet (1013), or told to resubscribe by a late gap (1012)
                await asyncio.sleep(0.5)
        raise AssertionError(f"live events did not resume after Redis came back:\n{two.log()}")

    async def go() -> None:
        ws = await subscribe(two, {"tag": tag})
        Api(one).post("classes/Note", {"tag": tag, "phase": "before"})
        assert (await next_event(ws))["object"]["phase"] == "before"
        redis.stop()
        assert await closed_with(ws) == 1012  # told at once: events may be missed, resubscribe
        saved = Api(one).post("classes/Note", {"tag": tag, "phase": "during"})
        assert saved.status_code == 201  # writes do not depend on Redis: PostgreSQL is the source of truth
        assert await refused_while_down() == 1013  # no subscription that would silently miss events
        redis.start()
        ws = await live_again()
        await ws.close()

    try:
        asyncio.run(go())
        assert "lost Redis" in two.log()
    finally:
        one.stop()
        two.stop()
        redis.stop()


def test_when_the_relay_process_stops_another_takes_over_and_clients_resubscribe(
    make_server: Callable[..., Server], redis_server: RedisServer
) -> None:
    one, two = two_servers(make_server, {**LIVE, "REDIS_URL": redis_server.url})  # one started first: the relay
    tag = unique("relay")

    async def go() -> None:
        ws = await subscribe(two, {"tag": tag})
        Api(two).post("classes/Note", {"tag": tag, "phase": "before"})
        assert (await next_event(ws))["object"]["phase"] == "before"
        one.stop()
        assert await closed_with(ws) == 1012  # the new relay may have missed changes: resubscribe
        ws = await subscribe(two, {"tag": tag})
        oid = Api(two).post("classes/Note", {"tag": tag, "phase": "after"}).json()["objectId"]
        event = await next_event(ws)
        assert (event["op"], event["object"]["objectId"]) == ("create", oid)
        await ws.close()

    try:
        asyncio.run(go())
    finally:
        two.stop()


def test_workers_deliver_across_processes_over_redis(
    make_server: Callable[..., Server], redis_server: RedisServer
) -> None:
    server = make_server({**LIVE, "REDIS_URL": redis_server.url}, workers=2)
    api = Api(server)
    api.post("classes/Note", {"tag": "init"})
    tag = unique("wr")

    async def go() -> None:
        # connections spread over both workers (one of them the relay): every save reaches every connection
        sockets = [await subscribe(server, {"tag": tag}) for _ in range(8)]
        ids = [api.post("classes/Note", {"tag": tag, "i": i}).json()["objectId"] for i in range(8)]
        for ws in sockets:
            assert [(await next_event(ws))["object"]["objectId"] for _ in ids] == ids
            await ws.close()

    try:
        asyncio.run(go())
    finally:
        server.stop()
