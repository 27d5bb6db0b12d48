"""Conditional writes (our extension, docs/protocol.md "Conditional updates"): an update or delete may name the
version it was based on, and is refused if the object changed since.

The version is the object's `updatedAt` as the client last saw it (Parse's ISO form, milliseconds), sent as an
`If-Match` header or, where headers cannot be set per item (a `/batch` sub-request, the JS SDK's envelope), as the
body field `_ifMatch`. The check itself is part of the write's SQL (`objects.update`/`objects.delete`: `... AND
"updatedAt" = $expected`, after the row was locked), so two writers based on the same version cannot both pass.
A refused write answers 409 with code 409 `VERSION_CONFLICT` and `current`: the object as *this caller* may read
it now (the same read path as a GET; absent if they may no longer read it), so a client can merge and retry with
`current.updatedAt`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .. import errors, objects
from ..backend import Backend
from ..errors import ParseError
from ..objects import Unit
from ..values import parse_iso
from .transport import Call

BODY_KEY = "_ifMatch"
HEADER = "if-match"


class Stale(ParseError):
    """A conditional write based on an old version; its body carries the current state."""

    def __init__(self, message: str, current: dict[str, Any] | None) -> None:
        super().__init__(errors.VERSION_CONFLICT, message)
        self.current = current

    def body(self) -> dict[str, Any]:
        out = super().body()
        if self.current is not None:
            out["current"] = self.current
        return out


def from_header(headers: dict[str, str], body: Any) -> Any:
    """The `If-Match` header moved into the body as `_ifMatch` (a body value wins), so one form reaches the
    handlers whether the version came as a header, a body field or a batch item's body."""
    tag = headers.get(HEADER)
    if tag is None:
        return body
    if body is None or body == {}:
        body = {}
    if not isinstance(body, dict):
        return body
    return {BODY_KEY: tag, **body}


def take(body: Any) -> tuple[Any, datetime | None]:
    """Split the expected version off a write's body: (the body without it, the version or None)."""
    if not isinstance(body, dict) or BODY_KEY not in body:
        return body, None
    rest = {k: v for k, v in body.items() if k != BODY_KEY}
    tag = body[BODY_KEY]
    if isinstance(tag, str):
        tag = tag.strip().removeprefix("W/").strip('"')  # an HTTP entity tag may arrive quoted
    try:
        return rest, parse_iso(tag)
    except ParseError as exc:
        raise ParseError(errors.INVALID_JSON, "If-Match / _ifMatch must be the object's updatedAt (ISO 8601)") from exc


def refuse_for_users(expected: datetime | None) -> None:
    """Users are written through their own path (passwords, sessions), which does not check versions yet: a
    conditional write there is refused rather than run unconditionally."""
    if expected is not None:
        raise ParseError(errors.INVALID_JSON, "If-Match / _ifMatch is not supported on users")


async def explain(backend: Backend, call: Call, unit: Unit | None, cls: str, oid: str, exc: ParseError) -> ParseError:
    """A VERSION_CONFLICT from the write path, with the current state as the caller may read it attached."""
    if exc.code != errors.VERSION_CONFLICT:
        return exc
    try:
        current = await objects.fetch_json(backend, call.caller, cls, oid, unit=unit)
    except ParseError:
        current = None  # no longer readable by this caller: the refusal alone
    return Stale(exc.message, current)
