"""`crm export` / `crm import`: all CRM data in and out, objectIds, timestamps, pointers and ACLs preserved.

Export writes one file per class in Parse's export shape, `{"results": [...]}` of REST-format objects (built by the
same SQL that answers finds, as the master key sees them), plus `_Join:<field>:<Class>` files of `{owningId,
relatedId}` for relations (role members), as parse.com and Back4app exports do. `--format csv` writes the same data
as one CSV per class: pointers as objectId columns (a Contact-or-Deal pointer as `Class$objectId`), dates ISO,
objects/arrays/ACL as JSON text. Password hashes leave only with `--with-password-hashes`.

Import is an upsert by objectId in one transaction (all or nothing), so running it twice changes nothing. Rows go in
directly, as the master key would write them but without hooks: an export already holds what the hooks produced
(createdBy, ACLs, stage history), and re-running them would re-stamp it. Every value is still type-checked against
the class schema; fields the schema lacks are added as a master save would. Accepted input: this tool's JSON or
CSV, a Parse/Back4app dashboard export (`{"results": [...]}`, a bare array or `{"rows": [...]}`), and raw MongoDB
documents of a parse-server database (`_id`, `_p_<field>` pointers, `_created_at`, `_rperm`/`_wperm`/`_acl`,
`_hashed_password`, extended JSON such as `{"$date": ...}`), as one JSON document or JSON lines.

Roles: the CRM creates its roles (Admins, Managers) at start-up, so an imported role whose name exists under another
objectId takes over that row (its relations move to the imported id). A user whose username or e-mail exists under
another objectId stops the import: merging two accounts is not something to guess.
"""

from __future__ import annotations

import csv
import math
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import orjson

from .. import errors
from ..auth.passwords import hash_password
from ..backend import Backend
from ..changes import check_type, column_value, implied_field, parse_body
from ..errors import ParseError
from ..query.project import Shape, row_json
from ..query.sql import Context
from ..security import acl as acl_mod
from ..security.policy import Policy
from ..security.sessions import notify as notify_auth
from ..storage.model import ClassSchema, Field, join_table, q
from ..storage.pool import Connection
from ..values import Pointer, iso, parse_iso
from .transfer_formats import (
    HASH,
    ejson,
    find_source,
    from_csv,
    from_mongo,
    is_mongo,
    iter_csv_rows,
    iter_json_rows,
)

CLASSES = ("_User", "_Role", "Company", "Contact", "Deal", "Activity", "DealStageChange")
FORMATS = ("json", "csv")
# Back4app's exporter writes the colons of join-file names as U+A789 (a colon look-alike file systems accept).
BASE_COLUMNS = ["objectId", "createdAt", "updatedAt", "_rperm", "_wperm", "_acl"]
JOIN_COLUMNS = ["owningId", "relatedId"]


def _jsonb_out(value: Any) -> bytes:
    return b"\x01" + orjson.dumps(value)  # jsonb's binary form: a version byte, then the text


def _jsonb_in(data: bytes) -> Any:
    return orjson.loads(data[1:])


@asynccontextmanager
async def bulk_connection(backend: Backend) -> AsyncIterator[asyncpg.Connection]:
    """A connection of its own for COPY. It reads and writes jsonb as Python values like the pool's connections (so
    the schema code can run on it), but in jsonb's binary form, which binary COPY needs and the pool's codec lacks.
    Keeps bulk-load session state off pooled connections."""
    conn = await asyncpg.connect(backend.dsn, server_settings={"application_name": "parsecrm-bulk", "jit": "off"})
    try:
        await conn.set_type_codec("jsonb", encoder=_jsonb_out, decoder=_jsonb_in, schema="pg_catalog", format="binary")
        yield conn
    finally:
        await conn.close()


# -- export -------------------------------------------------------------------------------------------------------


async def export_data(
    backend: Backend, directory: Path, fmt: str = "json", *, with_hashes: bool = False
) -> dict[str, int]:
    """Write every CRM class (and its relations) to `directory`; returns rows written per file."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    directory.mkdir(parents=True, exist_ok=True)
    schemas = await backend.schemas.all()
    counts: dict[str, int] = {}
    async with backend.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        # one snapshot for all files: pointers between them stay consistent under concurrent writes
        for cls in CLASSES:
            schema = schemas.get(cls)
            if schema is None:
                continue
            hashes = with_hashes and cls == "_User"
            path = directory / f"{cls}.{fmt}"
            if fmt == "json":
                counts[cls] = await _export_json(conn, schemas, schema, path, hashes)
            else:
                counts[cls] = await _export_csv(conn, schema, path, hashes)
            for name, f in schema.fields.items():
                if f.type == "Relation":
                    table = join_table(cls, name)
                    counts[table] = await _export_join(conn, table, directory / f"{table}.{fmt}", fmt)
    return counts


async def _export_json(
    conn: Connection, schemas: dict[str, ClassSchema], schema: ClassSchema, path: Path, hashes: bool
) -> int:
    ctx = Context(schemas, Policy.MASTER)  # an export is everything, as the master key sees it
    select = row_json(schema, "t", Shape(), ctx)
    extra = f', t."{HASH}"' if hashes else ""
    sql = f'SELECT {select}{extra} FROM {q(schema.name)} t ORDER BY t."objectId"'
    n = 0
    with path.open("wb") as fh:
        fh.write(b'{"results":[')
        async for record in conn.cursor(sql, *ctx.params.values, prefetch=2000):
            text = record[0].encode()
            if hashes and record[1] is not None:
                text = text[:-1] + b',"' + HASH.encode() + b'":' + orjson.dumps(record[1]) + b"}"
            fh.write((b"\n" if n == 0 else b",\n") + text)
            n += 1
        fh.write(b"\n]}\n")
    return n


def _csv_fields(schema: ClassSchema) -> list[str]:
    return [k for k in schema.column_fields() if k not in ("objectId", "createdAt", "updatedAt")]


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    return str(value)


async def _export_csv(conn: Connection, schema: ClassSchema, path: Path, hashes: bool) -> int:
    fields = _csv_fields(schema)
    header = ["objectId", "createdAt", "updatedAt", *fields, "ACL"] + ([HASH] if hashes else [])
    columns = ["objectId", "createdAt", "updatedAt", *fields, "_acl"] + ([HASH] if hashes else [])
    sql = f'SELECT {", ".join(q(c) for c in columns)} FROM {q(schema.name)} ORDER BY "objectId"'
    n = 0
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(header)
        async for record in conn.cursor(sql, prefetch=2000):
            out.writerow([_csv_cell(v) for v in record])
            n += 1
    return n


async def _export_join(conn: Connection, table: str, path: Path, fmt: str) -> int:
    rows = await conn.fetch(f'SELECT "owningId", "relatedId" FROM {q(table)} ORDER BY 1, 2')
    if fmt == "json":
        path.write_bytes(orjson.dumps({"results": [dict(r) for r in rows]}) + b"\n")
    else:
        with path.open("w", newline="", encoding="utf-8") as fh:
            out = csv.writer(fh)
            out.writerow(JOIN_COLUMNS)
            out.writerows([r["owningId"], r["relatedId"]] for r in rows)
    return len(rows)


# -- import -------------------------------------------------------------------------------------------------------


@dataclass
class _Row:
    object_id: str
    created: datetime
    updated: datetime
    perms: tuple[list[str], list[str], dict[str, Any] | None]  # _rperm, _wperm, _acl
    values: dict[str, Any]  # decoded (Pointer, datetime, …), one per field that has a value
    hashed: str | None = None
    password: str | None = None


_GENERAL = object()


def _plain(f: Field, raw: Any) -> Any:
    """The decoded value of a JSON value that plainly fits field `f` (most of an export), else _GENERAL: the
    general path (`parse_body` + `check_type`) then decodes it or reports the mismatch as a save would."""
    kind, t = f.type, type(raw)
    if kind == "String":
        return raw if t is str else _GENERAL
    if kind == "Number":
        return raw if t is int or (t is float and math.isfinite(raw)) else _GENERAL
    if kind == "Boolean":
        return raw if t is bool else _GENERAL
    if t is dict and kind == "Date" and raw.get("__type") == "Date" and isinstance(raw.get("iso"), str):
        return parse_iso(raw["iso"])
    if t is dict and kind == "Pointer" and raw.get("__type") == "Pointer":
        cls, oid = raw.get("className"), raw.get("objectId")
        if isinstance(cls, str) and isinstance(oid, str) and (cls == f.target or cls in f.targets):
            return Pointer(cls, oid)
    return _GENERAL


def _when(value: Any, key: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, dict) and value.get("__type") == "Date":
        value = value.get("iso")
    try:
        return parse_iso(value)
    except ParseError as exc:
        raise ParseError(errors.INCORRECT_TYPE, f"{key} is not a date: {str(value)[:40]}") from exc


def _to_row(schema: ClassSchema, obj: Any, new_fields: dict[str, Field], now: datetime) -> _Row:
    """One object → a typed row; fields missing from the schema are collected in `new_fields`."""
    if not isinstance(obj, dict):
        raise ParseError(errors.INVALID_JSON, "each object must be a JSON object")
    obj = from_mongo(obj) if is_mongo(obj) else dict(obj)
    object_id = obj.pop("objectId", None)
    if not isinstance(object_id, str) or not object_id:
        raise ParseError(errors.MISSING_OBJECT_ID, "an object without objectId")
    try:
        created = _when(obj.pop("createdAt", None), "createdAt") or now
        updated = _when(obj.pop("updatedAt", None), "updatedAt") or created
        acl = obj.pop("ACL", None)
        hashed = obj.pop(HASH, None) or obj.pop("bcryptPassword", None)
        password = obj.pop("password", None) if schema.name == "_User" else None
        values: dict[str, Any] = {}
        general: dict[str, Any] = {}
        for key, raw in obj.items():
            if key.startswith("_") or key in ("className", "__type", "sessionToken", "bcryptPassword") or raw is None:
                continue
            if isinstance(raw, dict) and raw.get("__type") == "Relation":
                continue  # relations travel in _Join files
            f = schema.fields.get(key)
            value = _plain(f, raw) if f is not None else _GENERAL
            if value is _GENERAL:
                general[key] = raw
            else:
                values[key] = value
        changes, _acl, _given = parse_body(schema, general, creating=True, master=True)
        for key, change in changes.items():
            if change.kind != "set":
                raise ParseError(errors.INVALID_JSON, f"{key} holds an operation; an import needs plain values")
            if change.value is None:
                continue
            f = schema.fields.get(key) or new_fields.get(key)
            if f is None:
                implied = implied_field(change)
                if implied is None:
                    continue
                new_fields[key] = f = implied
            check_type(schema, key, f, change)
            values[key] = change.value
        perms = acl_mod.columns(acl)  # validates it
    except ParseError as exc:
        raise ParseError(exc.code, f"{schema.name} {object_id}: {exc.message}") from exc
    return _Row(object_id, created, updated, perms, values, hashed if isinstance(hashed, str) else None, password)


async def import_data(backend: Backend, directory: Path) -> dict[str, int]:
    """Upsert every class file (and join file) found in `directory`; returns rows per class."""
    counts: dict[str, int] = {}
    async with bulk_connection(backend) as conn, conn.transaction():
        await conn.execute("SET LOCAL parsecrm.live_capture = off")  # a bulk load: no live-query events
        for cls in CLASSES:
            path = find_source(directory, cls)
            if path is not None:
                counts[cls] = await _import_class(backend, conn, cls, path)
        schemas = await backend.schemas.all()
        for cls in CLASSES:
            schema = schemas.get(cls)
            for name, f in (schema.fields if schema else {}).items():
                table = join_table(cls, name)
                path = find_source(directory, table) if f.type == "Relation" else None
                if path is not None:
                    counts[table] = await _import_join(conn, table, path)
        await notify_auth(conn, "*")  # every server drops cached sessions and roles
    backend.schemas.invalidate()  # fields an import added are committed now (other processes learn by NOTIFY)
    for cls in counts:
        if not cls.startswith("_Join:"):
            await backend.pool.execute(f"ANALYZE {q(cls)}")
    return counts


async def _import_class(backend: Backend, conn: Connection, cls: str, path: Path) -> int:
    schema = await backend.schemas.require(cls)
    source = (from_csv(schema, r) for r in iter_csv_rows(path)) if path.suffix == ".csv" else iter_json_rows(path)
    user = cls == "_User"
    now = datetime.now(UTC)
    new_fields: dict[str, Field] = {}
    fields = [(k, schema.fields[k]) for k in _csv_fields(schema)]  # grows by the fields rows bring
    records: dict[str, tuple[Any, ...]] = {}  # objectId → COPY row; the last copy of an objectId wins
    passwords: dict[str, str] = {}
    for obj in source:
        known = len(new_fields)
        row = _to_row(schema, obj, new_fields, now)
        if len(new_fields) > known:  # a field the schema lacks: a column from this row on
            fields += list(new_fields.items())[known:]
        head = (row.object_id, row.created, row.updated, *row.perms) + ((row.hashed,) if user else ())
        records[row.object_id] = head + tuple(column_value(f, row.values.get(k)) for k, f in fields)
        if row.password and not row.hashed:
            passwords[row.object_id] = row.password
    if new_fields:
        schema = await backend.schemas.add_fields(conn, cls, new_fields)
    for object_id, password in passwords.items():  # plain passwords in hand-written data: stored as sign-up would
        hashed = await hash_password(password, backend.settings.bcrypt_rounds)
        record = records[object_id]
        records[object_id] = (*record[:6], hashed, *record[7:])
    columns = BASE_COLUMNS + ([HASH] if user else []) + [k for k, _ in fields]
    total = len(records)

    def rows() -> Iterator[tuple[Any, ...]]:
        while records:  # consumed as COPY sends it; rows made before a new field appeared lack its column
            record = records.popitem()[1]
            yield record + (None,) * (len(columns) - len(record))

    staging = f"_import_{cls}"
    await conn.execute(f"CREATE TEMP TABLE {q(staging)} (LIKE {q(cls)} INCLUDING DEFAULTS) ON COMMIT DROP")
    await conn.copy_records_to_table(staging, records=rows(), columns=columns)
    if user:
        await _refuse_user_clashes(conn, staging)
    elif cls == "_Role":
        await _take_over_roles(backend, conn, staging)
    cols = ", ".join(q(c) for c in columns)
    updates = [f"{q(c)} = EXCLUDED.{q(c)}" for c in columns[1:] if c != HASH]
    if user:  # no hash in the file keeps the password the user has
        updates.append(f"{q(HASH)} = coalesce(EXCLUDED.{q(HASH)}, t.{q(HASH)})")
    try:
        await conn.execute(
            f"INSERT INTO {q(cls)} AS t ({cols}) SELECT {cols} FROM {q(staging)} "
            f'ON CONFLICT ("objectId") DO UPDATE SET {", ".join(updates)}'
        )
    except asyncpg.UniqueViolationError as exc:
        raise ParseError(errors.DUPLICATE_VALUE, f"{cls}: {exc.detail or exc}") from exc
    return total


async def _refuse_user_clashes(conn: Connection, staging: str) -> None:
    clashes = await conn.fetch(
        f'SELECT i."username", i."objectId" AS new, u."objectId" AS old FROM {q(staging)} i JOIN "_User" u '
        'ON (lower(u."username") = lower(i."username") OR lower(u."email") = lower(i."email")) '
        'AND u."objectId" <> i."objectId" '
        "LIMIT 5"
    )
    if clashes:
        listed = ", ".join(f"{r['username']} ({r['new']} here, {r['old']} in the database)" for r in clashes)
        raise ParseError(errors.USERNAME_TAKEN, f"users already exist under other objectIds: {listed}")


async def _take_over_roles(backend: Backend, conn: Connection, staging: str) -> None:
    """An imported role whose name exists under another objectId replaces that row, keeping its relations."""
    pairs = await conn.fetch(
        f'SELECT i."objectId" AS new, r."objectId" AS old FROM {q(staging)} i '
        'JOIN "_Role" r ON r."name" = i."name" AND r."objectId" <> i."objectId"'
    )
    if not pairs:
        return
    schemas = await backend.schemas.all()
    moves: list[tuple[str, str]] = []  # (join table, column holding a role id)
    for cls, schema in schemas.items():
        for name, f in schema.fields.items():
            if f.type != "Relation":
                continue
            if cls == "_Role":
                moves.append((join_table(cls, name), "owningId"))
            if f.target == "_Role":
                moves.append((join_table(cls, name), "relatedId"))
    for pair in pairs:
        for table, column in moves:
            other = "relatedId" if column == "owningId" else "owningId"
            await conn.execute(
                f"INSERT INTO {q(table)} ({q(column)}, {q(other)}) SELECT $1, {q(other)} FROM {q(table)} "
                f"WHERE {q(column)} = $2 ON CONFLICT DO NOTHING",
                pair["new"],
                pair["old"],
            )
            await conn.execute(f"DELETE FROM {q(table)} WHERE {q(column)} = $1", pair["old"])
        await conn.execute('DELETE FROM "_Role" WHERE "objectId" = $1', pair["old"])


async def _import_join(conn: Connection, table: str, path: Path) -> int:
    raw = iter_csv_rows(path) if path.suffix == ".csv" else iter_json_rows(path)
    owning: list[str] = []
    related: list[str] = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise ParseError(errors.INVALID_JSON, f"{path.name}: each entry must be an object")
        o, r = ejson(entry.get("owningId")), ejson(entry.get("relatedId"))
        if not isinstance(o, str) or not isinstance(r, str) or not o or not r:
            raise ParseError(errors.INVALID_JSON, f"{path.name}: each entry needs owningId and relatedId")
        owning.append(o)
        related.append(r)
    await conn.execute(
        f'INSERT INTO {q(table)} ("owningId", "relatedId") SELECT * FROM unnest($1::text[], $2::text[]) '
        "ON CONFLICT DO NOTHING",
        owning,
        related,
    )
    return len(owning)
