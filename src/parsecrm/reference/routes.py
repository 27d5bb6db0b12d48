"""The table of non-mount paths this package serves, and the small ASGI adapter that runs them."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from .. import errors
from ..backend import Backend
from ..graphql.endpoint import Endpoint
from ..graphql.uploads import is_multipart
from ..protocol.transport import CORS_HEADERS
from ..settings import Settings
from . import explorer, openapi, schema_page
from .pages import Page, PageRequest, Result

log = logging.getLogger("parsecrm.reference")


JSON_TYPE = (b"content-type", b"application/json; charset=utf-8")


def table(settings: Settings) -> dict[str, Page]:
    graphql = Endpoint()

    async def graphql_page(backend: Backend, req: PageRequest) -> Result:
        return await graphql.handle(backend, req.method, req.headers, req.body, req.query_string, req.ip)

    pages: dict[str, Page] = {settings.graphql_path: graphql_page}
    if settings.api_reference:
        pages.update(
            {
                settings.mount_path + "/openapi.json": openapi.page,
                "/schema": schema_page.page,
                "/schema/classes.json": schema_page.seed_export,
                "/schema/schemas.json": schema_page.parse_export,
                "/api": explorer.page,
            }
        )
    return pages


def _uploading(settings: Settings, path: str, headers: dict[str, str]) -> bool:
    return path.rstrip("/") == settings.graphql_path and is_multipart(headers.get("content-type", ""))


class _TooLarge(Exception):
    pass


async def _body(receive: Callable[[], Awaitable[MutableMapping[str, Any]]], limit: int) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge()
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def serve(backend: Backend | None, page: Page, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
    status, body = 503, b'{"code":1,"error":"starting"}'
    uploading = False
    headers: list[tuple[bytes, bytes]] = []
    if scope["method"] == "OPTIONS":
        status, body = 204, b""
    elif backend is not None:
        try:
            headers_in = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            uploading = _uploading(backend.settings, scope["path"], headers_in)
            limit = backend.settings.max_body_bytes
            if uploading:  # a GraphQL multipart request: the JSON limit plus one file of the largest size allowed
                limit += backend.settings.file_max_bytes
            raw = await _body(receive, limit)
            client = scope.get("client")
            req = PageRequest(
                scope["method"],
                headers_in,
                raw,
                scope.get("query_string", b""),
                client[0] if client else None,
            )
            status, body, headers = await page(backend, req)
        except _TooLarge:
            status, body = 413, b'{"code":107,"error":"Request body is too large."}'
            if uploading:  # what REST's POST /files answers to a file over the limit
                body = orjson.dumps({"code": errors.FILE_SAVE_ERROR, "error": backend.files.too_large()})
        except Exception:
            log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            status, body = 500, b'{"code":1,"error":"Internal server error."}'
    if not any(k == b"content-type" for k, _ in headers):
        headers = [JSON_TYPE, *headers]
    headers = [*CORS_HEADERS, *headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
