"""Conditional writes (our extension, docs/protocol.md "Conditional updates"): an update or delete may name the
version it was based on, and is refused if the object changed since.

The version is the object's `updatedAt` as the client last saw it (Parse's ISO form, milliseconds), sent as an
`If-Match` header or, where headers cannot be set per item (a `/batch` sub-request, the JS SDK's envelope), as the
body field `_ifMatch`; over GraphQL, as the `ifMatch` input of `update<Class>`/`delete<Class>` (graphql/data.py,
refusing through `explain_for`). The check itself is part of the write (`objects.update`/`objects.delete`: the
stored updatedAt compared after the row was locked), so two writers based on the same version cannot both pass.
Users too: `users.update_user`/`users.delete_user` check who may write the user first (a caller who may not gets
the same refusal with or without a version), then pass the version to `objects.update`/`objects.delete`, so a
password change that loses the race writes no hash and revokes no session.
A refused write answers 409 with code 409 `VERSION_CONFLICT` and `current`: the object as *this caller* may read
it now (the same read path as a GET; absent if they may no longer read it; a user's `sessionToken` and `authData`
never), so a client can merge and retry with `current.updatedAt`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .. import errors, objects
from ..backend import Backend
from ..errors import ParseError
from ..objects import Unit
from ..security.caller import Caller
from ..values import parse_iso
from .transport import Call

BODY_KEY = "_ifMatch"
HEADER = "if-match"
NEVER_CURRENT = ("sessionToken", "authData")  # a user's fields a refusal's `current` never carries


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
    return rest, version(body[BODY_KEY])


def version(tag: Any) -> datetime:
    """The updatedAt an expected version names (header, body field or GraphQL's `ifMatch`); anything that is not
    one (null included) is 107, never an unconditional write."""
    if isinstance(tag, str):
        tag = tag.strip().removeprefix("W/").strip('"')  # an HTTP entity tag may arrive quoted
    try:
        return parse_iso(tag)
    except ParseError as exc:
        raise ParseError(errors.INVALID_JSON, "If-Match / _ifMatch must be the object's updatedAt (ISO 8601)") from exc


async def explain(backend: Backend, call: Call, unit: Unit | None, cls: str, oid: str, exc: ParseError) -> ParseError:
    """A VERSION_CONFLICT from the write path, with the current state as the caller may read it attached."""
    return await explain_for(backend, call.caller, unit, cls, oid, exc)


async def explain_for(
    backend: Backend, caller: Caller, unit: Unit | None, cls: str, oid: str, exc: ParseError
) -> ParseError:
    """`explain` for a caller without an HTTP call (GraphQL's mutations, graphql/data.py)."""
    if exc.code != errors.VERSION_CONFLICT:
        return exc
    try:
        current = await objects.fetch_json(backend, caller, cls, oid, unit=unit)
    except ParseError:
        current = None  # no longer readable by this caller: the refusal alone
    if current is not None and cls == "_User":
        for secret in NEVER_CURRENT:  # credentials have no place in an error body, whoever asks
            current.pop(secret, None)
    return Stale(exc.message, current)
