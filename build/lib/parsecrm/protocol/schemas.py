"""/schemas and /purge: class definitions, master key only."""

from __future__ import annotations

from typing import Any

from .. import errors
from ..backend import Backend
from ..errors import ParseError
from ..objects import Unit
from ..storage.schema import q, validate_clp
from ..values import check_class_name
from .reply import Reply
from .transport import Call


def _master(call: Call, write: bool) -> None:
    if call.caller.master or (call.caller.read_only and not write):
        return
    if call.caller.read_only:
        raise ParseError(errors.OPERATION_FORBIDDEN, "read-only master key cannot change schemas")
    raise ParseError(errors.OPERATION_FORBIDDEN, "unauthorized: master key is required", status=403)


async def all_classes(backend: Backend, call: Call, unit: Unit | None) -> Reply:
    _master(call, False)
    classes = await backend.schemas.all()
    return Reply({"results": [c.to_json() for c in classes.values()]})


async def one(backend: Backend, call: Call, unit: Unit | None, cls: str) -> Reply:
    _master(call, False)
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
    _master(call, True)
    body = call.body if isinstance(call.body, dict) else {}
    cls = cls or body.get("className")
    check_class_name(cls)
    assert isinstance(cls, str)
    body = _body(call, cls)
    if await backend.schemas.get(cls) is not None:
        raise ParseError(errors.INVALID_CLASS_NAME, f"Class {cls} already exists.")
    clp = body.get("classLevelPermissions")
    schema = await backend.schemas.ensure_class(
        cls, body.get("fields") or {}, validate_clp(clp) if clp is not None else None, body.get("indexes")
    )
    return Reply(schema.to_json())


async def update(backend: Backend, call: Call, unit: Unit | None, cls: str) -> Reply:
    _master(call, True)
    body = _body(call, cls)
    schema = await backend.schemas.update_class(
        cls, body.get("fields") or {}, body.get("classLevelPermissions"), body.get("indexes")
    )
    return Reply(schema.to_json())


async def drop(backend: Backend, call: Call, unit: Unit | None, cls: str) -> Reply:
    _master(call, True)
    check_class_name(cls)
    if cls in ("_User", "_Role", "_Session"):
        raise ParseError(errors.INVALID_SCHEMA_OPERATION, f"Class {cls} is a system class and cannot be deleted.")
    await backend.schemas.drop_class(cls)
    return Reply({})


async def purge(backend: Backend, call: Call, unit: Unit | None, cls: str) -> Reply:
    _master(call, True)
    schema = await backend.schemas.require(cls)
    async with backend.pool.acquire() as conn, conn.transaction():
        await conn.execute(f"DELETE FROM {q(schema.name)}")
    return Reply({})
