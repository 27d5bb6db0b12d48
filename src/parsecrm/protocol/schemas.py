"""/schemas and /purge: class definitions, master key only."""

from __future__ import annotations

from typing import Any

from .. import errors
from ..backend import Backend
from ..changes import Change, implied_field
from ..errors import ParseError
from ..objects import Unit
from ..security.sessions import AUTH_CHANNEL
from ..storage.model import Field, describe, q, validate_clp
from ..storage.pool import NO_TIMEOUT
from ..values import check_class_name, decode
from .reply import Reply
from .transport import Call


def _master(call: Call, write: str | None) -> None:
    """Master key required; the read-only master key may read (`write` None) but not `write` ("create", …)."""
    if call.caller.master or (call.caller.read_only and write is None):
        return
    if call.caller.read_only:
        raise ParseError(errors.OPERATION_FORBIDDEN, f"read-only masterKey isn't allowed to {write}.")
    raise ParseError(errors.OPERATION_FORBIDDEN, "unauthorized: master key is required", status=403)


def _check_defaults(cls: str, fields: dict[str, Any]) -> None:
    """As parse-server: a default value must have the field's type, and a Relation cannot be required."""
    for name, raw in fields.items():
        if not isinstance(raw, dict) or raw.get("__op") == "Delete":
            continue
        f = Field.from_json(name, raw)
        if f.type == "Relation" and f.required:
            raise ParseError(errors.INCORRECT_TYPE, f"The 'required' option is not applicable for {describe(f)}")
        if f.default is None:
            continue
        given = implied_field(Change("set", decode(f.default, stored=True)))
        fits = (
            given is not None
            and given.type == f.type
            and (f.type != "Pointer" or given.target == f.target or given.target in f.targets)
        )
        if not fits:
            got = describe(given) if given else "null"
            raise ParseError(
                errors.INCORRECT_TYPE,
                f"schema mismatch for {cls}.{name} default value; expected {describe(f)} but got {got}",
            )


async def all_classes(backend: Backend, call: Call, unit: Unit | None) -> Reply:
    _master(call, None)
    classes = await backend.schemas.all()
    return Reply({"results": [c.to_json() for c in classes.values()]})


async def one(backend: Backend, call: Call, unit: Unit | None, cls: str) -> Reply:
    _master(call, None)
    return Reply((await backend.schemas.require(cls)).to_json())


def _body(call: Call, cls: str) -> dict[str, Any]:
    body = call.body if isinstance(call.body, dict) else {}
    if "className" in body and body["className"] != cls:
        raise ParseError(errors.INVALID_CLASS_NAME, f"Class name mismatch between {body['className']!s:.40} and {cls}.")
    fields = body.get("fields") or {}
    if not isinstance(fields, dict):
        raise ParseError(errors.INVALID_JSON, "fields must be an object")
    return body


async def create(backend: Backend, call: Call, unit: Unit | None, cls: str | None = None) -> Reply:
    _master(call, "create a schema")
    body = call.body if isinstance(call.body, dict) else {}
    cls = cls or body.get("className")
    check_class_name(cls)
    assert isinstance(cls, str)
    body = _body(call, cls)
    _check_defaults(cls, body.get("fields") or {})
    if await backend.schemas.get(cls) is not None:
        raise ParseError(errors.INVALID_CLASS_NAME, f"Class {cls} already exists.")
    clp = body.get("classLevelPermissions")
    schema = await backend.schemas.ensure_class(
        cls, body.get("fields") or {}, validate_clp(clp) if clp is not None else None, body.get("indexes")
    )
    return Reply(schema.to_json())


async def update(backend: Backend, call: Call, unit: Unit | None, cls: str) -> Reply:
    _master(call, "update a schema")
    body = _body(call, cls)
    _check_defaults(cls, body.get("fields") or {})
    schema = await backend.schemas.update_class(
        cls, body.get("fields") or {}, body.get("classLevelPermissions"), body.get("indexes")
    )
    return Reply(schema.to_json())


async def drop(backend: Backend, call: Call, unit: Unit | None, cls: str) -> Reply:
    _master(call, "delete a schema")
    check_class_name(cls)
    if cls in ("_User", "_Role", "_Session"):
        raise ParseError(errors.INVALID_SCHEMA_OPERATION, f"Class {cls} is a system class and cannot be deleted.")
    await backend.schemas.drop_class(cls)
    return Reply({})


async def purge(backend: Backend, call: Call, unit: Unit | None, cls: str) -> Reply:
    _master(call, "purge a schema")
    schema = await backend.schemas.get(check_class_name(cls))
    if schema is None:  # as parse-server: purging a class that does not exist is not an error
        return Reply({})
    async with backend.pool.acquire() as conn, conn.transaction():
        await conn.execute(NO_TIMEOUT)
        await conn.execute(f"DELETE FROM {q(schema.name)}")
        if schema.name in ("_User", "_Role", "_Session"):  # every process forgets the sessions and roles it cached
            await conn.execute("SELECT pg_notify($1, '*')", AUTH_CHANNEL)
    backend.sessions.invalidate("*")
    return Reply({})
