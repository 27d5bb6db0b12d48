"""File uploads over GraphQL: the GraphQL multipart request spec (github.com/jaydenseric/graphql-multipart-request-spec)
and the `Upload` scalar, as parse-server's `createFile(input: {upload})` and `FileInput.upload` take them.

A multipart/form-data body holds `operations` (the usual `{query, variables, operationName}` JSON, with null where a
file goes), `map` (`{"0": ["variables.file"], …}`: which variable each file part fills) and the file parts. The body
is already in memory, bounded by the endpoint (reference/routes.py: the JSON limit plus the largest file allowed);
this module splits it, with bounds on the number of parts and the size of their headers, and puts an `Upload` where
the map says. Storing one goes through `data.upload_file`, the files code REST's `POST /files/<name>` runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from graphql import GraphQLError, GraphQLScalarType

MAX_PARTS = 64  # operations, map and up to 62 files
MAX_PART_HEADERS = 8192
MAX_PATH = 32  # segments of one map path


class MultipartError(ValueError):
    """The body does not follow the spec (answered as HTTP 400, code 107 — REST's answer to unreadable JSON)."""


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str | None
    data: bytes

    def __repr__(self) -> str:  # never the bytes in a log line
        return f"Upload({self.filename!r}, {self.content_type!r}, {len(self.data)} bytes)"


def _upload_in(value: Any) -> Upload:
    if isinstance(value, Upload):
        return value
    raise GraphQLError("Upload value invalid: send the file as a part of a multipart request (its map names it).")


def _upload_literal(*_: Any) -> Upload:
    raise GraphQLError("Upload literal unsupported: pass the file in a variable of a multipart request.")


def _upload_out(_value: Any) -> Any:
    raise GraphQLError("Upload serialization unsupported.")


UPLOAD = GraphQLScalarType(
    "Upload",
    description="A file sent in a multipart request (the GraphQL multipart request spec).",
    serialize=_upload_out,
    parse_value=_upload_in,
    parse_literal=_upload_literal,
)


def is_multipart(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == "multipart/form-data"


def _params(header: str) -> tuple[str, dict[str, str]]:
    """`form-data; name="x"; filename="a.pdf"` → ("form-data", {"name": "x", "filename": "a.pdf"})."""
    head, *rest = header.split(";")
    out: dict[str, str] = {}
    for item in rest:
        key, sep, value = item.strip().partition("=")
        if not sep:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        out[key.strip().lower()] = value
    return head.strip().lower(), out


@dataclass
class _Part:
    name: str
    filename: str | None
    content_type: str | None
    data: bytes


def _parts(body: bytes, content_type: str) -> list[_Part]:
    _, params = _params(content_type)
    boundary = params.get("boundary", "")
    if not 0 < len(boundary) <= 200:
        raise MultipartError("A multipart request needs a boundary.")
    delimiter = b"--" + boundary.encode("latin-1")
    start = body.find(delimiter)
    if start < 0:
        raise MultipartError("The multipart body has no part.")
    pos = start + len(delimiter)
    found: list[_Part] = []
    while True:
        if body[pos : pos + 2] == b"--":
            return found
        if body[pos : pos + 2] != b"\r\n":
            raise MultipartError("Malformed multipart body.")
        if len(found) >= MAX_PARTS:
            raise MultipartError(f"A multipart request may have at most {MAX_PARTS} parts.")
        head_end = body.find(b"\r\n\r\n", pos + 2, pos + 2 + MAX_PART_HEADERS)
        if head_end < 0:
            raise MultipartError("Malformed multipart part headers.")
        headers: dict[str, str] = {}
        for line in body[pos + 2 : head_end].decode("utf-8", "replace").split("\r\n"):
            key, sep, value = line.partition(":")
            if sep:
                headers[key.strip().lower()] = value.strip()
        end = body.find(b"\r\n" + delimiter, head_end + 4)
        if end < 0:
            raise MultipartError("The multipart body is not terminated.")
        kind, disposition = _params(headers.get("content-disposition", ""))
        if kind != "form-data" or "name" not in disposition:
            raise MultipartError("Every multipart part needs Content-Disposition: form-data with a name.")
        found.append(
            _Part(
                disposition["name"], disposition.get("filename"), headers.get("content-type"), body[head_end + 4 : end]
            )
        )
        pos = end + 2 + len(delimiter)


def _json(part: _Part | None, what: str) -> Any:
    if part is None:
        raise MultipartError(f"A multipart GraphQL request needs the `{what}` field first.")
    try:
        return orjson.loads(part.data)
    except orjson.JSONDecodeError as exc:
        raise MultipartError(f"`{what}` is not valid JSON.") from exc


def _place(operations: dict[str, Any], path: Any, upload: Upload) -> None:
    """Put `upload` where `path` (e.g. `variables.files.1`) points; only inside `variables`, onto a null."""
    if not isinstance(path, str) or not path.startswith("variables."):
        raise MultipartError("A map path must point into variables (e.g. `variables.file`).")
    segments = path.split(".")
    if len(segments) > MAX_PATH:
        raise MultipartError("A map path is too deep.")
    target: Any = operations
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        if isinstance(target, dict) and seg in target:
            if last:
                if target[seg] is not None:
                    raise MultipartError(f"{path[:100]} must be null in operations (a file goes there).")
                target[seg] = upload
            else:
                target = target[seg]
        elif isinstance(target, list) and seg.isdigit() and int(seg) < len(target):
            if last:
                if target[int(seg)] is not None:
                    raise MultipartError(f"{path[:100]} must be null in operations (a file goes there).")
                target[int(seg)] = upload
            else:
                target = target[int(seg)]
        else:
            raise MultipartError(f"The map path {path[:100]} is not in operations.")


def parse(body: bytes, content_type: str) -> dict[str, Any]:
    """The GraphQL request (`{query, variables, operationName}`) a multipart body carries, its files in place."""
    parts = _parts(body, content_type)
    by_name = {p.name: p for p in parts}
    if len(parts) < 2 or parts[0].name != "operations" or parts[1].name != "map":
        raise MultipartError("A multipart GraphQL request starts with the `operations` and `map` fields.")
    operations = _json(by_name.get("operations"), "operations")
    if not isinstance(operations, dict):
        raise MultipartError("`operations` must be one GraphQL request object (batches are not served).")
    mapping = _json(by_name.get("map"), "map")
    if not isinstance(mapping, dict):
        raise MultipartError("`map` must be an object of file field name → list of paths.")
    for name, paths in mapping.items():
        part = by_name.get(name)
        if part is None or name in ("operations", "map"):
            raise MultipartError(f"The map names a file part {name[:40]!r} the request does not have.")
        if not isinstance(paths, list) or not paths:
            raise MultipartError("Each map entry must be a non-empty list of paths.")
        upload = Upload(part.filename or name, part.content_type, part.data)
        for path in paths:
            _place(operations, path, upload)
    return operations
