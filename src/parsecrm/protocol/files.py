"""/files: upload (`POST /files/<name>`), download (`GET /files/<appId>/<name>`, no credentials: the random name
is the capability, as in parse-server), metadata, and delete (`DELETE /files/<name>`, master key only).

An upload arrives either as raw bytes with the app id in a header (REST), or — from the JS SDK — as a JSON envelope
`{"base64": …, "_ContentType": …, "fileData": {"metadata": …}, "_ApplicationId": …, …}` without Parse headers.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

import orjson

from .. import errors
from ..backend import Backend
from ..errors import ErrorCode, ParseError, Unauthorized
from ..files import names
from .reply import Reply
from .transport import authenticate


async def handle(backend: Backend, method: str, rel: str, headers: dict[str, str], raw: bytes, ip: str | None) -> Reply:
    parts = rel.split("/")
    if method == "GET" and len(parts) in (3, 4):
        return await _download(backend, parts[1:], headers)
    if method == "POST" and len(parts) == 2:
        return await _upload(backend, parts[1], headers, raw, ip)
    if method == "POST":  # no name, or one with a (decoded) slash
        names.check_name("/".join(parts[1:]))
    if method == "DELETE" and len(parts) == 2:
        caller, _, _ = await authenticate(backend, headers, _json(raw, headers), ip)
        await backend.files.delete(caller, parts[1])
        return Reply({})
    raise ParseError(errors.COMMAND_UNAVAILABLE, f"unknown route: {method} /{rel[:100]}", status=404)


def _json(raw: bytes, headers: dict[str, str]) -> Any:
    if not raw.strip():
        return {}
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if "x-parse-application-id" not in headers:
            raise Unauthorized() from exc
        raise ParseError(errors.INVALID_JSON, "Invalid JSON") from exc


async def _upload(backend: Backend, client_name: str, headers: dict[str, str], raw: bytes, ip: str | None) -> Reply:
    declared = headers.get("content-type")
    metadata: dict[str, Any] = {}
    if "x-parse-application-id" in headers:  # REST: the body is the file itself
        caller, _, _ = await authenticate(backend, headers, {}, ip)
        data = raw
    else:  # the JS SDK's envelope
        body = _json(raw, headers)
        if not isinstance(body, dict) or not isinstance(body.get("base64"), str):
            raise Unauthorized()
        caller, body, _ = await authenticate(backend, headers, body, ip)
        declared = body.get("_ContentType") if isinstance(body.get("_ContentType"), str) else None
        file_data = body.get("fileData")
        if isinstance(file_data, dict) and isinstance(file_data.get("metadata"), dict):
            metadata = file_data["metadata"]
        data = _base64(body["base64"])
    saved = await backend.files.upload(caller, client_name, data, declared, metadata)
    return Reply(saved, 201, [(b"location", saved["url"].encode())])


def _base64(text: str) -> bytes:
    if text.startswith("data:"):  # a data URL, as the SDK accepts
        text = text.partition(",")[2]
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ParseError(ErrorCode.FILE_SAVE_ERROR, "Invalid base64 file data.") from exc


async def _download(backend: Backend, parts: list[str], headers_in: dict[str, str]) -> Reply:
    app_id = parts[0]
    if app_id != backend.settings.app_id:
        raise ParseError(errors.OPERATION_FORBIDDEN, "Invalid application ID.", status=403)
    if len(parts) == 3:
        if parts[1] != "metadata":
            raise ParseError(errors.COMMAND_UNAVAILABLE, "unknown route", status=404)
        return Reply(await backend.files.metadata(parts[2]))
    name = parts[1]
    found = await backend.files.fetch(name)
    if found is None:
        return Reply(b"File not found.", 404, [(b"content-type", b"text/plain; charset=utf-8"), *names.FILE_HEADERS])
    headers = [*names.serve_headers(found.content_type, name), (b"accept-ranges", b"bytes")]
    wanted = _byte_range(headers_in.get("range", ""), len(found.data))
    if wanted is None:
        return Reply(found.data, 200, headers)
    start, end = wanted
    if start >= len(found.data):
        return Reply(b"", 416, [*headers, (b"content-range", f"bytes */{len(found.data)}".encode())])
    content_range = f"bytes {start}-{end}/{len(found.data)}".encode()
    return Reply(found.data[start : end + 1], 206, [*headers, (b"content-range", content_range)])


RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    """One `Range: bytes=a-b` (what media players and PDF viewers send) as inclusive offsets; None to send it all
    (no header, several ranges, or a form we do not serve)."""
    m = RANGE.match(header.strip())
    if not m or (not m.group(1) and not m.group(2)):
        return None
    if not m.group(1):  # the last N bytes
        return max(size - int(m.group(2)), 0), size - 1
    start = int(m.group(1))
    end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
    return (start, end) if end >= start or start >= size else None
