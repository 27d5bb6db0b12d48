"""Live queries across processes and under load, with real servers, a real database and real WebSockets.

Two servers on one database and `crm serve --workers 2` deliver each other's changes; a rolled-back transaction
delivers nothing; a big object travels through the spill table; a slow consumer is cut off without delaying the
others; a role change re-judges open subscriptions. (Event semantics and permissions through the official SDK:
tests/sdk/livequery.test.mjs.)
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect

from conftest import Api, Server, unique

# small pools: the test PostgreSQL is shared by every suite running on the machine (max_connections)
LIVE = {"PARSE_LIVE_QUERY_CLASSES": "Deal,Note,Blob,Club", "PARSE_MASTER_KEY": "lq-master", "CRM_DB_POOL_SIZE": "4"}


class StalledClient:
    """A WebSocket client on a bare socket with a tiny receive buffer that subscribes and then never reads."""

    def __init__(self, server: Server, class_name: str, where: dict[str, Any]) -> None:
        port = int(server.url.split(":")[2].split("/")[0])
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(secrets.token_bytes(16)).decode()
        self.sock.sendall(
            f"GET /parse HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        assert b" 101 " in self.sock.recv(4096)
        self.send({"op": "connect", "applicationId": server.app_id, "masterKey": server.master_key})
        self.send({"op": "subscribe", "requestId": 1, "query": {"className": class_name, "where": where}})

    def send(self, message: dict[str, Any]) -> None:
        data = orjson.dumps(message)
        assert len(data) < 126
        mask = secrets.token_bytes(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        self.sock.sendall(bytes([0x81, 0x80 | len(data)]) + mask + masked)

    def close_code(self) -> int | None:
        """Read everything that was buffered; the close frame's code, if the server sent one."""
        self.sock.settimeout(10)
        data = b""
        try:
            while chunk := self.sock.recv(1 << 20):
                data += chunk
        except TimeoutError:
            pass
        self.sock.close()
        at = 0
        while at + 2 <= len(data):  # walk the frames
            opcode, size, at = data[at] & 0x0F, data[at + 1] & 0x7F, at + 2
            if size == 126:
                size, at = int.from_bytes(data[at : at + 2], "big"), at + 2
            elif size == 127:
                size, at = int.from_bytes(data[at : at + 8], "big"), at + 8
            if opcode == 0x8:
                return int.from_bytes(data[at : at + 2], "big")
            at += size
        return None


def ws_url(server: Server) -> str:
    return server.url.replace("http://", "ws://")


async def subscribe(
    server: Server, where: dict[str, Any], cls: str = "Note", token: str | None = None, **kw: Any
) -> ClientConnection:
    ws = await connect(ws_url(server), **kw)
    hello: dict[str, Any] = {"op": "connect", "applicationId": server.app_id}
    if token:
        hello["sessionToken"] = token
    else:
        hello["masterKey"] = server.master_key
    await ws.send(orjson.dumps(hello).decode())
    assert orjson.loads(await ws.recv())["op"] == "connected"
    await ws.send(orjson.dumps({"op": "subscribe", "requestId": 1, "query": {"className": cls, "where": where}}))
    answer = orjson.loads(await ws.recv())
    assert answer["op"] == "subscribed", answer
    return ws


async def next_event(ws: ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    return orjson.loads(await asyncio.wait_for(ws.recv(), timeout))  # type: ignore[no-any-return]


async def no_event(ws: ClientConnection, wait: float = 0.5) -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(ws.recv(), wait)


@pytest.fixture(scope="module")
def pair(make_server: Callable[..., Server]) -> tuple[Server, Server]:
    one = make_server(LIVE)
    Api(one).post("classes/Note", {"tag": "init"})  # the class exists before the second server starts
    two = make_server(LIVE, database_url=one.database_url)
    return one, two


def test_a_save_on_one_server_reaches_a_subscriber_on_the_other(pair: tuple[Server, Server]) -> None:
    one, two = pair
    tag = unique("x")

    async def go() -> None:
        on_two = await subscribe(two, {"tag": tag})
        on_one = await subscribe(one, {"tag": tag})
        oid = Api(one).post("classes/Note", {"tag": tag, "n": 1}).json()["objectId"]
        for ws in (on_two, on_one):
            event = await next_event(ws)
            assert (event["op"], event["object"]["objectId"], event["object"]["n"]) == ("create", oid, 1)
        Api(two).put(f"classes/Note/{oid}", {"n": 2})
        for ws in (on_two, on_one):
            event = await next_event(ws)
            assert (event["op"], event["object"]["n"], event["original"]["n"]) == ("update", 2, 1)
        await on_one.close()
        await on_two.close()

    asyncio.run(go())


def test_a_rolled_back_transaction_delivers_nothing(pair: tuple[Server, Server]) -> None:
    one, _ = pair
    tag = unique("rb")

    async def go() -> None:
        ws = await subscribe(one, {"tag": tag})
        conn = await asyncpg.connect(one.database_url)
        insert = (
            'INSERT INTO "Note" ("objectId", "createdAt", "updatedAt", "_rperm", "_wperm", "tag") '
            "VALUES ($1, now(), now(), '{*}', '{*}', $2)"
        )
        try:
            tx = conn.transaction()
            await tx.start()
            await conn.execute(insert, "rolledback", tag)
            await tx.rollback()
            await no_event(ws)
            async with conn.transaction():
                await conn.execute(insert, "committed1", tag)
            assert (await next_event(ws))["object"]["objectId"] == "committed1"
        finally:
            await conn.close()
        # a batch that fails as a whole (transaction: true) delivers none of its saves either
        body = {
            "transaction": True,
            "requests": [
                {"method": "POST", "path": "/parse/classes/Note", "body": {"tag": tag}},
                {"method": "PUT", "path": "/parse/classes/Note/doesnotexist", "body": {"tag": tag}},
            ],
        }
        assert Api(one).post("batch", body).status_code >= 400
        await no_event(ws)
        await ws.close()

    asyncio.run(go())


def test_a_big_object_travels_through_the_spill_table(pair: tuple[Server, Server]) -> None:
    one, two = pair
    tag = unique("big")
    text = "é" * 20_000  # 40 kB of UTF-8: far over NOTIFY's 8000-byte payload limit

    async def go() -> None:
        ws = await subscribe(two, {"tag": tag})
        Api(one).post("classes/Note", {"tag": tag, "text": text})
        event = await next_event(ws)
        assert event["op"] == "create" and event["object"]["text"] == text
        await ws.close()

    asyncio.run(go())


def test_update_replaces_the_query_and_bad_messages_get_parse_errors(pair: tuple[Server, Server]) -> None:
    one, _ = pair
    tag = unique("up")

    async def go() -> None:
        ws = await subscribe(one, {"tag": "nothing-has-this"})
        query = {"className": "Note", "where": {"tag": tag}, "keys": ["tag"]}
        await ws.send(orjson.dumps({"op": "update", "requestId": 1, "query": query}).decode())
        assert (await next_event(ws))["op"] == "subscribed"
        Api(one).post("classes/Note", {"tag": tag, "n": 5})
        event = await next_event(ws)
        assert event["op"] == "create" and "n" not in event["object"] and event["object"]["tag"] == tag
        for bad, code in [
            ("not json", 1),
            ('{"op": "nope"}', 3),
            ('{"op": "subscribe", "requestId": "x", "query": {"className": "Note"}}', 1),
            ('{"op": "unsubscribe", "requestId": 99}', 2),
            ('{"op": "subscribe", "requestId": 2, "query": {"className": "Note", "where": {"n": {"$bogus": 1}}}}', 102),
        ]:
            await ws.send(bad)
            answer = await next_event(ws)
            assert (answer["op"], answer["code"]) == ("error", code), (bad, answer)
        await ws.close()
        # a wrong application id or key is refused with code 4
        ws = await connect(ws_url(one))
        await ws.send('{"op": "connect", "applicationId": "wrong"}')
        assert (await next_event(ws))["code"] == 4
        await ws.send('{"op": "subscribe", "requestId": 1, "query": {"className": "Note"}}')
        assert (await next_event(ws))["code"] == 2  # not connected
        await ws.close()

    asyncio.run(go())


def test_a_role_change_takes_effect_on_open_subscriptions(pair: tuple[Server, Server]) -> None:
    one, two = pair
    api = Api(one)
    user = api.signup()
    role_name = unique("Club")
    api.post("roles", {"name": role_name, "ACL": {"*": {"read": True}}})
    tag = unique("role")
    acl = {f"role:{role_name}": {"read": True}}

    async def go() -> None:
        ws = await subscribe(two, {"tag": tag}, cls="Club", token=user["sessionToken"])
        oid = api.post("classes/Club", {"tag": tag, "n": 1, "ACL": acl}).json()["objectId"]
        await no_event(ws)  # not a member yet
        role = api.get("roles", params={"where": {"name": role_name}}).json()["results"][0]["objectId"]
        member = {"__type": "Pointer", "className": "_User", "objectId": user["objectId"]}
        api.put(f"roles/{role}", {"users": {"__op": "AddRelation", "objects": [member]}})
        api.put(f"classes/Club/{oid}", {"n": 2})
        event = await next_event(ws)
        assert (event["op"], event["object"]["n"], event["original"]["n"]) == ("update", 2, 1)
        api.put(f"roles/{role}", {"users": {"__op": "RemoveRelation", "objects": [member]}})
        api.put(f"classes/Club/{oid}", {"n": 3})
        await no_event(ws)  # removed from the role: nothing more, not even a leave with the new state
        await ws.close()

    api.post("classes/Club", {"tag": "init"})  # the class exists before anyone subscribes
    asyncio.run(go())


def test_subscriptions_sharing_a_view_each_get_their_own_frame(pair: tuple[Server, Server]) -> None:
    """The hub judges and renders once per view (same query and permissions): the user's two connections get the
    same event, each with its own clientId/requestId; another user and a `keys` subscription are judged apart."""
    one, two = pair
    api = Api(one)
    a, b = api.signup(), api.signup()
    tag = unique("view")

    async def go() -> None:
        a1 = await subscribe(two, {"tag": tag}, token=a["sessionToken"])
        a2 = await subscribe(two, {"tag": tag}, token=a["sessionToken"])
        b1 = await subscribe(two, {"tag": tag}, token=b["sessionToken"])
        a_keys = await connect(ws_url(two))
        await a_keys.send(
            orjson.dumps({"op": "connect", "applicationId": two.app_id, "sessionToken": a["sessionToken"]})
        )
        await a_keys.recv()
        query = {"className": "Note", "where": {"tag": tag}, "keys": ["n"]}
        await a_keys.send(orjson.dumps({"op": "subscribe", "requestId": 7, "query": query}))
        assert orjson.loads(await a_keys.recv())["op"] == "subscribed"
        acl = {a["objectId"]: {"read": True, "write": True}}
        oid = api.post("classes/Note", {"tag": tag, "n": 1, "secret": "a only", "ACL": acl}).json()["objectId"]
        first, second = await next_event(a1), await next_event(a2)
        assert first["clientId"] != second["clientId"]
        assert {**first, "clientId": 0} == {**second, "clientId": 0}
        assert (first["op"], first["object"]["secret"], first["requestId"]) == ("create", "a only", 1)
        cut = await next_event(a_keys)
        assert (cut["requestId"], cut["object"]["n"], "secret" in cut["object"]) == (7, 1, False)
        await no_event(b1)  # not readable by b
        api.put(f"classes/Note/{oid}", {"n": 2, "ACL": {**acl, "*": {"read": True}}})
        assert (await next_event(b1))["op"] == "enter"
        for ws in (a1, a2, a_keys):
            assert (await next_event(ws))["op"] == "update"
        for ws in (a1, a2, b1, a_keys):
            await ws.close()

    asyncio.run(go())


def test_workers_deliver_across_processes(make_server: Callable[..., Server]) -> None:
    server = make_server(LIVE, workers=2)
    api = Api(server)
    api.post("classes/Note", {"tag": "init"})
    tag = unique("w")

    async def go() -> None:
        # ten connections and ten saves spread over both workers: each save must reach every connection
        sockets = [await subscribe(server, {"tag": tag}) for _ in range(10)]
        ids = [api.post("classes/Note", {"tag": tag, "i": i}).json()["objectId"] for i in range(10)]
        for ws in sockets:
            got = [(await next_event(ws))["object"]["objectId"] for _ in ids]
            assert got == ids
            await ws.close()

    try:
        asyncio.run(go())
    finally:
        server.stop()  # free its connections now: the test database server is shared


def test_a_slow_consumer_is_cut_off_without_delaying_others(make_server: Callable[..., Server]) -> None:
    server = make_server({**LIVE, "PARSE_LIVE_QUERY_CLIENT_BUFFER": "50"})
    api = Api(server)
    api.post("classes/Blob", {"tag": "init"})
    payload = "x" * 6000
    n = 1200  # 7 MB of frames: more than the kernel buffers between server and a client that stops reading

    def save_all(tag: str) -> None:
        for part in range(0, n, 400):
            requests = [
                {"method": "POST", "path": "/parse/classes/Blob", "body": {"tag": tag, "i": i, "p": payload}}
                for i in range(part, part + 400)
            ]
            assert api.post("batch", {"requests": requests}).status_code == 200

    async def drain(ws: ClientConnection, count: int) -> float:
        for i in range(count):
            try:
                event = await next_event(ws, 30)
            except TimeoutError:
                raise AssertionError(f"the fast subscriber got {i} of {count} events") from None
            assert event["object"]["i"] == i
        return time.perf_counter()

    async def run(tag: str, with_slow: bool) -> float:
        fast = await subscribe(server, {"tag": tag}, cls="Blob")
        slow = StalledClient(server, "Blob", {"tag": tag}) if with_slow else None
        await asyncio.sleep(0.3)
        started = time.perf_counter()
        draining = asyncio.create_task(drain(fast, n))
        await asyncio.to_thread(save_all, tag)
        delivered = await draining - started  # first save sent → last event received by the fast subscriber
        if slow is not None:
            assert await asyncio.to_thread(slow.close_code) == 1013  # cut off as too slow
        await fast.close()
        return delivered

    async def go() -> None:
        alone = await run(unique("alone"), with_slow=False)
        beside = await run(unique("slow"), with_slow=True)
        print(f"fast subscriber, {n} events: all delivered {alone:.2f} s alone, {beside:.2f} s beside a stalled one")

    try:
        asyncio.run(go())
    finally:
        server.stop()


def test_live_query_hooks_refuse_rewrite_and_edit(make_server: Callable[..., Server]) -> None:
    hooks = Path(__file__).parent / "fixtures" / "live_hooks.py"
    server = make_server({**LIVE, "PARSE_CLOUD": str(hooks)})
    api = Api(server)
    api.post("classes/Note", {"tag": "init"})
    tag = unique("h")

    async def go() -> None:
        ws = await connect(ws_url(server))
        hello = {"op": "connect", "applicationId": server.app_id, "installationId": "banned"}
        await ws.send(orjson.dumps(hello).decode())
        assert (await next_event(ws))["code"] == 141  # beforeConnect refused it
        await ws.close()
        refused = await connect(ws_url(server))
        await refused.send(orjson.dumps({**hello, "installationId": "ok", "masterKey": server.master_key}).decode())
        assert (await next_event(refused))["op"] == "connected"
        query = {"className": "Note", "where": {"tag": "forbidden"}}
        await refused.send(orjson.dumps({"op": "subscribe", "requestId": 1, "query": query}).decode())
        answer = await next_event(refused)
        assert (answer["op"], answer["code"], answer["requestId"]) == ("error", 141, 1)  # beforeSubscribe refused
        await refused.close()
        ws = await subscribe(server, {"tag": tag})
        api.post("classes/Note", {"tag": tag, "hidden": True})  # excluded by the hook's rewrite
        api.post("classes/Note", {"tag": tag, "drop": True})  # dropped by afterEvent
        api.post("classes/Note", {"tag": tag, "n": 1})
        event = await next_event(ws)
        assert (event["op"], event["object"]["n"], event["object"]["seenBy"]) == ("create", 1, "create")
        await no_event(ws)
        await ws.close()

    try:
        asyncio.run(go())
    finally:
        server.stop()
