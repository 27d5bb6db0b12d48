"""/classes/{className}[/{objectId}] and its aliases (/users, /roles, /sessions, /installations)."""

from __future__ import annotations

from typing import Any

from .. import errors, objects, users
from ..auth.authdata import LoggedIn
from ..backend import Backend
from ..errors import ParseError
from ..objects import Unit
from . import conditional
from .reply import Reply
from .transport import Call


def _body(call: Call) -> dict[str, Any]:
    if not isinstance(call.body, dict):
        raise ParseError(errors.INVALID_JSON, "request body must be a JSON object")
    return call.body


async def find(backend: Backend, call: Call, unit: Unit | None, cls: str) -> Reply:
    return Reply(await objects.find_response(backend, call.caller, cls, call.params(), unit=unit))


async def get(backend: Backend, call: Call, unit: Unit | None, cls: str, oid: str) -> Reply:
    body = await objects.get_response(backend, call.caller, cls, oid, call.params(), unit=unit)
    if cls == "_User" and call.caller.user_id == oid and call.caller.session_token:
        body = body[:-1] + b',"sessionToken":' + _json_str(call.caller.session_token) + b"}"
    return Reply(body)


def _json_str(text: str) -> bytes:
    import orjson

    return orjson.dumps(text)


async def create(backend: Backend, call: Call, unit: Unit | None, cls: str) -> Reply:
    body = _body(call)
    if cls == "_User":
        result = await users.sign_up(backend, call.caller, body, unit=unit)
    else:
        result = await objects.create(backend, call.caller, cls, body, unit=unit, context=call.context)
    location = f"{backend.settings.server_url}/{call.path}/{result['objectId']}".encode()
    status = 200 if isinstance(result, LoggedIn) else 201  # authData log-in of an existing user (auth/authdata.py)
    return Reply(result, status, [(b"location", location)])


async def update(backend: Backend, call: Call, unit: Unit | None, cls: str, oid: str) -> Reply:
    body, expected = conditional.take(_body(call))
    try:
        if cls == "_User":  # its own path (passwords, sessions, authData), which ends in objects.update
            result = await users.update_user(backend, call.caller, oid, body, unit=unit, expected=expected)
        else:
            result = await objects.update(
                backend, call.caller, cls, oid, body, unit=unit, context=call.context, expected=expected
            )
    except ParseError as exc:
        raise await conditional.explain(backend, call, unit, cls, oid, exc) from exc
    return Reply(result)


async def delete(backend: Backend, call: Call, unit: Unit | None, cls: str, oid: str) -> Reply:
    _, expected = conditional.take(call.body)
    try:
        if cls == "_User":
            result = await users.delete_user(backend, call.caller, oid, unit=unit, expected=expected)
        else:
            result = await objects.delete(
                backend, call.caller, cls, oid, unit=unit, context=call.context, expected=expected
            )
    except ParseError as exc:
        raise await conditional.explain(backend, call, unit, cls, oid, exc) from exc
    return Reply(result)
