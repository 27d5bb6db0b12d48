"""Writes: create, create_many, update, delete — each in a Unit (a transaction), the same way for every caller.

Order on every write: class exists (or may be created) → class-level permission → the body parsed and type-checked
against the schema (so a hook never sees a wrongly typed value: `{"amount": "lots"}` is 111, not a hook's
TypeError) → beforeSave/beforeDelete hooks → new fields added (if the addField permission allows) → one statement
whose WHERE carries the write ACL → system-class effects (effects.py) → afterSave/afterDelete once committed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from ..backend import Backend
from ..changes import Change, apply, column_value, has_increment, parse_body
from ..cloud.objects import ParseObject
from ..errors import ErrorCode, not_found
from ..query.project import Shape, row_json
from ..query.sql import Context, Params
from ..security import acl as acl_mod
from ..security.caller import Caller
from ..security.policy import Policy
from ..storage.model import ClassSchema, join_table, q
from ..storage.pool import Connection
from ..values import check_class_name, decode, iso, now_ms
from . import effects, hooks, steps
from .field_ops import from_column, set_clause, write_relations
from .unit import Unit, schema_for, schemas_for

log = logging.getLogger("parsecrm.objects")
DEADLOCK_RETRIES = 3  # attempts of a write transaction PostgreSQL chose as a deadlock victim


async def in_unit(backend: Backend, unit: Unit | None, work: Callable[[Unit], Awaitable[Any]]) -> Any:
    """Run `work` inside `unit`, or inside a fresh transaction whose after-commit work runs once it commits."""
    if unit is not None:
        return await work(unit)
    for attempt in range(1, DEADLOCK_RETRIES + 1):
        async with backend.pool.acquire() as conn:
            fresh = Unit(conn)
            try:
                async with conn.transaction():
                    result = await work(fresh)
                    await flush_deferred(backend, fresh)
            except asyncpg.DeadlockDetectedError:
                # PostgreSQL rolled this transaction back to break a lock cycle: nothing of it happened (its
                # after-commit work never ran), so it is run again, as PostgreSQL's manual advises
                if attempt == DEADLOCK_RETRIES:
                    raise
                log.info("deadlock victim, retrying the write (attempt %d)", attempt + 1)
                continue
        break
    for job in fresh.after_commit:
        await job()
    return result


def create_later(unit: Unit, caller: Caller, class_name: str, body: dict[str, Any]) -> None:
    """Queue a create that runs in `unit`'s transaction just before it commits, batched with others of its kind
    (the CRM's stage history uses it: a 50-deal batch writes its 50 history rows in one statement)."""
    unit.deferred.append((caller, class_name, body))


async def flush_deferred(backend: Backend, unit: Unit) -> None:
    while unit.deferred:
        pending, unit.deferred = unit.deferred, []
        groups: dict[tuple[int, str], tuple[Caller, list[dict[str, Any]]]] = {}
        for caller, class_name, body in pending:
            groups.setdefault((id(caller), class_name), (caller, []))[1].append(body)
        for (_cid, class_name), (caller, bodies) in groups.items():
            await create_many(backend, caller, class_name, bodies, unit=unit)


# -- create --------------------------------------------------------------------------------------------------------


@dataclass
class _NewRow:
    """A validated, hook-processed object ready to insert (create and create_many share this)."""

    schema: ClassSchema
    cols: tuple[str, ...]
    args: list[Any]
    changes: dict[str, Change]
    response: dict[str, Any]
    saved: ParseObject
    req: hooks.SaveHook | None


async def _prepare_create(
    backend: Backend,
    caller: Caller,
    class_name: str,
    body: Any,
    u: Unit,
    context: dict[str, Any] | None,
    extra_columns: dict[str, Any] | None,
    object_id: str | None,
) -> _NewRow:
    schema = await steps.class_for_write(backend, caller, class_name, u)
    Policy(caller).check(schema, "create")
    effects.check_create(schema, caller)
    changes, acl, acl_given = parse_body(schema, body, creating=True, master=caller.master)
    echoed: list[str] = []
    for name, f in schema.fields.items():
        if f.default is not None and name not in changes:
            changes[name] = Change("set", decode(f.default))
            echoed.append(name)  # the client did not send it, so it learns the value from the response
    steps.check_types(schema, changes)
    oid = object_id or steps.new_id()
    req: hooks.SaveHook | None = None
    if backend.cloud.has("beforeSave", class_name):
        req = await hooks.before_save(
            backend, caller, schema, changes, None, acl if acl_given else hooks.NO_ACL, u, context
        )
        echoed += req.changed
        if req.acl is not hooks.NO_ACL:
            acl, acl_given = req.acl, True
    if schema.name == "_Role":
        effects.check_role(changes, acl_given, creating=True)
    schema = await steps.ensure_fields(backend, caller, schema, changes, u, req is not None)
    values = {k: apply(c, None) for k, c in changes.items() if c.kind != "relation"}
    steps.check_required(schema, values, creating=True)
    rperm, wperm, acl_json = acl_mod.columns(acl if acl_given else None)
    now = now_ms()
    cols = ['"objectId"', '"createdAt"', '"updatedAt"', '"_rperm"', '"_wperm"', '"_acl"']
    args: list[Any] = [oid, now, now, rperm, wperm, acl_json]
    column_fields = set(schema.column_fields())
    for key, value in values.items():
        column = schema.fields.get(key)
        if column is None or value is None or key not in column_fields:
            continue
        cols.append(q(key))
        args.append(column_value(column, value))
    for col, value in (extra_columns or {}).items():
        cols.append(q(col))
        args.append(value)
    response: dict[str, Any] = {"objectId": oid, "createdAt": iso(now)}
    response.update(steps.encode_fields(values, sorted(set(echoed))))
    saved = ParseObject(class_name, {k: v for k, v in values.items() if v is not None}, oid)
    saved.created_at = saved.updated_at = now
    return _NewRow(schema, tuple(cols), args, changes, response, saved, req)


async def _insert(conn: Connection, rows: list[_NewRow]) -> None:
    """One INSERT per distinct column set; several rows with the same columns go in one pipelined executemany."""
    groups: dict[tuple[str, tuple[str, ...]], list[list[Any]]] = {}
    for row in rows:
        groups.setdefault((row.schema.name, row.cols), []).append(row.args)
    try:
        for (table, cols), args in groups.items():
            placeholders = ", ".join(f"${i + 1}" for i in range(len(cols)))
            sql = f"INSERT INTO {q(table)} ({', '.join(cols)}) VALUES ({placeholders})"
            if len(args) == 1:
                await conn.execute(sql, *args[0])
            else:
                await conn.executemany(sql, args)
    except asyncpg.UniqueViolationError as exc:
        raise steps.unique_error(exc) from exc


async def _finish_create(
    backend: Backend, caller: Caller, row: _NewRow, u: Unit, context: dict[str, Any] | None
) -> dict[str, Any]:
    await write_relations(u.conn, row.schema, row.saved.id or "", row.changes)
    await effects.after_create(backend, u, row.schema)
    if row.req is not None:
        await row.req.saved(row.saved)
    hooks.after_save(backend, caller, row.schema.name, row.saved, None, u, context)
    return row.response


async def create(
    backend: Backend,
    caller: Caller,
    class_name: str,
    body: Any,
    *,
    unit: Unit | None = None,
    context: dict[str, Any] | None = None,
    extra_columns: dict[str, Any] | None = None,
    object_id: str | None = None,
) -> dict[str, Any]:
    """Create an object; returns the response body (objectId, createdAt, and fields the server changed).
    `object_id` is for internal callers that must know the id in advance (sign-up puts it in the user's ACL)."""

    async def work(u: Unit) -> dict[str, Any]:
        row = await _prepare_create(backend, caller, class_name, body, u, context, extra_columns, object_id)
        await _insert(u.conn, [row])
        return await _finish_create(backend, caller, row, u, context)

    result: dict[str, Any] = await in_unit(backend, unit, work)
    return result


async def create_many(
    backend: Backend,
    caller: Caller,
    class_name: str,
    bodies: list[Any],
    *,
    unit: Unit | None = None,
    context: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Create several objects of one class, all or nothing: every object is validated and hooked one by one, then
    the rows are inserted in one pipelined statement (a batch's creates cannot refer to each other: their ids are
    unknown to the client until the batch answers)."""

    async def work(u: Unit) -> list[dict[str, Any]]:
        rows = [await _prepare_create(backend, caller, class_name, b, u, context, None, None) for b in bodies]
        await _insert(u.conn, rows)
        return [await _finish_create(backend, caller, row, u, context) for row in rows]

    result: list[dict[str, Any]] = await in_unit(backend, unit, work)
    return result


# -- update and delete ---------------------------------------------------------------------------------------------


async def _locked_original(
    backend: Backend, caller: Caller, schema: ClassSchema, object_id: str, op: str, u: Unit, lock: bool = True
) -> dict[str, Any]:
    """The row as JSON, locked FOR UPDATE (unless `lock` is false), if the caller may write it; else 101."""
    params = Params()
    ctx = Context(await schemas_for(backend, u), Policy.MASTER, params)
    security = Policy(caller).write_sql(schema, "t", op, params)
    select = row_json(schema, "t", Shape(), ctx)
    cond = f'"objectId" = {params.add(object_id, "::text")}'
    if security:
        cond += f" AND {security}"
    lock_clause = " FOR UPDATE" if lock else ""
    raw = await u.conn.fetchval(f"SELECT {select} FROM {q(schema.name)} t WHERE {cond}{lock_clause}", *params.values)
    if raw is None:
        raise not_found()
    found: dict[str, Any] = orjson.loads(raw)
    return found


async def update(
    backend: Backend,
    caller: Caller,
    class_name: str,
    object_id: str,
    body: Any,
    *,
    unit: Unit | None = None,
    context: dict[str, Any] | None = None,
    extra_columns: dict[str, Any] | None = None,
    after_write: Callable[[Unit, dict[str, Any], dict[str, Any]], Awaitable[None]] | None = None,
    expected: datetime | None = None,
) -> dict[str, Any]:
    """Update an object the caller may write; returns `{updatedAt, …}` with operation results and hook edits.
    With `expected` (protocol/conditional.py) only if its updatedAt is still that, else VERSION_CONFLICT."""

    async def work(u: Unit) -> dict[str, Any]:
        check_class_name(class_name, ErrorCode.INVALID_JSON)
        schema = await schema_for(backend, u, class_name)
        if schema is None:
            raise not_found()
        changes, acl, acl_given = parse_body(schema, body, creating=False, master=caller.master)
        steps.check_types(schema, changes)
        if any(key not in schema.fields for key in changes):
            # Fields the body introduces are added before the row is locked: an ALTER TABLE after our row lock waits
            # for every reader of the table, and a concurrent writer of the same row (its FOR UPDATE holds the table
            # while it waits for our row) made that a deadlock. The object must be the caller's to write first
            # (101 before addField's 119), checked without the lock, after the class's schema lock (SchemaCache.
            # lock_class): that read's share lock on the table would otherwise deadlock two such updates' ALTERs.
            await backend.schemas.lock_class(u.conn, schema.name)
            await _locked_original(backend, caller, schema, object_id, "update", u, lock=False)
            schema = await steps.ensure_fields(backend, caller, schema, changes, u, False)
        original_json = await _locked_original(backend, caller, schema, object_id, "update", u)
        steps.check_version(original_json, expected)
        original = ParseObject.from_json(class_name, original_json)
        if schema.name == "_Role":
            effects.check_role(changes, acl_given, creating=False)
        echoed: list[str] = [
            k for k, c in changes.items() if c.kind in ("inc", "add", "addu", "remove") or has_increment(c)
        ]
        req: hooks.SaveHook | None = None
        if backend.cloud.has("beforeSave", class_name):
            req = await hooks.before_save(
                backend, caller, schema, changes, original, acl if acl_given else hooks.NO_ACL, u, context
            )
            echoed += req.changed
            if req.acl is not hooks.NO_ACL:
                acl, acl_given = req.acl, True
        schema = await steps.ensure_fields(backend, caller, schema, changes, u, req is not None)
        values = {k: apply(c, original.attributes.get(k)) for k, c in changes.items() if c.kind != "relation"}
        steps.check_required(schema, values, creating=False)
        now = now_ms()
        params = Params()
        sets = [f'"updatedAt" = {params.add(now)}']
        if acl_given:
            rperm, wperm, acl_json = acl_mod.columns(acl)
            sets += [f'"_rperm" = {params.add(rperm)}', f'"_wperm" = {params.add(wperm)}']
            sets.append(f'"_acl" = {params.add(acl_json, "::jsonb")}')
        field_sets, returning = set_clause(schema, changes, params)
        sets += field_sets
        sets += [f"{q(col)} = {params.add(value)}" for col, value in (extra_columns or {}).items()]
        ret_cols = ", ".join(q(k) for k in returning) or "1"
        sql = (
            f'UPDATE {q(schema.name)} SET {", ".join(sets)} WHERE "objectId" = {params.add(object_id, "::text")} '
            f"RETURNING {ret_cols}"
        )
        try:
            row = await u.conn.fetchrow(sql, *params.values)
        except asyncpg.UniqueViolationError as exc:
            raise steps.unique_error(exc) from exc
        if row is None:
            raise not_found()
        for key in returning:
            values[key] = from_column(schema.fields[key], row[key])
        await write_relations(u.conn, schema, object_id, changes)
        await effects.after_update(backend, u, schema, object_id, original_json)
        response: dict[str, Any] = {"updatedAt": iso(now)}
        response.update(steps.encode_fields(values, sorted(set(echoed))))
        if after_write is not None:
            await after_write(u, values, response)
        saved = ParseObject(class_name, dict(original.attributes), object_id)
        for k, v in values.items():
            if v is None:
                saved.attributes.pop(k, None)
            else:
                saved.attributes[k] = v
        saved.created_at, saved.updated_at = original.created_at, now
        if req is not None:
            await req.saved(saved)
        hooks.after_save(backend, caller, class_name, saved, original, u, context)
        return response

    result: dict[str, Any] = await in_unit(backend, unit, work)
    return result


async def delete(
    backend: Backend,
    caller: Caller,
    class_name: str,
    object_id: str,
    *,
    unit: Unit | None = None,
    context: dict[str, Any] | None = None,
    expected: datetime | None = None,
) -> dict[str, Any]:
    async def work(u: Unit) -> dict[str, Any]:
        check_class_name(class_name, ErrorCode.INVALID_JSON)
        schema = await schema_for(backend, u, class_name)
        if schema is None:
            raise not_found()
        original_json = await _locked_original(backend, caller, schema, object_id, "delete", u)
        steps.check_version(original_json, expected)
        original = ParseObject.from_json(class_name, original_json)
        await hooks.before_delete(backend, caller, original, u, context)
        await u.conn.execute(f'DELETE FROM {q(schema.name)} WHERE "objectId" = $1', object_id)
        for key, f in schema.fields.items():
            if f.type == "Relation":
                await u.conn.execute(f'DELETE FROM {q(join_table(schema.name, key))} WHERE "owningId" = $1', object_id)
        await effects.after_delete(backend, u, schema, object_id, original_json)
        hooks.after_delete(backend, caller, original, u, context)
        return {}

    result: dict[str, Any] = await in_unit(backend, unit, work)
    return result
