"""The ASGI application: lifespan opens the Backend; each HTTP request runs decode → authenticate → dispatch →
encode, with Parse's error shape for every failure and a replayed answer for a retried write."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import asyncpg
import orjson

from . import errors
from .backend import Backend
from .cloud.registry import Cloud
from .errors import ParseError, Unauthorized
from .objects import Unit, flush_deferred
from .protocol import config as config_routes
from .protocol.reply import Reply
from .protocol.router import IDEMPOTENT, dispatch
from .protocol.transport import (
    CORS_HEADERS,
    Call,
    authenticate,
    cloud_context,
    decode_body,
    parse_query_string,
)
from .security.caller import Caller
from .settings import Settings
from .web import StaticFiles

log = logging.getLogger("parsecrm.http")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

JSON_HEADERS = [(b"content-type", b"application/json; charset=utf-8"), *CORS_HEADERS]


class TooLarge(Exception):
    pass


class App:
    def __init__(self, settings: Settings, dsn: str, cloud: Cloud) -> None:
        self.settings = settings
        self.dsn = dsn
        self.cloud = cloud
        self.backend: Backend | None = None
        self.mount = settings.mount_path.rstrip("/")
        self.static = StaticFiles(settings.web_dir) if settings.web_dir else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self.http(scope, receive, send)
        elif kind == "lifespan":
            await self.lifespan(receive, send)
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1003})

    async def lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    self.backend = await Backend.open(self.settings, self.dsn, self.cloud)
                except Exception as exc:  # report and refuse to start
                    log.exception("start-up failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.backend is not None:
                    await self.backend.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _read_body(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.settings.max_body_bytes:
                raise TooLarge()
            chunks.append(chunk)
            if not message.get("more_body"):
                return b"".join(chunks)

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        if path != self.mount and not path.startswith(self.mount + "/"):
            if self.static is not None:
                await self.static(scope, receive, send)
            else:
                await _send(send, 404, b'{"code":108,"error":"Not Found"}', JSON_HEADERS)
            return
        started = time.perf_counter()
        try:
            reply = await self.handle(scope, receive, path[len(self.mount) :].strip("/"))
            body = reply.encoded()
        except ParseError as exc:
            reply = Reply(exc.body(), exc.status)
        except Unauthorized as exc:
            reply = Reply(exc.body(), exc.status)
        except TooLarge:
            reply = Reply({"code": errors.INVALID_JSON, "error": "Request body is too large."}, 413)
        except asyncpg.PostgresError as exc:
            mapped = errors.from_sqlstate(getattr(exc, "sqlstate", None))
            if mapped is None:
                log.exception("database error on %s %s", scope["method"], path)
                reply = Reply({"code": errors.INTERNAL_SERVER_ERROR, "error": "Internal server error."}, 500)
            else:
                reply = Reply(mapped.body(), mapped.status)
        except Exception:
            log.exception("unhandled error on %s %s", scope["method"], path)
            reply = Reply({"code": errors.INTERNAL_SERVER_ERROR, "error": "Internal server error."}, 500)
        if reply.status >= 400:
            body = reply.encoded()
        own_type = any(k == b"content-type" for k, _ in reply.headers)
        headers = (CORS_HEADERS if own_type else JSON_HEADERS) + reply.headers
        if self.settings.debug:
            headers = [*headers, (b"server-timing", f"total;dur={(time.perf_counter() - started) * 1000:.2f}".encode())]
        await _send(send, reply.status, body, headers)

    async def handle(self, scope: Scope, receive: Receive, rel: str) -> Reply:
        backend = self.backend
        if backend is None:
            raise ParseError(errors.INTERNAL_SERVER_ERROR, "starting", status=503)
        method: str = scope["method"]
        if method == "OPTIONS":
            await self._read_body(receive)
            return Reply(b"{}")
        if rel == "health":
            return await config_routes.health(backend, None, None)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        raw = await self._read_body(receive)
        query = parse_query_string(scope.get("query_string", b""))
        if rel.startswith("apps/"):  # the password-reset page: opened from a mail, its token is the credential
            form = parse_query_string(raw) if raw and not raw.lstrip().startswith(b"{") else decode_body(raw, "", True)
            call = Call(method, rel, query, form, Caller(ip=(scope.get("client") or [None])[0]))
            return await dispatch(backend, call, None)
        if rel == "files" or rel.startswith("files/"):
            return await config_routes.files(backend, None, None)  # type: ignore[arg-type]
        body = decode_body(raw, headers.get("content-type", ""), "x-parse-application-id" in headers)
        client = scope.get("client")
        caller, body, envelope = await authenticate(
            backend, headers, body, client[0] if client else None, resolve_session=rel not in ("login",)
        )
        override = envelope.get("_method")
        if isinstance(override, str) and method == "POST":
            method = override.upper()
        call = Call(
            method, rel, query, body, caller, headers.get("x-parse-request-id"), cloud_context(headers, envelope)
        )
        if call.request_id and method != "GET" and IDEMPOTENT.match(rel):
            return await self._idempotent(backend, call)
        return await dispatch(backend, call, None)

    async def _idempotent(self, backend: Backend, call: Call) -> Reply:
        """Run a write once per request id; a retry gets the stored first answer (even if the first answer was
        lost in transit). The record is written in the same transaction as the write, so either both exist or
        neither does; a concurrent duplicate waits on the row lock and then replays."""
        rid = call.request_id
        assert rid is not None
        async with backend.pool.acquire() as conn:
            unit = Unit(conn)
            async with conn.transaction():
                # the answer is replayed only to the same caller: a request id seen by someone else is no key
                who = "master" if call.caller.master else (call.caller.user_id or "*")
                inserted = await conn.fetchval(
                    'INSERT INTO "_Idempotency" ("reqId", "method", "path", "caller", "expire") '
                    'VALUES ($1, $2, $3, $5, now() + make_interval(secs => $4)) ON CONFLICT ("reqId") DO NOTHING '
                    "RETURNING true",
                    rid,
                    call.method,
                    call.path,
                    float(backend.settings.idempotency_ttl),
                    who,
                )
                if not inserted:
                    row = await conn.fetchrow(
                        'SELECT "method", "path", "caller", "status", "body" FROM "_Idempotency" WHERE "reqId" = $1',
                        rid,
                    )
                    first = (row["method"], row["path"], row["caller"]) if row is not None else None
                    if first != (call.method, call.path, who) or row is None or row["status"] is None:
                        raise ParseError(errors.DUPLICATE_REQUEST, "Duplicate request")
                    return Reply(bytes(row["body"]), row["status"], _replay_headers(call, backend, row["body"]))
                reply = await dispatch(backend, call, unit)
                await flush_deferred(backend, unit)
                await conn.execute(
                    'UPDATE "_Idempotency" SET "status" = $2, "body" = $3 WHERE "reqId" = $1',
                    rid,
                    reply.status,
                    reply.encoded(),
                )
        for job in unit.after_commit:
            await job()
        return reply


def _replay_headers(call: Call, backend: Backend, body: bytes) -> list[tuple[bytes, bytes]]:
    if call.method == "POST" and call.path.startswith("classes/"):
        oid = orjson.loads(body).get("objectId") if body else None
        if oid:
            return [(b"location", f"{backend.settings.server_url}/{call.path}/{oid}".encode())]
    return []


async def _send(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
