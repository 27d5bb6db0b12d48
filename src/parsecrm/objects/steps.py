"""The steps every write shares (write.py): the class to write to, type and required-value checks, the fields a
save adds (addField permission), the conditional-write version check, unique-violation errors, new object ids."""

from __future__ import annotations

import secrets
import string
from datetime import datetime
from typing import Any

import asyncpg

from ..backend import Backend
from ..changes import Change, check_type, implied_field
from ..errors import ErrorCode, ParseError
from ..security.caller import Caller
from ..security.policy import Policy
from ..storage.model import ClassSchema, Field
from ..values import check_class_name, encode, parse_iso
from .unit import Unit, schema_for

ID_ALPHABET = string.ascii_letters + string.digits


def new_id() -> str:
    """10 random characters of [A-Za-z0-9] (Parse's objectIdSize): 128 random bits reduced mod 62^10."""
    n = int.from_bytes(secrets.token_bytes(16), "big")
    chars = []
    for _ in range(10):
        n, i = divmod(n, 62)
        chars.append(ID_ALPHABET[i])
    return "".join(chars)


async def class_for_write(backend: Backend, caller: Caller, class_name: str, unit: Unit) -> ClassSchema:
    check_class_name(class_name, ErrorCode.INVALID_JSON)
    schema = await schema_for(backend, unit, class_name)
    if schema is not None:
        return schema
    if caller.read_only:
        raise ParseError(ErrorCode.OPERATION_FORBIDDEN, "read-only master key cannot write")
    if not caller.master and not backend.settings.allow_client_class_creation:
        raise ParseError(
            ErrorCode.OPERATION_FORBIDDEN, f"This user is not allowed to access non-existent class: {class_name}"
        )
    return unit.schema_changed(backend, await backend.schemas.ensure_class(class_name, conn=unit.conn))


def check_types(schema: ClassSchema, changes: dict[str, Change]) -> None:
    """111 for a change that does not fit its field's declared type (fields the class lacks are checked when
    they are added)."""
    for key, change in changes.items():
        f = schema.fields.get(key)
        if f is not None:
            check_type(schema, key, f, change)


async def ensure_fields(
    backend: Backend, caller: Caller, schema: ClassSchema, changes: dict[str, Change], unit: Unit, hooked: bool
) -> ClassSchema:
    """Type-check the changes a beforeSave hook may have made (`hooked`; the others were checked before it ran);
    add the fields a save introduces (if the addField permission allows)."""
    if hooked:
        check_types(schema, changes)
    missing: dict[str, Field] = {}
    for key, change in changes.items():
        if key not in schema.fields:
            implied = implied_field(change)
            if implied is not None:
                missing[key] = implied
    if not missing:
        return schema
    Policy(caller).check(schema, "addField")
    return unit.schema_changed(backend, await backend.schemas.add_fields(unit.conn, schema.name, missing))


def check_required(schema: ClassSchema, values: dict[str, Any], creating: bool) -> None:
    for name, f in schema.fields.items():
        if not f.required or name in ("objectId", "createdAt", "updatedAt"):
            continue
        if (creating and values.get(name) is None) or (not creating and name in values and values[name] is None):
            raise ParseError(ErrorCode.VALIDATION_ERROR, f"{name} is required")


def encode_fields(values: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    return {k: encode(values.get(k)) if values.get(k) is not None else {"__op": "Delete"} for k in keys}


def check_version(original_json: dict[str, Any], expected: datetime | None) -> None:
    """A conditional write (If-Match): the stored updatedAt must still be `expected`. The row is locked FOR UPDATE
    (_locked_original), so it cannot change between this check and the write: the check is atomic with it."""
    if expected is not None and parse_iso(original_json.get("updatedAt")) != expected:
        raise ParseError(ErrorCode.VERSION_CONFLICT, "The object was changed since the version this write is based on.")


def unique_error(exc: asyncpg.UniqueViolationError) -> ParseError:
    name = exc.constraint_name or ""
    if name == "_User_unique_username":
        return ParseError(ErrorCode.USERNAME_TAKEN, "Account already exists for this username.")
    if name == "_User_unique_email":
        return ParseError(ErrorCode.EMAIL_TAKEN, "Account already exists for this email address.")
    return ParseError(ErrorCode.DUPLICATE_VALUE, "A duplicate value for a field with unique values was provided")
