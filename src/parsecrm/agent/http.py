"""The AI guide's HTTP endpoints, beside the Parse API on the same server:

- `/mcp` — MCP over streamable HTTP, authenticated by `Authorization: Bearer <API token>`. Stateless (every
  request stands alone, JSON answers), so any worker process can serve any request and no session state is lost
  when several workers share the port.
- `{mount}/agent-prompt` — the agent prompt as markdown (GET), for a signed-in user, an API token or the master key.
"""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack
from typing import Any

import orjson

from .. import errors
from ..asgi_types import Scope
from ..backend import Backend
from ..errors import ParseError, Unauthorized
from ..protocol.transport import CORS_HEADERS, authenticate
from ..security.caller import Caller
from ..settings import Settings
from . import prompt

log = logging.getLogger("parsecrm.agent")

MCP_CORS = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"GET,POST,DELETE,OPTIONS"),
    (b"access-control-allow-headers", b"Authorization, Content-Type, Accept, Mcp-Session-Id, Mcp-Protocol-Version"),
    (b"access-control-expose-headers", b"Mcp-Session-Id, WWW-Authenticate"),
]


class AgentHttp:
    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.mcp_enabled and settings.crm_enabled  # the tools are the CRM's
        self.prompt_path = settings.mount_path.rstrip("/") + "/agent-prompt"
        self.backend: Backend | None = None
        self._manager: Any = None
        self._stack: AsyncExitStack | None = None

    def owns(self, path: str) -> bool:
        return path == self.prompt_path or (self.enabled and path.rstrip("/") == "/mcp")

    async def start(self, backend: Backend) -> None:
        self.backend = backend
        if not self.enabled:
            return
        from mcp.server.transport_security import TransportSecuritySettings

        from .runner import Agent
        from .tools import build

        server = build(Agent(backend))
        # Bearer tokens are never sent by a browser on its own, so DNS-rebinding protection adds nothing here.
        security = TransportSecuritySettings(enable_dns_rebinding_protection=False)
        server.streamable_http_app(stateless_http=True, json_response=True, transport_security=security)
        self._manager = server.session_manager
        self._stack = AsyncExitStack()
        await self._stack.enter_async_context(self._manager.run())

    async def stop(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        backend = self.backend
        if backend is None:
            await _reply(send, 503, b'{"code":1,"error":"starting"}')
            return
        if scope["method"] == "OPTIONS":  # CORS preflight of browser-based clients
            await _reply(send, 204, b"", cors=MCP_CORS)
            return
        try:
            if scope["path"] == self.prompt_path:
                await self._prompt(backend, scope, send)
                return
            secret = _bearer(_headers(scope))
            if not secret:
                raise ParseError(
                    errors.INVALID_SESSION_TOKEN, "Authorization: Bearer <API token> is required.", status=401
                )
            await backend.tokens.resolve(secret)  # refuses unknown, revoked, expired; counts the rate limit
        except ParseError as exc:
            status = 401 if exc.code == errors.INVALID_SESSION_TOKEN else exc.status
            cors = CORS_HEADERS if scope["path"] == self.prompt_path else MCP_CORS
            await _reply(send, status, orjson.dumps(exc.body()), [(b"www-authenticate", b"Bearer")], cors)
            return
        except Unauthorized as exc:
            await _reply(send, exc.status, orjson.dumps({"error": exc.message}))
            return
        except Exception:
            log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            await _reply(send, 500, b'{"code":1,"error":"Internal server error."}')
            return
        await self._manager.handle_request(scope, receive, _with_cors(send))

    async def _prompt(self, backend: Backend, scope: Scope, send: Any) -> None:
        if scope["method"] not in ("GET", "HEAD"):
            raise ParseError(errors.COMMAND_UNAVAILABLE, "GET the agent prompt", status=405)
        headers = _headers(scope)
        secret = _bearer(headers)
        caller: Caller
        if secret and "x-parse-application-id" not in headers:
            caller = (await backend.tokens.resolve(secret)).caller()
        else:
            client = scope.get("client")
            caller, _body, _env = await authenticate(backend, headers, {}, client[0] if client else None)
        if not caller.user_id and not caller.master:
            raise ParseError(
                errors.INVALID_SESSION_TOKEN, "Sign in (or send an API token) to read the agent prompt.", status=401
            )
        text = await prompt.render(backend)
        await _reply(send, 200, text.encode(), [(b"content-type", b"text/markdown; charset=utf-8")])


def _with_cors(send: Any) -> Any:
    async def sending(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *MCP_CORS]}
        await send(message)

    return sending


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def _bearer(headers: dict[str, str]) -> str:
    auth = headers.get("authorization", "")
    return auth[7:].strip() if auth[:7].lower() == "bearer " else ""


async def _reply(
    send: Any,
    status: int,
    body: bytes,
    headers: list[tuple[bytes, bytes]] | None = None,
    cors: list[tuple[bytes, bytes]] = CORS_HEADERS,
) -> None:
    own = headers or []
    if not any(k == b"content-type" for k, _ in own):
        own = [(b"content-type", b"application/json; charset=utf-8"), *own]
    all_headers = [*cors, *own, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": body})
