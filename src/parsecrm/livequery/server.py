"""Parse's LiveQuery protocol over the API's own WebSocket (`ws://host:port/parse`, what the SDK derives itself).

Client ops: `connect` (applicationId, keys, sessionToken, installationId), `subscribe` / `update` (requestId, query
{className, where, keys|fields, watch}, sessionToken), `unsubscribe`. Server frames: `connected`, `subscribed`,
`unsubscribed`, the events (judge.py) and `error` `{code, error, reconnect, requestId?}` with Parse's codes: 1 bad
message, 2 not connected / unknown subscription, 3 unknown op, 4 bad keys, and the REST codes (101, 102, 119, 209…).

Every frame to a client goes through its outbox (outbox.py): written at once while the socket takes it (straight to
the transport under `crm serve`, wire.py), else queued behind a writer task; a client that falls
`live_query_client_buffer` frames behind is cut off with close code 1013 ("too slow") and never holds up the hub or
other clients. When events may have been lost on their way to this process (the bus's `gap`), every client is
closed with 1012 so it resubscribes. Keep-alive is the WebSocket ping uvicorn sends every 20 s (a client that does
not answer is closed).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable, Coroutine, MutableMapping
from datetime import UTC, datetime
from typing import Any

import orjson

from .. import errors
from ..cloud.requests import ConnectRequest, SubscribeRequest
from ..errors import ParseError, Unauthorized
from ..objects import CloudData
from ..protocol.transport import authenticate
from ..security.caller import Caller
from ..security.policy import Policy
from ..storage.model import ClassSchema, default_fields
from . import feed
from .bus import NotifyBus
from .hub import Hub
from .judge import Subscription, error_frame
from .outbox import Outbox, WriteNow
from .redisbus import RedisBus
from .wire import TEXT_FRAMES

log = logging.getLogger("parsecrm.livequery")

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]
Receive = Callable[[], Awaitable[Message]]

MAX_MESSAGE = 64 * 1024
MAX_DEPTH = 16
SLOW_CLOSE = 1013  # "try again later": the SDK reconnects and resubscribes by itself
GAP_CLOSE = 1012  # "service restart": events may have been missed, resubscribe (and refetch on `open`)
# where operators that need other rows: refused at subscribe (they cannot be judged from the changed object alone)
SUB_QUERY_OPS = frozenset({"$inQuery", "$notInQuery", "$select", "$dontSelect", "$relatedTo", "$text"})
KEY_HEADERS = {
    "applicationId": "x-parse-application-id",
    "masterKey": "x-parse-master-key",
    "javascriptKey": "x-parse-javascript-key",
    "restAPIKey": "x-parse-rest-api-key",
    "clientKey": "x-parse-client-key",
    "windowsKey": "x-parse-client-key",
    "sessionToken": "x-parse-session-token",
    "installationId": "x-parse-installation-id",
}

_ids = itertools.count(1)


class LiveQuery:
    """One per server process: the hub, the bus, and the open connections."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.classes = frozenset(backend.settings.live_query_classes)
        self.hub = Hub(
            backend.schemas,
            backend.sessions,
            backend.cloud,
            lambda caller: CloudData(backend, caller, None),
            on_gap=self._gap,
        )
        url = backend.settings.redis_url
        self.bus = (
            RedisBus(backend.pool, backend.listener, self.hub, self._schema_changed, url, backend.dsn)
            if url
            else NotifyBus(backend.pool, backend.listener, self.hub, self._schema_changed)
        )
        self.capturing: set[str] = set()
        self.clients: dict[int, Client] = {}
        self.tasks: set[asyncio.Task[None]] = set()

    @classmethod
    async def start(cls, backend: Any) -> LiveQuery:
        live = cls(backend)
        await live.ensure_capture()
        await live.bus.start()
        live.spawn(live.hub.run(live.bus.decode))
        live.spawn(live.bus.sweep())
        return live

    async def ensure_capture(self) -> None:
        async with self.backend.pool.acquire() as conn:
            self.capturing = await feed.install(conn, sorted(self.classes))

    def _schema_changed(self) -> None:
        if self.classes - self.capturing:  # a live class was created since: start capturing it
            self.spawn(self.ensure_capture())

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """A background task, kept until it ends (a gap closes every client: these must not pile up)."""
        task = asyncio.create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _gap(self, reason: str) -> None:
        """Events may have been lost on the way here: every client must resubscribe (and refetch); never silence."""
        if self.clients:
            log.warning("live query: %s; %d clients told to resubscribe", reason, len(self.clients))
        for client in list(self.clients.values()):
            client.disconnect(GAP_CLOSE, f"live events interrupted ({reason}): resubscribe")

    async def close(self) -> None:
        for client in list(self.clients.values()):
            client.stop()
        self.bus.close()
        for task in list(self.tasks):
            task.cancel()

    async def serve(self, scope: Message, receive: Receive, send: Send) -> None:
        first = await receive()
        if first["type"] != "websocket.connect":
            return
        await send({"type": "websocket.accept"})
        if not self.bus.up:  # this process cannot hear events now: a subscription would silently miss them
            await send({"type": "websocket.close", "code": SLOW_CLOSE, "reason": "live events unavailable: retry"})
            return
        write_now = (scope.get("extensions") or {}).get(TEXT_FRAMES)  # crm serve's direct frame writer (wire.py)
        client = Client(self, send, (scope.get("client") or [None])[0], write_now)
        self.clients[client.client_id] = client
        try:
            while True:
                message = await receive()
                if message["type"] == "websocket.disconnect":
                    break
                raw = message.get("text")
                if raw is None:
                    raw = (message.get("bytes") or b"").decode("utf-8", "replace")
                await client.handle(raw)
        finally:
            self.clients.pop(client.client_id, None)
            self.hub.drop_client(client.client_id)
            client.stop()


class Client:
    def __init__(self, live: LiveQuery, send: Send, ip: str | None, write_now: WriteNow | None = None) -> None:
        self.live = live
        self.send = send
        self.ip = ip
        self.client_id = next(_ids)
        self.caller: Caller | None = None  # set by connect
        self.expires_at: datetime | None = None
        self.outbox = Outbox(send, live.backend.settings.live_query_client_buffer, self._cut_off, write_now)
        self.push = self.outbox.push
        self.push_many = self.outbox.push_many

    def _cut_off(self) -> None:
        limit = self.outbox.limit
        log.warning("live query client %s is too slow (%s frames queued); disconnecting", self.client_id, limit)
        self.disconnect(SLOW_CLOSE, "too slow: send buffer full")

    def disconnect(self, code: int, reason: str) -> None:
        """End the connection now with a close code (queued frames are dropped); the SDK reconnects."""
        self.stop()
        self.live.hub.drop_client(self.client_id)
        close = {"type": "websocket.close", "code": code, "reason": reason}
        self.live.spawn(self._close(close))

    async def _close(self, message: Message) -> None:
        with contextlib.suppress(Exception):  # the connection may already be gone
            await self.send(message)

    def stop(self) -> None:
        self.outbox.stop()

    # -- receiving ------------------------------------------------------------------------------------------------
    async def handle(self, raw: str) -> None:
        request_id: Any = None
        try:
            if len(raw) > MAX_MESSAGE:
                raise ParseError(1, "message too large")
            try:
                message = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                raise ParseError(1, "invalid JSON") from exc
            if not isinstance(message, dict):
                raise ParseError(1, "a message must be a JSON object")
            request_id = message.get("requestId")
            handler = OPS.get(message.get("op"))  # type: ignore[arg-type]
            if handler is None:
                raise ParseError(3, f"unknown op: {str(message.get('op'))[:40]}")
            await handler(self, message)
        except ParseError as exc:
            self.push(error_frame(exc.code, exc.message, _int_or_none(request_id)))
        except Unauthorized:
            self.push(error_frame(4, "Key in request is not valid"))
        except Exception:  # a fault of ours: logged with its traceback, the client gets Parse's code 1
            log.exception("live query message failed")
            self.push(error_frame(errors.INTERNAL_SERVER_ERROR, "Internal server error.", _int_or_none(request_id)))

    async def connect(self, message: dict[str, Any]) -> None:
        headers = {KEY_HEADERS[k]: v for k, v in message.items() if k in KEY_HEADERS and isinstance(v, str) and v}
        backend = self.live.backend
        base, _body, _env = await authenticate(backend, headers, {}, self.ip, resolve_session=False)
        caller, expires = await session_caller(backend, base, headers.get("x-parse-session-token"))
        if backend.cloud.has("beforeConnect", "@Connect"):
            req = ConnectRequest(caller=caller, data=CloudData(backend, caller, None), backend=backend)
            await backend.cloud.run("beforeConnect", "@Connect", req)
        self.caller, self.expires_at = caller, expires
        reply: dict[str, Any] = {"op": "connected", "clientId": self.client_id}
        if caller.installation_id:
            reply["installationId"] = caller.installation_id
        self.push(orjson.dumps(reply))

    async def subscribe(self, message: dict[str, Any]) -> None:
        request_id = _request_id(message)
        if self.caller is None:
            raise ParseError(2, "Can not find this client, make sure you connect to server before subscribing")
        sub = await self._subscription(request_id, message)
        self.live.hub.remove(self.client_id, request_id)  # `update` replaces; a repeated id replaces too
        self.live.hub.add(sub)
        self.push(self._reply("subscribed", request_id))

    async def unsubscribe(self, message: dict[str, Any]) -> None:
        request_id = _request_id(message)
        if self.caller is None or self.live.hub.remove(self.client_id, request_id) is None:
            raise ParseError(2, f"Can not find subscription {request_id}")
        self.push(self._reply("unsubscribed", request_id))

    def _reply(self, op: str, request_id: int) -> bytes:
        reply: dict[str, Any] = {"op": op, "clientId": self.client_id, "requestId": request_id}
        if self.caller is not None and self.caller.installation_id:
            reply["installationId"] = self.caller.installation_id
        return orjson.dumps(reply)

    async def _subscription(self, request_id: int, message: dict[str, Any]) -> Subscription:
        assert self.caller is not None
        backend = self.live.backend
        caller, expires = self.caller, self.expires_at
        token = message.get("sessionToken")
        if isinstance(token, str) and token and token != caller.session_token:
            caller, expires = await session_caller(backend, caller, token)
        query = _query(message)
        name = query["className"]
        if backend.cloud.has("beforeSubscribe", name):
            sub_req = SubscribeRequest(
                caller=caller, data=CloudData(backend, caller, None), subscription=query, backend=backend
            )
            await backend.cloud.run("beforeSubscribe", name, sub_req)
            query = _query({"query": sub_req.subscription})
            if query["className"] != name:
                raise ParseError(errors.INVALID_QUERY, "beforeSubscribe cannot change the class")
        if name not in self.live.classes:
            raise ParseError(errors.OPERATION_FORBIDDEN, f"{name} is not a live query class (PARSE_LIVE_QUERY_CLASSES)")
        schema = await self._schema(caller, name)
        policy = Policy(caller)
        policy.check(schema, "find")
        where = query["where"]
        _refuse_sub_queries(where, 0)
        used = _fields_of(where) | set(query["watch"] or ())
        if policy.protected(schema) & used:
            raise ParseError(errors.OPERATION_FORBIDDEN, "Permission denied")
        compiled = self.live.hub.compile(where)  # parsed into the query tree: nonsense is a ParseError here
        compiled.matches({}, now=datetime.now(UTC))  # values are checked lazily by some operators
        keys = frozenset(query["keys"]) if query["keys"] is not None else None
        watch = tuple(query["watch"]) if query["watch"] else None
        return Subscription(self, request_id, name, compiled, keys, watch, caller, expires)

    async def _schema(self, caller: Caller, name: str) -> ClassSchema:
        backend = self.live.backend
        schema = await backend.schemas.get(name)
        if schema is not None:
            if name not in self.live.capturing:
                await self.live.ensure_capture()
            return schema
        if not caller.master and not backend.settings.allow_client_class_creation:
            raise ParseError(errors.OPERATION_FORBIDDEN, f"This user may not access non-existent class: {name}")
        return ClassSchema(name, default_fields(name))


async def session_caller(backend: Any, base: Caller, token: str | None) -> tuple[Caller, datetime | None]:
    """`base` (keys, master, installation) acting with the session `token`, and when that session expires."""
    if not token:
        return base, None
    info = await backend.sessions.resolve(token)
    caller = Caller(
        master=base.master,
        read_only=base.read_only,
        user_id=info.user_id,
        user=info.user,
        roles=info.roles,
        session_token=token,
        installation_id=base.installation_id,
        ip=base.ip,
    )
    return caller, info.expires_at


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _request_id(message: dict[str, Any]) -> int:
    rid = message.get("requestId")
    if not isinstance(rid, int) or isinstance(rid, bool):
        raise ParseError(1, "requestId must be an integer")
    return rid


def _string_list(query: dict[str, Any], name: str) -> list[str] | None:
    value = query.get(name)
    if value is None:
        return None
    if isinstance(value, str):
        value = [v for v in value.split(",") if v]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ParseError(1, f"query.{name} must be an array of strings")
    return value


def _query(message: dict[str, Any]) -> dict[str, Any]:
    query = message.get("query")
    if not isinstance(query, dict) or not isinstance(query.get("className"), str):
        raise ParseError(1, "query.className is required")
    where = query.get("where") or {}
    if not isinstance(where, dict):
        raise ParseError(1, "query.where must be an object")
    keys = _string_list(query, "keys")
    if keys is None:
        keys = _string_list(query, "fields")
    return {"className": query["className"], "where": where, "keys": keys, "watch": _string_list(query, "watch")}


def _refuse_sub_queries(node: Any, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ParseError(errors.INVALID_QUERY, "query too deeply nested")
    if isinstance(node, dict):
        for key, value in node.items():
            if key in SUB_QUERY_OPS:
                raise ParseError(
                    errors.INVALID_QUERY,
                    f"{key} is not supported in live queries: a subscription is matched against the changed object "
                    "alone; subscribe to the other class instead",
                )
            _refuse_sub_queries(value, depth + 1)
    elif isinstance(node, list):
        for item in node:
            _refuse_sub_queries(item, depth + 1)


def _fields_of(where: Any) -> set[str]:
    """The fields a where reads (the head of dotted keys), through $and/$or/$nor."""
    out: set[str] = set()
    if isinstance(where, dict):
        for key, value in where.items():
            if key in ("$and", "$or", "$nor") and isinstance(value, list):
                for sub in value:
                    out |= _fields_of(sub)
            elif not key.startswith("$"):
                out.add(key.split(".")[0])
    return out


OPS: dict[str, Callable[[Client, dict[str, Any]], Awaitable[None]]] = {
    "connect": Client.connect,
    "subscribe": Client.subscribe,
    "update": Client.subscribe,
    "unsubscribe": Client.unsubscribe,
}
