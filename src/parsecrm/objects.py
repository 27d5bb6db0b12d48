"""find / get / count / create / update / delete: the one path every protocol takes to the data.

Order of checks on every call: class exists (or may be created) → class-level permission → hooks → one SQL
statement whose WHERE carries the ACL condition. Reads build their JSON inside PostgreSQL (query/project.py).
Writes run in a transaction (`Unit`), and hooks that must see committed data (afterSave, afterDelete) run after it.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from . import errors
from .backend import Backend
from .changes import Change, apply, check_type, column_value, implied_field, parse_body
from .cloud.objects import ParseObject
from .cloud.registry import Request
from .errors import ParseError
from .query.project import Shape, order_sql, parse_shape, row_json
from .query.sql import Context, Params
from .query.where import compile_where
from .security import acl as acl_mod
from .security import policy
from .security.caller import MASTER, Caller
from .security.sessions import notify as notify_auth
from .security.sessions import token_key
from .storage.schema import ClassSchema, Field, acl_index_fields, default_fields, join_table, q
from .values import check_class_name, iso, now_ms, parse_iso

ID_ALPHABET = string.ascii_letters + string.digits
FIND_PARAMS = {
    "where",
    "limit",
    "skip",
    "order",
    "count",
    "keys",
    "excludeKeys",
    "include",
    "includeAll",
    "redirectClassNameForKey",
    "readPreference",
    "includeReadPreference",
    "subqueryReadPreference",
    "hint",
    "explain",
    "comment",
}
GET_PARAMS = {"keys", "include", "excludeKeys", "readPreference", "includeReadPreference", "subqueryReadPreference"}


def new_id() -> str:
    """10 random characters of [A-Za-z0-9] (Parse's objectIdSize): 128 random bits reduced mod 62^10."""
    n = int.from_bytes(secrets.token_bytes(16), "big")
    chars = []
    for _ in range(10):
        n, i = divmod(n, 62)
        chars.append(ID_ALPHABET[i])
    return "".join(chars)


@dataclass
class Unit:
    """One transaction and the work to run once it commits (afterSave/afterDelete hooks, notifications).

    `schemas` holds class schemas this transaction created or extended: visible to its own later statements, and
    published to the process-wide cache only after commit (a rolled-back schema change must never be cached)."""

    conn: asyncpg.Connection
    after_commit: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    schemas: dict[str, ClassSchema] = field(default_factory=dict)
    deferred: list[tuple[Caller, str, dict[str, Any]]] = field(default_factory=list)  # see create_later

    def schema_changed(self, backend: Backend, schema: ClassSchema) -> ClassSchema:
        if not self.schemas:

            async def publish() -> None:
                backend.schemas.invalidate()

            self.after_commit.insert(0, publish)
        self.schemas[schema.name] = schema
        return schema


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


async def _schema(backend: Backend, unit: Unit, class_name: str) -> ClassSchema | None:
    return unit.schemas.get(class_name) or await backend.schemas.get(class_name)


# -- reads ------------------------------------------------------------------------------------------------------------


async def _class_for_read(backend: Backend, caller: Caller, class_name: str) -> ClassSchema | None:
    check_class_name(class_name, errors.INVALID_JSON)
    schema = await backend.schemas.get(class_name)
    if schema is None and not caller.master and not backend.settings.allow_client_class_creation:
        raise ParseError(
            errors.OPERATION_FORBIDDEN, f"This user is not allowed to access non-existent class: {class_name}"
        )
    return schema


def _int_param(name: str, value: Any, default: int) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, str):
        try:
            value = int(value)
        except ValueError as exc:
            raise ParseError(errors.INVALID_QUERY, f"{name} must be an integer") from exc
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ParseError(errors.INVALID_QUERY, f"{name} must be a non-negative integer")
    return value


def _where(value: Any) -> Any:
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise ParseError(errors.INVALID_JSON, "where parameter is not valid JSON") from exc
    if value is not None and not isinstance(value, dict):
        raise ParseError(errors.INVALID_JSON, "where parameter must be a JSON object")
    return value


def _truthy(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True")


async def find(
    backend: Backend,
    caller: Caller,
    class_name: str,
    params: dict[str, Any],
    *,
    op: str = "find",
    conn: asyncpg.Connection | None = None,
) -> bytes:
    """A find as the response body bytes: `{"results":[…]}` (+ `"count"`)."""
    for key in params:
        if key not in FIND_PARAMS:
            raise ParseError(errors.INVALID_QUERY, f"Invalid parameter for query: {str(key)[:40]}")
    redirect = params.get("redirectClassNameForKey")
    target = await _redirect_class(backend, class_name, redirect) if isinstance(redirect, str) else None
    if target:  # relation.query() on an owner whose relation's target class the SDK does not know yet
        params = {k: v for k, v in params.items() if k != "redirectClassNameForKey"}
        class_name = target
    rows, count = await _run_find(backend, caller, class_name, params, op=op, conn=conn)
    body = b'{"results":[' + b",".join(rows) + b"]"
    if count is not None:
        body += b',"count":' + str(count).encode()
    if target:
        body += b',"className":' + orjson.dumps(target)
    return body + b"}"


async def _redirect_class(backend: Backend, class_name: str, key: str) -> str | None:
    schema = await backend.schemas.get(class_name)
    f = schema.fields.get(key) if schema else None
    return f.target if f is not None and f.type == "Relation" else None


async def _run_find(
    backend: Backend,
    caller: Caller,
    class_name: str,
    params: dict[str, Any],
    *,
    op: str,
    conn: asyncpg.Connection | None,
) -> tuple[list[bytes], int | None]:
    schema = await _class_for_read(backend, caller, class_name)
    limit = _int_param("limit", params.get("limit"), 100)
    skip = _int_param("skip", params.get("skip"), 0)
    limit = min(limit, backend.settings.max_limit) if not caller.master else limit
    want_count = _truthy(params.get("count"))
    if schema is None:  # nothing to find, but a malformed query is still an error
        empty = ClassSchema(class_name, default_fields(class_name))
        compile_where(_where(params.get("where")), empty, "t", Context({}, policy.read_filter(MASTER)))
        return [], (0 if want_count else None)
    if backend.cloud.has("beforeFind", class_name):
        query = {k: v for k, v in params.items()}
        query["where"] = _where(params.get("where")) or {}
        req = Request("beforeFind", caller, query=query, backend=backend)
        await backend.cloud.run("beforeFind", class_name, req)
        params = req.query or params
    schemas = await backend.schemas.all()
    ctx = Context(schemas, policy.read_filter(caller), protected=policy.protected_for(caller))
    alias = "t"
    where = _where(params.get("where"))
    # Callers without roles (a rep) read a sliver of the class: the ACL-scoped index finds exactly their rows.
    # A role usually grants much (Managers read everything): then the plain plan, an ordered index scan whose
    # first rows already pass the ACL, is the fast one, so no scope.
    scope = _scope(schema, where) if not caller.can_read_all and not caller.roles else None
    security = ctx.read_filter(schema, alias, "count" if (want_count and limit == 0) else op, ctx.params, scope)
    if scope is not None:  # the scoped read rule already means `field = value`; repeating it misleads the planner
        where = {k: v for k, v in where.items() if k != scope[0]}
    cond = compile_where(where, schema, alias, ctx)
    if security:
        cond = f"{cond} AND {security}" if cond != "TRUE" else security
    cond = ctx.params.pin_unused(cond)
    include = params.get("include")
    if _truthy(params.get("includeAll")):
        include = "*"
    shape = parse_shape(params.get("keys"), params.get("excludeKeys"), include)
    table = q(schema.name)
    db = conn or backend.pool
    count: int | None = None
    rows: list[bytes] = []
    if want_count:
        count = await db.fetchval(f"SELECT count(*) FROM {table} {alias} WHERE {cond}", *ctx.params.values)
    if limit > 0 and count != 0:
        count_params = len(ctx.params.values)
        select = row_json(schema, alias, shape, ctx, policy.hidden_fields(caller))
        order = order_sql(params.get("order"), schema, alias, ctx.protected(schema), ctx.score)
        lim = ctx.params.add(limit, "::bigint")
        off = ctx.params.add(skip, "::bigint")
        sql = f"SELECT {select} FROM {table} {alias} WHERE {cond}{order} LIMIT {lim} OFFSET {off}"
        if _truthy(params.get("explain")):
            if not caller.master:
                raise ParseError(errors.OPERATION_FORBIDDEN, "explain requires the master key")
            plan = await db.fetch("EXPLAIN " + sql, *ctx.params.values)
            return [orjson.dumps({"QUERY PLAN": "\n".join(r[0] for r in plan)})], count
        del count_params
        records = await db.fetch(sql, *ctx.params.values)
        rows = [r[0].encode() for r in records]
    if backend.cloud.has("afterFind", class_name) and rows:
        objects = [ParseObject.from_json(class_name, orjson.loads(r)) for r in rows]
        req = Request("afterFind", caller, objects=objects, query=params, backend=backend)
        await backend.cloud.run("afterFind", class_name, req)
        rows = [orjson.dumps(_object_json(o)) for o in (req.objects or [])]
    return rows, count


def _scope(schema: ClassSchema, where: Any) -> tuple[str, str] | None:
    """A top-level `field = "text"` the read rule can fold into an ACL-scoped index lookup (see policy)."""
    if not isinstance(where, dict):
        return None
    for name in acl_index_fields(schema):
        value = where.get(name)
        if isinstance(value, dict) and set(value) == {"$eq"}:
            value = value["$eq"]
        if isinstance(value, str) and schema.fields[name].type == "String":
            return name, value
    return None


def _object_json(obj: ParseObject) -> dict[str, Any]:
    out = obj.to_json()
    out.pop("className", None)
    if obj.created_at:
        out["createdAt"] = iso(obj.created_at)
    if obj.updated_at:
        out["updatedAt"] = iso(obj.updated_at)
    return out


async def get(
    backend: Backend,
    caller: Caller,
    class_name: str,
    object_id: str,
    params: dict[str, Any],
    conn: asyncpg.Connection | None = None,
) -> bytes:
    for key in params:
        if key not in GET_PARAMS:
            raise ParseError(errors.INVALID_QUERY, "Improper encode of parameter")
    query = {k: v for k, v in params.items() if k in ("keys", "include", "excludeKeys")}
    query["where"] = {"objectId": object_id}
    query["limit"] = 1
    rows, _ = await _run_find(backend, caller, class_name, query, op="get", conn=conn)
    if not rows:
        raise errors.not_found()
    return rows[0]


async def query(
    backend: Backend, caller: Caller, class_name: str, params: dict[str, Any], *, unit: Unit | None = None
) -> list[dict[str, Any]]:
    """A find for Cloud Code and internal callers: decoded Parse JSON objects, same permissions as REST.
    Hooks pass `unit=req.unit`: the query then sees the write's own transaction and needs no second connection."""
    rows, _ = await _run_find(backend, caller, class_name, params, op="find", conn=unit.conn if unit else None)
    return [orjson.loads(r) for r in rows]


async def fetch_one(
    backend: Backend, caller: Caller, class_name: str, object_id: str, *, conn: asyncpg.Connection | None = None
) -> dict[str, Any] | None:
    """One object or None. Hooks pass their write's `conn` so they see what the same transaction wrote before."""
    rows, _ = await _run_find(
        backend, caller, class_name, {"where": {"objectId": object_id}, "limit": 1}, op="get", conn=conn
    )
    return orjson.loads(rows[0]) if rows else None


# -- writes -----------------------------------------------------------------------------------------------------------


async def in_unit(backend: Backend, unit: Unit | None, work: Callable[[Unit], Awaitable[Any]]) -> Any:
    """Run `work` inside `unit`, or inside a fresh transaction whose after-commit work runs once it commits."""
    if unit is not None:
        return await work(unit)
    async with backend.pool.acquire() as conn:
        fresh = Unit(conn)
        async with conn.transaction():
            result = await work(fresh)
            await flush_deferred(backend, fresh)
    for job in fresh.after_commit:
        await job()
    return result


async def _class_for_write(backend: Backend, caller: Caller, class_name: str, unit: Unit) -> ClassSchema:
    check_class_name(class_name, errors.INVALID_JSON)
    schema = await _schema(backend, unit, class_name)
    if schema is not None:
        return schema
    if caller.read_only:
        raise ParseError(errors.OPERATION_FORBIDDEN, "read-only master key cannot write")
    if not caller.master and not backend.settings.allow_client_class_creation:
        raise ParseError(
            errors.OPERATION_FORBIDDEN, f"This user is not allowed to access non-existent class: {class_name}"
        )
    return unit.schema_changed(backend, await backend.schemas.ensure_class(class_name, conn=unit.conn))


async def _ensure_fields(
    backend: Backend, caller: Caller, schema: ClassSchema, changes: dict[str, Change], unit: Unit
) -> ClassSchema:
    """Type-check every change; add the fields a save introduces (if the addField permission allows)."""
    missing: dict[str, Field] = {}
    for key, change in changes.items():
        f = schema.fields.get(key)
        if f is not None:
            check_type(schema, key, f, change)
            continue
        implied = implied_field(change)
        if implied is not None:
            missing[key] = implied
    if not missing:
        return schema
    policy.check_class(schema, caller, "addField")
    return unit.schema_changed(backend, await backend.schemas.add_fields(unit.conn, schema.name, missing))


def _check_required(schema: ClassSchema, values: dict[str, Any], creating: bool) -> None:
    for name, f in schema.fields.items():
        if not f.required or name in ("objectId", "createdAt", "updatedAt"):
            continue
        if creating and values.get(name) is None:
            raise ParseError(errors.VALIDATION_ERROR, f"{name} is required")
        if not creating and name in values and values[name] is None:
            raise ParseError(errors.VALIDATION_ERROR, f"{name} is required")


def _hook_changes(obj: ParseObject, changes: dict[str, Change], before: dict[str, Any]) -> list[str]:
    """Fold a beforeSave hook's edits back into `changes`; return the keys it changed (echoed to the client)."""
    changed = []
    for key in obj.dirty_keys:
        value = obj.attributes.get(key)
        if before.get(key, _MISSING) != value or key in obj._unset:
            changes[key] = Change("set", None if key in obj._unset else value)
            changed.append(key)
    return changed


_MISSING = object()


def _encode_fields(values: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    from .values import encode

    return {k: encode(values.get(k)) if values.get(k) is not None else {"__op": "Delete"} for k in keys}


@dataclass
class _NewRow:
    """A validated, hook-processed object ready to insert (create and create_many share this)."""

    schema: ClassSchema
    cols: tuple[str, ...]
    args: list[Any]
    changes: dict[str, Change]
    response: dict[str, Any]
    saved: ParseObject
    req: Request | None


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
    schema = await _class_for_write(backend, caller, class_name, u)
    policy.check_class(schema, caller, "create")
    if schema.name in ("_Session",) and not caller.master:
        raise ParseError(errors.OPERATION_FORBIDDEN, "Clients cannot create sessions directly.")
    changes, acl, acl_given = parse_body(schema, body, creating=True, master=caller.master)
    echoed: list[str] = []
    for name, f in schema.fields.items():
        if f.default is not None and name not in changes:
            changes[name] = Change("set", _decode_default(f.default))
            echoed.append(name)  # the client did not send it, so it learns the value from the response
    oid = object_id or new_id()
    req: Request | None = None
    if backend.cloud.has("beforeSave", class_name):
        values = {k: apply(c, None) for k, c in changes.items() if c.kind != "relation"}
        obj = ParseObject(class_name, {k: v for k, v in values.items() if v is not None})
        if acl_given:
            obj.attributes["ACL"] = acl
        before = dict(obj.attributes)
        req = Request("beforeSave", caller, object=obj, context=context or {}, backend=backend, unit=u)
        await backend.cloud.run("beforeSave", class_name, req)
        if "ACL" in obj.dirty_keys:
            acl, acl_given = obj.attributes.get("ACL"), True
            obj._dirty.discard("ACL")
        echoed += _hook_changes(obj, changes, before)
    if schema.name == "_Role":
        _check_role(changes, acl_given, creating=True)
    schema = await _ensure_fields(backend, caller, schema, changes, u)
    values = {k: apply(c, None) for k, c in changes.items() if c.kind != "relation"}
    _check_required(schema, values, creating=True)
    rperm, wperm, acl_json = acl_mod.columns(acl if acl_given else None)
    now = now_ms()
    cols = ['"objectId"', '"createdAt"', '"updatedAt"', '"_rperm"', '"_wperm"', '"_acl"']
    args: list[Any] = [oid, now, now, rperm, wperm, acl_json]
    column_fields = set(schema.column_fields())
    for key, value in values.items():
        f = schema.fields.get(key)
        if f is None or value is None or key not in column_fields:
            continue
        cols.append(q(key))
        args.append(column_value(f, value))
    for col, value in (extra_columns or {}).items():
        cols.append(q(col))
        args.append(value)
    response: dict[str, Any] = {"objectId": oid, "createdAt": iso(now)}
    response.update(_encode_fields(values, sorted(set(echoed))))
    saved = ParseObject(class_name, {k: v for k, v in values.items() if v is not None}, oid)
    saved.created_at = saved.updated_at = now
    return _NewRow(schema, tuple(cols), args, changes, response, saved, req)


async def _insert(conn: asyncpg.Connection, rows: list[_NewRow]) -> None:
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
        raise unique_error(exc) from exc


async def _finish_create(
    backend: Backend, caller: Caller, row: _NewRow, u: Unit, context: dict[str, Any] | None
) -> dict[str, Any]:
    await _write_relations(u.conn, row.schema, row.saved.id or "", row.changes)
    if row.schema.name == "_Role":
        await auth_changed(backend, u, "roles")
    for fn in row.req.in_transaction if row.req else ():
        await fn(row.saved)
    if backend.cloud.has("afterSave", row.schema.name):
        u.after_commit.append(_after(backend, "afterSave", row.schema.name, caller, row.saved, None, context))
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

    return await in_unit(backend, unit, work)


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

    return await in_unit(backend, unit, work)


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


def _decode_default(value: Any) -> Any:
    from .values import decode

    return decode(value)


def _after(
    backend: Backend,
    trigger: str,
    class_name: str,
    caller: Caller,
    obj: ParseObject,
    original: ParseObject | None,
    context: dict[str, Any] | None,
) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        req = Request(trigger, caller, object=obj, original=original, context=context or {}, backend=backend)
        try:
            await backend.cloud.run(trigger, class_name, req)
        except ParseError:
            if trigger == "afterDelete":
                raise
            # afterSave errors are logged only, as in parse-server (the save already happened)

    return run


def _check_role(changes: dict[str, Change], acl_given: bool, creating: bool) -> None:
    if creating and not acl_given:
        raise ParseError(errors.INCORRECT_TYPE, "ACL is required.")
    name = changes.get("name")
    if creating and (name is None or not isinstance(name.value, str)):
        raise ParseError(errors.INVALID_ROLE_NAME, "Role names must be strings.")
    if name is not None and not creating:
        raise ParseError(errors.INVALID_ROLE_NAME, "A role's name can only be set before it has been saved.")
    if name is not None:
        import re

        if not re.match(r"^[0-9A-Za-z\-_ ]+$", name.value or ""):
            raise ParseError(
                errors.INVALID_ROLE_NAME,
                "A role's name can be only contain alphanumeric characters, _, -, and spaces.",
            )


async def _write_relations(
    conn: asyncpg.Connection, schema: ClassSchema, owner: str, changes: dict[str, Change]
) -> None:
    for key, change in changes.items():
        if change.kind != "relation":
            continue
        f = schema.fields.get(key)
        if f is None or f.type != "Relation":
            continue
        table = q(join_table(schema.name, key))
        for p in change.adds + change.removes:
            if p.class_name != f.target:
                raise ParseError(errors.INCORRECT_TYPE, f"schema mismatch for {schema.name}.{key}")
        if change.adds:
            await conn.execute(
                f'INSERT INTO {table} ("owningId", "relatedId") SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING',
                owner,
                [p.object_id for p in change.adds],
            )
        if change.removes:
            await conn.execute(
                f'DELETE FROM {table} WHERE "owningId" = $1 AND "relatedId" = ANY($2::text[])',
                owner,
                [p.object_id for p in change.removes],
            )


def stale() -> ParseError:
    return ParseError(errors.VERSION_CONFLICT, "The object was changed since the version this write is based on.")


def unique_error(exc: asyncpg.UniqueViolationError) -> ParseError:
    name = exc.constraint_name or ""
    if name == "_User_unique_username":
        return ParseError(errors.USERNAME_TAKEN, "Account already exists for this username.")
    if name == "_User_unique_email":
        return ParseError(errors.EMAIL_TAKEN, "Account already exists for this email address.")
    return ParseError(errors.DUPLICATE_VALUE, "A duplicate value for a field with unique values was provided")


async def _locked_original(
    backend: Backend, caller: Caller, schema: ClassSchema, object_id: str, op: str, u: Unit
) -> dict[str, Any]:
    """The row as JSON, locked FOR UPDATE, if the caller may write it; else 101."""
    params = Params()
    ctx = Context(await backend.schemas.all(), policy.read_filter(MASTER), params)
    security = policy.write_filter(schema, "t", caller, op, params)
    select = row_json(schema, "t", Shape(), ctx, lambda *_: {})
    cond = f'"objectId" = {params.add(object_id, "::text")}'
    if security:
        cond += f" AND {security}"
    raw = await u.conn.fetchval(f"SELECT {select} FROM {q(schema.name)} t WHERE {cond} FOR UPDATE", *params.values)
    if raw is None:
        raise errors.not_found()
    return orjson.loads(raw)


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
        check_class_name(class_name, errors.INVALID_JSON)
        schema = await _schema(backend, u, class_name)
        if schema is None:
            raise errors.not_found()
        changes, acl, acl_given = parse_body(schema, body, creating=False, master=caller.master)
        original_json = await _locked_original(backend, caller, schema, object_id, "update", u)
        original = ParseObject.from_json(class_name, original_json)
        if schema.name == "_Role":
            _check_role(changes, acl_given, creating=False)
        echoed: list[str] = [k for k, c in changes.items() if c.kind in ("inc", "add", "addu", "remove")]
        req: Request | None = None
        if backend.cloud.has("beforeSave", class_name):
            merged = dict(original.attributes)
            for k, c in changes.items():
                if c.kind != "relation":
                    merged[k] = apply(c, original.attributes.get(k))
            obj = ParseObject(class_name, {k: v for k, v in merged.items() if v is not None}, object_id)
            obj.created_at = original.created_at
            before = dict(obj.attributes)
            req = Request(
                "beforeSave", caller, object=obj, original=original, context=context or {}, backend=backend, unit=u
            )
            await backend.cloud.run("beforeSave", class_name, req)
            if "ACL" in obj.dirty_keys:
                acl, acl_given = obj.attributes.get("ACL"), True
                obj._dirty.discard("ACL")
            echoed += _hook_changes(obj, changes, before)
            for k, c in list(changes.items()):
                if c.kind in ("inc", "add", "addu", "remove"):
                    changes[k] = Change("set", merged[k])
        schema = await _ensure_fields(backend, caller, schema, changes, u)
        values = {k: apply(c, original.attributes.get(k)) for k, c in changes.items() if c.kind != "relation"}
        _check_required(schema, values, creating=False)
        now = now_ms()
        params = Params()
        sets = [f'"updatedAt" = {params.add(now)}']
        if acl_given:
            rperm, wperm, acl_json = acl_mod.columns(acl)
            sets += [
                f'"_rperm" = {params.add(rperm)}',
                f'"_wperm" = {params.add(wperm)}',
                f'"_acl" = {params.add(acl_json, "::jsonb")}',
            ]
        returning = []
        column_fields = set(schema.column_fields())
        for key, change in changes.items():
            f = schema.fields.get(key)
            if f is None or key not in column_fields or change.kind == "relation":
                continue
            col = q(key)
            if change.kind == "set":
                sets.append(f"{col} = {params.add(column_value(f, change.value))}")
                continue
            if change.kind == "path":
                sets.append(f"{col} = {_path_sql(col, change.value, params)}")
                continue
            returning.append(key)
            if change.kind == "inc":
                sets.append(f"{col} = coalesce({col}, 0) + {params.add(float(change.value), '::float8')}")
            elif change.kind == "add":
                sets.append(
                    f"{col} = coalesce({col}, '[]'::jsonb) || {params.add(column_value(f, change.value), '::jsonb')}"
                )
            elif change.kind == "addu":
                new = params.add(column_value(f, _dedupe(change.value)), "::jsonb")
                sets.append(
                    f"{col} = coalesce({col}, '[]'::jsonb) || coalesce((SELECT jsonb_agg(e ORDER BY i) FROM "
                    f"jsonb_array_elements({new}) WITH ORDINALITY x(e, i) WHERE NOT coalesce({col}, '[]'::jsonb) "
                    f"@> jsonb_build_array(e)), '[]'::jsonb)"
                )
            elif change.kind == "remove":
                gone = params.add(column_value(f, change.value), "::jsonb")
                sets.append(
                    f"{col} = coalesce((SELECT jsonb_agg(e ORDER BY i) FROM jsonb_array_elements(coalesce({col}, "
                    f"'[]'::jsonb)) WITH ORDINALITY x(e, i) WHERE NOT (e IN (SELECT jsonb_array_elements({gone})))),"
                    f" '[]'::jsonb)"
                )
        for col_name, value in (extra_columns or {}).items():
            sets.append(f"{q(col_name)} = {params.add(value)}")
        ret_cols = ", ".join(q(k) for k in returning) or "1"
        cond = f'"objectId" = {params.add(object_id, "::text")}'
        if expected is not None:  # in the UPDATE itself: the version check and the write are one statement
            cond += f' AND "updatedAt" = {params.add(expected, "::timestamptz")}'
        sql = f'UPDATE {q(schema.name)} SET {", ".join(sets)} WHERE {cond} RETURNING {ret_cols}'
        try:
            row = await u.conn.fetchrow(sql, *params.values)
        except asyncpg.UniqueViolationError as exc:
            raise unique_error(exc) from exc
        if row is None:
            raise stale() if expected is not None else errors.not_found()
        for key in returning:
            values[key] = _from_column(schema.fields[key], row[key])
        await _write_relations(u.conn, schema, object_id, changes)
        if schema.name == "_Role":
            await auth_changed(backend, u, "roles")
        elif schema.name == "_User":
            await auth_changed(backend, u, "u:" + object_id)
        elif schema.name == "_Session":
            await _session_changed(backend, u, original_json)
        response: dict[str, Any] = {"updatedAt": iso(now)}
        response.update(_encode_fields(values, sorted(set(echoed))))
        if after_write is not None:
            await after_write(u, values, response)
        saved = ParseObject(class_name, dict(original.attributes), object_id)
        for k, v in values.items():
            if v is None:
                saved.attributes.pop(k, None)
            else:
                saved.attributes[k] = v
        saved.created_at, saved.updated_at = original.created_at, now
        for fn in req.in_transaction if req else ():
            await fn(saved)
        if backend.cloud.has("afterSave", class_name):
            u.after_commit.append(_after(backend, "afterSave", class_name, caller, saved, original, context))
        return response

    return await in_unit(backend, unit, work)


def _path_sql(col: str, edits: list[tuple[tuple[str, ...], Any, bool]], params: Params) -> str:
    """Sub-key edits of an Object column as nested jsonb_set / #- calls (intermediate objects created)."""
    from .values import encode

    expr = f"coalesce({col}, '{{}}'::jsonb)"
    for path, value, delete in edits:
        if delete:
            expr = f"({expr} #- {params.add(list(path), '::text[]')})"
            continue
        for depth in range(1, len(path)):  # make sure every intermediate key holds an object
            prefix = params.add(list(path[:depth]), "::text[]")
            current = f"({expr} #> {prefix})"
            ensured = f"CASE WHEN jsonb_typeof({current}) = 'object' THEN {current} ELSE '{{}}'::jsonb END"
            expr = f"jsonb_set({expr}, {prefix}, {ensured}, true)"
        expr = f"jsonb_set({expr}, {params.add(list(path), '::text[]')}, {params.add(encode(value), '::jsonb')}, true)"
    return expr


def _dedupe(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if v not in out:
            out.append(v)
    return out


def _from_column(f: Field, value: Any) -> Any:
    from .values import decode

    if value is None:
        return None
    if f.type in ("Object", "Array"):
        return decode(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


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
        check_class_name(class_name, errors.INVALID_JSON)
        schema = await _schema(backend, u, class_name)
        if schema is None:
            raise errors.not_found()
        original_json = await _locked_original(backend, caller, schema, object_id, "delete", u)
        if expected is not None and parse_iso(original_json.get("updatedAt")) != expected:
            raise stale()  # the row is locked FOR UPDATE above, so it cannot change before the DELETE
        original = ParseObject.from_json(class_name, original_json)
        if backend.cloud.has("beforeDelete", class_name):
            req = Request("beforeDelete", caller, object=original, context=context or {}, backend=backend, unit=u)
            await backend.cloud.run("beforeDelete", class_name, req)
        await u.conn.execute(f'DELETE FROM {q(schema.name)} WHERE "objectId" = $1', object_id)
        for key, f in schema.fields.items():
            if f.type == "Relation":
                await u.conn.execute(f'DELETE FROM {q(join_table(schema.name, key))} WHERE "owningId" = $1', object_id)
        if schema.name == "_Session":
            await _session_changed(backend, u, original_json)
        elif schema.name == "_User":
            await u.conn.execute('DELETE FROM "_Session" WHERE "user" = $1', object_id)
            await auth_changed(backend, u, "u:" + object_id)
        elif schema.name == "_Role":
            await auth_changed(backend, u, "roles")
        if backend.cloud.has("afterDelete", class_name):
            u.after_commit.append(_after(backend, "afterDelete", class_name, caller, original, None, context))
        return {}

    return await in_unit(backend, unit, work)
