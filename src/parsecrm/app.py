"""The ASGI application: lifespan opens the Backend; each HTTP request under the mount path runs
route → read body → authenticate (as the route says) → dispatch → encode, with Parse's error shape for every
failure (errors.reply_for) and a replayed answer for a retried write (protocol/idempotency.py). Other paths go to
the static web app when one is configured.
"""

from __future__ import annotations

import asyncio
import logging
import time

import orjson

from . import errors, jobs, jobschedule, logs, timing
from .agent.http import AgentHttp
from .asgi_types import Receive, Scope, Send
from .auth import setup as auth_setup
from .backend import Backend
from .cloud.registry import Cloud
from .errors import ParseError, TooLarge
from .livequery import LiveQuery
from .protocol import conditional, idempotency
from .protocol import files as file_routes
from .protocol.reply import Reply
from .protocol.router import Auth
from .protocol.routes import ROUTER
from .protocol.transport import CORS_HEADERS, Call, authenticate, cloud_context, decode_body, parse_query_string
from .reference import routes as reference
from .security.caller import ANONYMOUS, Caller
from .settings import Settings
from .web import StaticFiles

log = logging.getLogger("parsecrm.http")
access_log = logging.getLogger("parsecrm.access")

JSON_HEADERS = [(b"content-type", b"application/json; charset=utf-8"), *CORS_HEADERS]
NOT_FOUND = b'{"code":108,"error":"Not Found"}'
WATCH_AFTER = 0.1  # seconds into a request from which a client's disconnect cancels it


class ClientWatch:
    """Cancels a request's task when its client disconnects, so a slow query it started is cancelled in
    PostgreSQL and its connection goes back to the pool. Only requests still running after WATCH_AFTER are
    watched: the timer costs nothing, a watching task is made only for the slow few."""

    def __init__(self, receive: Receive) -> None:
        self.receive = receive
        self.task = asyncio.current_task()
        self.gone = False
        self._timer: asyncio.TimerHandle | None = None
        self._watcher: asyncio.Task[None] | None = None

    def arm(self) -> None:
        """Start watching (call once the request body has been read: the next message is the disconnect)."""
        self._timer = asyncio.get_running_loop().call_later(WATCH_AFTER, self._start)

    def _start(self) -> None:
        self._watcher = asyncio.ensure_future(self._wait())

    async def _wait(self) -> None:
        while (await self.receive())["type"] != "http.disconnect":
            pass
        self.gone = True
        if self.task is not None:
            self.task.cancel()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._watcher is not None:
            self._watcher.cancel()


class App:
    def __init__(self, settings: Settings, dsn: str, cloud: Cloud) -> None:
        self.settings = settings
        self.dsn = dsn
        self.cloud = cloud
        self.backend: Backend | None = None
        self.live: LiveQuery | None = None
        self.scheduler: asyncio.Task[None] | None = None  # runs _JobSchedule rows (jobschedule.py)
        self.mount = settings.mount_path.rstrip("/")
        self.static = StaticFiles(settings.web_dir, settings) if settings.web_dir else None
        self.pages = reference.table(settings)  # /graphql, /schema, /api, <mount>/openapi.json
        self.agent = AgentHttp(settings)  # /mcp and the agent prompt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self.http(scope, receive, send)
        elif kind == "lifespan":
            await self.lifespan(receive, send)
        elif kind == "websocket":
            if self.live is not None and scope["path"].rstrip("/") in (self.mount, ""):  # where the SDK derives it
                await self.live.serve(scope, receive, send)
            else:
                await send({"type": "websocket.close", "code": 1003})

    async def lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    backend = await Backend.open(self.settings, self.dsn, self.cloud, idempotency.DDL)
                    await auth_setup.prepare(backend)  # authData index, verification-token expiry column
                    await jobs.prepare(backend)  # the _JobStatus and _JobSchedule classes
                    await self.agent.start(backend)
                    self.live = await LiveQuery.start(backend)
                except Exception as exc:  # report and refuse to start
                    log.exception("start-up failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                backend.background.append(asyncio.create_task(idempotency.sweep(backend)))
                self.backend = backend
                self.scheduler = jobschedule.start(backend)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.agent.stop()
                if self.live is not None:
                    await self.live.close()
                if self.scheduler is not None:  # no job starts after jobs.stop()
                    self.scheduler.cancel()
                    await asyncio.gather(self.scheduler, return_exceptions=True)
                if self.backend is not None:
                    await jobs.stop()  # running jobs end as failed while the database is still reachable
                    await self.backend.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _read_body(self, receive: Receive, limit: int | None = None) -> bytes:
        chunks: list[bytes] = []
        size = 0
        limit = limit or self.settings.max_body_bytes
        while True:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise TooLarge()
            chunks.append(chunk)
            if not message.get("more_body"):
                return b"".join(chunks)

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        if self.agent.owns(path):
            await self.agent(scope, receive, send)
            return
        page = self.pages.get(path.rstrip("/") or "/")
        if page is not None:
            await reference.serve(self.backend, page, scope, receive, send)
            return
        if path != self.mount and not path.startswith(self.mount + "/"):
            if self.static is not None:
                await self.static(scope, receive, send)
            else:
                await _send(send, 404, NOT_FOUND, JSON_HEADERS)
            return
        started = time.perf_counter()
        if self.settings.debug:
            timing.start()
        rid = logs.new_request_id(_header(scope, b"x-request-id"))
        token = logs.REQUEST_ID.set(rid)  # every log line written for this request carries its id
        watch = ClientWatch(receive)
        try:
            try:
                reply, body = await self._answer(scope, receive, path, watch)
            except asyncio.CancelledError:
                if not watch.gone:
                    raise
                asyncio.current_task().uncancel()  # type: ignore[union-attr]
                elapsed = time.perf_counter() - started
                log.info("client went away: %s %s cancelled after %.3f s", scope["method"], path, elapsed)
                return
            finally:
                watch.close()
            own_type = any(k == b"content-type" for k, _ in reply.headers)
            headers = (CORS_HEADERS if own_type else JSON_HEADERS) + reply.headers + [(b"x-request-id", rid.encode())]
            if self.settings.debug:
                headers = [*headers, (b"server-timing", timing.header(time.perf_counter() - started))]
            await _send(send, reply.status, body, headers)
            if self.settings.access_log:
                _access(scope, reply.status, len(body), time.perf_counter() - started)
        finally:
            logs.REQUEST_ID.reset(token)

    async def _answer(self, scope: Scope, receive: Receive, path: str, watch: ClientWatch) -> tuple[Reply, bytes]:
        """The reply and its encoded body; any exception becomes Parse's error shape (errors.reply_for logs the
        unexpected ones, with the request id on the line). Error texts may echo input: they are redacted."""
        try:
            reply = await self.handle(scope, receive, path[len(self.mount) :].strip("/"), watch)
            return reply, reply.encoded()
        except RecursionError:  # a safety net: the decode-time depth limit should make this unreachable
            log.warning("%s %s: input nested too deeply for the recursion limit", scope["method"], path)
            status, error = 400, {"code": errors.INVALID_JSON, "error": "The request is nested too deeply."}
            extra: list[tuple[bytes, bytes]] = []
        except Exception as exc:
            status, error = errors.reply_for(exc, f"{scope['method']} {path}")
            extra = list(getattr(exc, "headers", ()))  # e.g. a rate limit's Retry-After
            if status == 503:
                extra.append((b"retry-after", b"1"))
        message = error.get("error")
        if isinstance(message, str):
            error["error"] = logs.redact(message)
        reply = Reply(error, status, extra)
        return reply, reply.encoded()

    async def handle(self, scope: Scope, receive: Receive, rel: str, watch: ClientWatch) -> Reply:
        backend = self.backend
        if backend is None:
            raise ParseError(errors.INTERNAL_SERVER_ERROR, "starting", status=503)
        method: str = scope["method"]
        if method == "OPTIONS":  # a CORS preflight, on any path
            await self._read_body(receive)
            return Reply(b"{}")
        if rel == "files" or rel.startswith("files/"):
            return await self._files(backend, scope, receive, rel)
        found = ROUTER.match(rel)
        auth = found.route.auth if found is not None else Auth.SESSION
        if auth is Auth.NONE:
            return await ROUTER.dispatch(backend, Call(method, rel, {}, {}, ANONYMOUS), None)
        client = scope.get("client")
        ip = client[0] if client else None
        raw = await self._read_body(receive)
        watch.arm()
        depth = self.settings.max_json_depth
        query = parse_query_string(scope.get("query_string", b""), depth, self.settings.max_query_bytes)
        if auth is Auth.LINK:  # a page opened from a mail: its token is the credential, its form the body
            is_form = raw and not raw.lstrip().startswith(b"{")
            form = parse_query_string(raw, depth) if is_form else decode_body(raw, "", True, depth)
            return await ROUTER.dispatch(backend, Call(method, rel, query, form, Caller(ip=ip)), None)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        body = decode_body(raw, headers.get("content-type", ""), "x-parse-application-id" in headers, depth)
        caller, body, envelope = await authenticate(backend, headers, body, ip, resolve_session=auth is Auth.SESSION)
        override = envelope.get("_method")
        if isinstance(override, str) and method == "POST":
            method = override.upper()
        context = cloud_context(headers, envelope, depth)
        if method in ("PUT", "DELETE"):
            body = conditional.from_header(headers, body)
        call = Call(method, rel, query, body, caller, headers.get("x-parse-request-id"), context)
        if found is not None and found.route.replayable and call.request_id and method != "GET":
            return await idempotency.run_once(
                backend,
                call,
                lambda unit: ROUTER.dispatch(backend, call, unit),
                lambda b: _replay_headers(self.settings.server_url, call, b),
            )
        return await ROUTER.dispatch(backend, call, None)

    async def _files(self, backend: Backend, scope: Scope, receive: Receive, rel: str) -> Reply:
        """/files, answered before routing: its bodies are bytes (or base64 in the JS SDK's envelope), not API JSON,
        and it authenticates by itself (downloads need no credentials). The body limit lets the largest allowed
        file through as base64 (4/3 of its size) plus its envelope."""
        limit = max(self.settings.max_body_bytes, self.settings.file_max_bytes * 4 // 3 + 65536)
        try:
            raw = await self._read_body(receive, limit)
        except TooLarge as exc:
            raise ParseError(errors.FILE_SAVE_ERROR, backend.files.too_large(), status=413) from exc
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        client = scope.get("client")
        return await file_routes.handle(backend, scope["method"], rel, headers, raw, client[0] if client else None)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _access(scope: Scope, status: int, size: int, seconds: float) -> None:
    """One access-log line (CRM_ACCESS_LOG); redacted like every line (a reset link's token is in its query)."""
    query = scope.get("query_string", b"").decode("latin-1")
    target = scope["path"] + ("?" + query[:300] if query else "")
    client = (scope.get("client") or ["-"])[0]
    access_log.info('%s "%s %s" %d %d %.1fms', client, scope["method"], target, status, size, seconds * 1000)


def _replay_headers(server_url: str, call: Call, body: bytes) -> list[tuple[bytes, bytes]]:
    """A replayed create answers with the same Location as the first answer."""
    if call.method == "POST" and call.path.startswith("classes/") and body:
        oid = orjson.loads(body).get("objectId")
        if oid:
            return [(b"location", f"{server_url}/{call.path}/{oid}".encode())]
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
