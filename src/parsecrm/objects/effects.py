"""System-class side effects of writes: what else changes when a `_User`, `_Role` or `_Session` row does.

Sessions and roles are cached per process (security/sessions.py); every write that could make a cached copy wrong
sends a NOTIFY in its transaction (delivered on commit) and drops this process's copy right after the commit.
"""

from __future__ import annotations

import re
from typing import Any

from ..backend import Backend
from ..changes import Change
from ..errors import ErrorCode, ParseError
from ..security.caller import Caller
from ..security.sessions import notify as notify_auth
from ..security.sessions import token_key
from ..storage.model import ClassSchema
from .unit import Unit

ROLE_NAME = re.compile(r"^[0-9A-Za-z\-_ ]+$")


async def auth_changed(backend: Backend, unit: Unit, payload: str) -> None:
    """Sessions/roles changed: every process drops its cached copy (NOTIFY, sent on commit), this one included
    right after the commit, so the very next request here cannot see the old state."""
    await notify_auth(unit.conn, payload)

    async def drop() -> None:
        backend.sessions.invalidate(payload)

    unit.after_commit.insert(0, drop)


async def _session_changed(backend: Backend, unit: Unit, session_json: dict[str, Any]) -> None:
    """A session row was updated or deleted: every process drops the token it cached (a cached session is never
    allowed to outlive the row it was read from)."""
    token = session_json.get("sessionToken")
    if isinstance(token, str):
        await auth_changed(backend, unit, "t:" + token_key(token))


def check_create(schema: ClassSchema, caller: Caller) -> None:
    if schema.name == "_Session" and not caller.master:
        raise ParseError(ErrorCode.OPERATION_FORBIDDEN, "Clients cannot create sessions directly.")


def check_role(changes: dict[str, Change], acl_given: bool, creating: bool) -> None:
    """A role needs an ACL and a valid name when it is made; its name never changes afterwards."""
    if creating and not acl_given:
        raise ParseError(ErrorCode.INCORRECT_TYPE, "ACL is required.")
    name = changes.get("name")
    if creating and (name is None or not isinstance(name.value, str)):
        raise ParseError(ErrorCode.INVALID_ROLE_NAME, "Role names must be strings.")
    if name is not None and not creating:
        raise ParseError(ErrorCode.INVALID_ROLE_NAME, "A role's name can only be set before it has been saved.")
    if name is not None and not ROLE_NAME.match(name.value or ""):
        raise ParseError(
            ErrorCode.INVALID_ROLE_NAME, "A role's name can be only contain alphanumeric characters, _, -, and spaces."
        )


async def after_create(backend: Backend, unit: Unit, schema: ClassSchema) -> None:
    if schema.name == "_Role":
        await auth_changed(backend, unit, "roles")


async def after_update(
    backend: Backend, unit: Unit, schema: ClassSchema, object_id: str, before: dict[str, Any]
) -> None:
    if schema.name == "_Role":
        await auth_changed(backend, unit, "roles")
    elif schema.name == "_User":
        await auth_changed(backend, unit, "u:" + object_id)
    elif schema.name == "_Session":
        await _session_changed(backend, unit, before)


async def after_delete(
    backend: Backend, unit: Unit, schema: ClassSchema, object_id: str, before: dict[str, Any]
) -> None:
    if schema.name == "_Session":
        await _session_changed(backend, unit, before)
    elif schema.name == "_User":
        await unit.conn.execute('DELETE FROM "_Session" WHERE "user" = $1', object_id)
        await auth_changed(backend, unit, "u:" + object_id)
    elif schema.name == "_Role":
        await auth_changed(backend, unit, "roles")
