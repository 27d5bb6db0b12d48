"""Class schemas: what fields a class has, how each maps to a typed column, and the DDL that keeps tables in step.

The truth is the `_SCHEMA` table; every process keeps a cache of it that a PostgreSQL NOTIFY on the
`parsecrm_schema` channel invalidates (see notify.py). A change locks the class's `_SCHEMA` row, re-reads it, applies
the DDL and the new JSON in one transaction, so two processes adding the same field concurrently cannot disagree.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from .. import errors
from ..errors import ParseError
from ..values import check_class_name, check_field_name

SCHEMA_CHANNEL = "parsecrm_schema"
# Every process's start-up schema work (bootstrap, the CRM's schema) runs under this one advisory lock, so workers
# starting together take their locks in the same order and cannot deadlock.
STARTUP_LOCK = 7243001
# GIN's "fast update" parks new entries in a pending list that every search scans until a vacuum merges it; under
# steady inserts that made a rep's pipeline query 5 ms instead of 0.2 ms. Each row adds a few entries, so
# updating the index directly costs little and keeps reads flat.
GIN_OPTIONS = "WITH (fastupdate = off)"

FIELD_TYPES = frozenset({"String", "Number", "Boolean", "Date", "Object", "Array", "Pointer", "Relation", "ACL"})
UNSUPPORTED_TYPES = frozenset({"GeoPoint", "File", "Bytes", "Polygon"})

SQL_TYPES = {
    "String": 'text COLLATE "C"',
    "Number": "double precision",
    "Boolean": "boolean",
    "Date": "timestamptz",
    "Object": "jsonb",
    "Array": "jsonb",
    "Pointer": 'text COLLATE "C"',
}

BASE_FIELDS: dict[str, dict[str, Any]] = {
    "objectId": {"type": "String"},
    "createdAt": {"type": "Date"},
    "updatedAt": {"type": "Date"},
    "ACL": {"type": "ACL"},
}

SYSTEM_FIELDS: dict[str, dict[str, dict[str, Any]]] = {
    "_User": {
        "username": {"type": "String"},
        "password": {"type": "String"},
        "email": {"type": "String"},
        "emailVerified": {"type": "Boolean"},
        "authData": {"type": "Object"},
    },
    "_Role": {
        "name": {"type": "String"},
        "users": {"type": "Relation", "targetClass": "_User"},
        "roles": {"type": "Relation", "targetClass": "_Role"},
    },
    "_Session": {
        "user": {"type": "Pointer", "targetClass": "_User"},
        "sessionToken": {"type": "String"},
        "expiresAt": {"type": "Date"},
        "installationId": {"type": "String"},
        "createdWith": {"type": "Object"},
    },
}

# Columns that exist in a table but are never fields: permissions, the stored ACL, and _User secrets.
HIDDEN_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "*": [("_rperm", "text[] NOT NULL DEFAULT '{*}'"), ("_wperm", "text[] NOT NULL DEFAULT '{*}'"), ("_acl", "jsonb")],
    "_User": [
        ("_hashed_password", "text"),
        ("_failed_login_count", "integer NOT NULL DEFAULT 0"),
        ("_account_lockout_expires_at", "timestamptz"),
        ("_perishable_token", "text"),
        ("_perishable_token_expires_at", "timestamptz"),
        ("_email_verify_token", "text"),
        ("_password_changed_at", "timestamptz"),
    ],
}

# The password is a write-only field: stored hashed in a hidden column, never a column of its own.
VIRTUAL_FIELDS = {"_User": {"password"}}

PROTECTED_BY_DEFAULT = {"_User": {"*": ["email"]}}

CLP_OPERATIONS = ("find", "count", "get", "create", "update", "delete", "addField")
CLP_KEYS = frozenset({*CLP_OPERATIONS, "readUserFields", "writeUserFields", "protectedFields"})


def join_table(owner: str, field_name: str) -> str:
    return f"_Join:{field_name}:{owner}"


def q(identifier: str) -> str:
    """Quote an identifier that has already been validated (class/field names never contain a double quote)."""
    return '"' + identifier + '"'


@dataclass(frozen=True, slots=True)
class Field:
    type: str
    target: str | None = None  # Pointer/Relation target class
    targets: tuple[str, ...] = ()  # a polymorphic pointer's allowed classes
    required: bool = False
    default: Any = None

    @property
    def polymorphic(self) -> bool:
        return self.type == "Pointer" and bool(self.targets)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        if self.target:
            out["targetClass"] = self.target
        if self.targets:
            out["targetClasses"] = list(self.targets)
        if self.required:
            out["required"] = True
        if self.default is not None:
            out["defaultValue"] = self.default
        return out

    @staticmethod
    def from_json(name: str, raw: Any) -> Field:
        if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
            raise ParseError(errors.INCORRECT_TYPE, f"invalid field type for {name}")
        kind = raw["type"]
        if kind in UNSUPPORTED_TYPES:
            raise ParseError(errors.INCORRECT_TYPE, f"field type {kind} is not supported by this server yet")
        if kind not in FIELD_TYPES:
            raise ParseError(errors.INCORRECT_TYPE, f"invalid field type: {str(kind)[:40]}")
        target = raw.get("targetClass")
        targets = raw.get("targetClasses") or ()
        if kind in ("Pointer", "Relation"):
            if targets and kind == "Pointer":
                if not isinstance(targets, list) or not targets:
                    raise ParseError(135, f"targetClasses of {name} must be a list of class names")
                targets = tuple(check_class_name(t) for t in targets)
                target = None
            elif not isinstance(target, str):
                raise ParseError(135, f"type {kind} needs a class name")
            else:
                check_class_name(target)
        else:
            target, targets = None, ()
        return Field(kind, target, tuple(targets), bool(raw.get("required", False)), raw.get("defaultValue"))


@dataclass
class ClassSchema:
    name: str
    fields: dict[str, Field]
    clp: dict[str, Any] | None = None
    indexes: dict[str, Any] = field(default_factory=dict)
    _derived: dict[str, object] = field(default_factory=dict, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "className": self.name,
            "fields": {k: v.to_json() for k, v in self.fields.items()},
            "classLevelPermissions": self.effective_clp(),
        }
        if self.indexes:
            out["indexes"] = copy.deepcopy(self.indexes)
        return out

    def stored_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"className": self.name, "fields": {k: v.to_json() for k, v in self.fields.items()}}
        if self.clp is not None:
            out["classLevelPermissions"] = self.clp
        if self.indexes:
            out["indexes"] = self.indexes
        return out

    def changed(self) -> None:
        """Forget derived values after `fields` or `clp` changed (every schema change goes through `_save`)."""
        self._derived.clear()

    def effective_clp(self) -> dict[str, Any]:
        """The CLP with Parse's defaults (computed once per schema version: every request checks it)."""
        found = self._derived.get("clp")
        if found is None:
            found = self._derived["clp"] = self._effective_clp()
        return found  # type: ignore[no-any-return]

    def _effective_clp(self) -> dict[str, Any]:
        """A class without a CLP is public; named operations left out are master-only."""
        if self.clp is None:
            base: dict[str, Any] = {op: {"*": True} for op in CLP_OPERATIONS}
            base["protectedFields"] = copy.deepcopy(PROTECTED_BY_DEFAULT.get(self.name, {"*": []}))
            return base
        out = {op: self.clp.get(op, {}) for op in CLP_OPERATIONS}
        out["protectedFields"] = self.clp.get("protectedFields", copy.deepcopy(PROTECTED_BY_DEFAULT.get(self.name, {})))
        for key in ("readUserFields", "writeUserFields"):
            if key in self.clp:
                out[key] = self.clp[key]
        return out

    def column_fields(self) -> list[str]:
        """Fields stored as a column of this class's table (not relations, not the ACL, not virtual)."""
        found = self._derived.get("columns")
        if found is None:
            virtual = VIRTUAL_FIELDS.get(self.name, set())
            found = self._derived["columns"] = [
                k for k, f in self.fields.items() if f.type not in ("Relation", "ACL") and k not in virtual
            ]
        return found  # type: ignore[no-any-return]

    @staticmethod
    def from_json(raw: dict[str, Any]) -> ClassSchema:
        name = raw["className"]
        fields = {k: Field.from_json(k, v) for k, v in (raw.get("fields") or {}).items()}
        return ClassSchema(name, fields, raw.get("classLevelPermissions"), dict(raw.get("indexes") or {}))


def default_fields(class_name: str) -> dict[str, Field]:
    out = {k: Field.from_json(k, v) for k, v in BASE_FIELDS.items()}
    for k, v in SYSTEM_FIELDS.get(class_name, {}).items():
        out[k] = Field.from_json(k, v)
    return out


def validate_clp(clp: Any) -> dict[str, Any]:
    if not isinstance(clp, dict):
        raise ParseError(errors.INVALID_JSON, "classLevelPermissions must be an object")
    for key, value in clp.items():
        if key not in CLP_KEYS:
            raise ParseError(errors.INVALID_JSON, f"{key!s:.40} is not a valid operation for class level permissions")
        if key in ("readUserFields", "writeUserFields"):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ParseError(errors.INVALID_JSON, f"{key} must be a list of field names")
        elif key == "protectedFields":
            if not isinstance(value, dict) or not all(
                isinstance(v, list) and all(isinstance(f, str) for f in v) for v in value.values()
            ):
                raise ParseError(errors.INVALID_JSON, "protectedFields must map groups to lists of fields")
        else:
            if not isinstance(value, dict):
                raise ParseError(errors.INVALID_JSON, f"CLP {key} must be an object")
            for principal, flag in value.items():
                if principal == "pointerFields":
                    if not isinstance(flag, list):
                        raise ParseError(errors.INVALID_JSON, "pointerFields must be a list")
                elif flag is not True and not (principal == "requiresAuthentication" and flag is False):
                    raise ParseError(errors.INVALID_JSON, f"'{flag!s:.20}' is not a valid value for CLP {key}")
    return clp


def column_ddl(name: str, f: Field) -> str:
    return f"{q(name)} {SQL_TYPES[f.type]}"


def create_table_sql(schema: ClassSchema) -> list[str]:
    cols = [
        '"objectId" text COLLATE "C" PRIMARY KEY',
        '"createdAt" timestamptz NOT NULL',
        '"updatedAt" timestamptz NOT NULL',
    ]
    for name in schema.column_fields():
        if name in ("objectId", "createdAt", "updatedAt"):
            continue
        cols.append(column_ddl(name, schema.fields[name]))
    for col, ddl in HIDDEN_COLUMNS["*"] + HIDDEN_COLUMNS.get(schema.name, []):
        cols.append(f"{q(col)} {ddl}")
    t = q(schema.name)
    stmts = [f"CREATE TABLE IF NOT EXISTS {t} ({', '.join(cols)})"]
    # The read-permission index: a caller's visible rows are found through it, never by testing every row.
    stmts.append(f'CREATE INDEX IF NOT EXISTS {q(schema.name + "_rperm")} ON {t} USING gin ("_rperm") {GIN_OPTIONS}')
    stmts.extend(system_indexes(schema.name))
    for name, f in schema.fields.items():
        if f.type == "Relation":
            stmts.extend(join_table_sql(schema.name, name))
    return stmts


def system_indexes(class_name: str) -> list[str]:
    if class_name == "_User":
        return [
            'CREATE UNIQUE INDEX IF NOT EXISTS "_User_unique_username" ON "_User" (lower("username"))',
            'CREATE INDEX IF NOT EXISTS "_User_username" ON "_User" ("username")',
            'CREATE UNIQUE INDEX IF NOT EXISTS "_User_unique_email" ON "_User" (lower("email"))',
            'CREATE INDEX IF NOT EXISTS "_User_perishable_token" ON "_User" ("_perishable_token")',
            'CREATE INDEX IF NOT EXISTS "_User_email_verify_token" ON "_User" ("_email_verify_token")',
        ]
    if class_name == "_Session":
        return [
            'CREATE UNIQUE INDEX IF NOT EXISTS "_Session_token" ON "_Session" ("sessionToken")',
            'CREATE INDEX IF NOT EXISTS "_Session_user" ON "_Session" ("user")',
        ]
    if class_name == "_Role":
        return ['CREATE UNIQUE INDEX IF NOT EXISTS "_Role_unique_name" ON "_Role" ("name")']
    return []


def join_table_sql(owner: str, field_name: str) -> list[str]:
    t = q(join_table(owner, field_name))
    return [
        f'CREATE TABLE IF NOT EXISTS {t} ("owningId" text COLLATE "C" NOT NULL, "relatedId" text COLLATE "C" NOT NULL, '
        f'PRIMARY KEY ("owningId", "relatedId"))',
        f'CREATE INDEX IF NOT EXISTS {q(join_table(owner, field_name) + ":related")} ON {t} ("relatedId")',
    ]


SCOPED_PERMISSIONS = "parsecrm_scoped"  # (value, _rperm) → {value␟principal, …}: see acl_index_fields


def acl_index_fields(schema: ClassSchema) -> set[str]:
    """Fields with an ACL-scoped index (`{"stage": "acl"}`): a GIN index over `value ␟ principal` pairs, so that
    "rows with stage = X that this caller may read" is one index lookup of the caller's own rows for X, instead
    of intersecting every X row with every row the caller may read (security/policy.py read_filter uses it)."""
    return {f for spec in schema.indexes.values() if isinstance(spec, dict) for f, d in spec.items() if d == "acl"}


def index_sql(schema: ClassSchema, name: str, spec: Any) -> str:
    """A schema-declared index. `spec` maps field → 1 | -1 | "text" | "acl"; index names are prefixed by the
    class because PostgreSQL index names are global."""
    if not isinstance(spec, dict) or not spec:
        raise ParseError(errors.INVALID_QUERY, f"index {name} must map fields to 1, -1 or 'text'")
    check_field_name(name)
    parts: list[str] = []
    text_cols: list[str] = []
    for fname, direction in spec.items():
        if fname not in schema.fields:
            raise ParseError(errors.INVALID_QUERY, f"Field {fname!s:.40} does not exist, cannot create index.")
        if schema.fields[fname].type in ("Relation", "ACL"):
            raise ParseError(errors.INVALID_QUERY, f"cannot index {fname}")
        if direction == "acl":
            if len(spec) != 1 or schema.fields[fname].type not in ("String", "Pointer"):
                raise ParseError(errors.INVALID_QUERY, "an acl index covers one String or Pointer field")
            iname = q(f"{schema.name}_{name}")
            return (f"CREATE INDEX IF NOT EXISTS {iname} ON {q(schema.name)} "
                    f'USING gin ({SCOPED_PERMISSIONS}({q(fname)}, "_rperm")) {GIN_OPTIONS}')
        if direction == "text":
            text_cols.append(fname)
        elif direction in (1, -1):
            parts.append(q(fname) + (" DESC" if direction == -1 else ""))
        else:
            raise ParseError(errors.INVALID_QUERY, f"index {name}: {fname} must be 1, -1, 'text' or 'acl'")
    iname = q(f"{schema.name}_{name}")
    if text_cols:
        if parts:
            raise ParseError(errors.INVALID_QUERY, "a text index cannot mix text and ordered fields")
        doc = " || ' ' || ".join(f"coalesce({q(c)}, '')" for c in text_cols)
        return (f"CREATE INDEX IF NOT EXISTS {iname} ON {q(schema.name)} "
                f"USING gin (to_tsvector('english', {doc})) {GIN_OPTIONS}")
    return f"CREATE INDEX IF NOT EXISTS {iname} ON {q(schema.name)} ({', '.join(parts)})"


BOOTSTRAP_SQL = [
    'CREATE TABLE IF NOT EXISTS "_SCHEMA" ("className" text COLLATE "C" PRIMARY KEY, "schema" jsonb NOT NULL, '
    '"isParseClass" boolean NOT NULL DEFAULT true)',
    'CREATE TABLE IF NOT EXISTS "_GlobalConfig" ("objectId" text PRIMARY KEY, "params" jsonb NOT NULL DEFAULT \'{}\', '
    "\"masterKeyOnly\" jsonb NOT NULL DEFAULT '{}')",
    'CREATE TABLE IF NOT EXISTS "_Idempotency" ("reqId" text PRIMARY KEY, "method" text NOT NULL, '
    '"path" text NOT NULL, "caller" text NOT NULL DEFAULT \'\', "status" integer, "body" bytea, '
    '"expire" timestamptz NOT NULL)',
    'CREATE INDEX IF NOT EXISTS "_Idempotency_expire" ON "_Idempotency" ("expire")',
    # chr(31), the unit separator, cannot occur in a principal (user ids, `role:Name`, `*`)
    # (created once, not replaced at every start: replacing locks the function against running inserts)
    f"DO $do$ BEGIN IF to_regprocedure('{SCOPED_PERMISSIONS}(text, text[])') IS NULL THEN "
    f"CREATE FUNCTION {SCOPED_PERMISSIONS}(value text, perms text[]) RETURNS text[] "
    "LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT array_agg(value || chr(31) || p) FROM unnest(perms) p $$; "
    "END IF; END $do$",
]


class SchemaCache:
    """Every class's schema, loaded from `_SCHEMA`; `invalidate` drops it (a NOTIFY from any process calls it)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._classes: dict[str, ClassSchema] | None = None
        self.generation = 0

    async def all(self) -> dict[str, ClassSchema]:
        if self._classes is None:
            rows = await self.pool.fetch('SELECT "schema" FROM "_SCHEMA"')
            self._classes = {r["schema"]["className"]: ClassSchema.from_json(r["schema"]) for r in rows}
        return self._classes

    async def get(self, name: str) -> ClassSchema | None:
        classes = self._classes if self._classes is not None else await self.all()
        return classes.get(name)

    async def require(self, name: str) -> ClassSchema:
        found = await self.get(name)
        if found is None:
            raise ParseError(errors.INVALID_CLASS_NAME, f"Class {name} does not exist.")
        return found

    def invalidate(self) -> None:
        self._classes = None
        self.generation += 1

    # -- changes -------------------------------------------------------------------------------------------------

    async def bootstrap(self) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", STARTUP_LOCK)
            for stmt in BOOTSTRAP_SQL:
                await conn.execute(stmt)
            for name in ("_User", "_Role", "_Session"):
                await self._ensure_class(conn, name, {}, None, None)
        self.invalidate()

    async def ensure_class(
        self,
        name: str,
        fields: dict[str, Any] | None = None,
        clp: dict[str, Any] | None = None,
        indexes: dict[str, Any] | None = None,
        *,
        conn: asyncpg.Connection | None = None,
    ) -> ClassSchema:
        """Create the class if missing and add any missing fields/indexes; never drops or retypes anything.

        With `conn` the change joins that transaction and the cache is left alone: the caller must call
        `invalidate()` once it commits (a rolled-back change must never be cached)."""
        if conn is not None:
            return await self._ensure_class(conn, name, fields or {}, clp, indexes)
        async with self.pool.acquire() as c, c.transaction():
            result = await self._ensure_class(c, name, fields or {}, clp, indexes)
        self._store(result)
        return result

    def _store(self, schema: ClassSchema) -> None:
        if self._classes is not None:
            self._classes[schema.name] = schema

    async def _locked(self, conn: asyncpg.Connection, name: str) -> ClassSchema | None:
        # A transaction-scoped advisory lock per class name serialises creators that find no row to lock yet.
        await conn.execute("SELECT pg_advisory_xact_lock(7243002, hashtext($1))", name)
        raw = await conn.fetchval('SELECT "schema" FROM "_SCHEMA" WHERE "className" = $1 FOR UPDATE', name)
        return ClassSchema.from_json(raw) if raw else None

    async def _ensure_class(
        self,
        conn: asyncpg.Connection,
        name: str,
        fields: dict[str, Any],
        clp: dict[str, Any] | None,
        indexes: dict[str, Any] | None,
    ) -> ClassSchema:
        check_class_name(name)
        current = await self._locked(conn, name)
        new_fields = {k: Field.from_json(check_field_name(k), v) for k, v in fields.items()}
        if current is None:
            schema = ClassSchema(name, default_fields(name), clp, {})
            for k, f in new_fields.items():
                _check_field_change(schema, k, f)
                schema.fields[k] = f
            for stmt in create_table_sql(schema):
                await conn.execute(stmt)
            changed = True
        else:
            schema = current
            changed = await self._add_missing(conn, schema, new_fields)
            if clp is not None and clp != schema.clp:
                schema.clp = clp
                changed = True
        for iname, spec in (indexes or {}).items():
            if schema.indexes.get(iname) != spec:
                await conn.execute(index_sql(schema, iname, spec))
                schema.indexes[iname] = spec
                changed = True
        if changed:
            await self._save(conn, schema)
        return schema

    async def _add_missing(self, conn: asyncpg.Connection, schema: ClassSchema, fields: dict[str, Field]) -> bool:
        """Add the fields the class lacks (type-checking those it has); True if anything was added."""
        changed = False
        for k, f in fields.items():
            if k in schema.fields:
                _check_field_change(schema, k, f)
                continue
            await self._add_column(conn, schema, k, f)
            changed = True
        return changed

    async def _add_column(self, conn: asyncpg.Connection, schema: ClassSchema, name: str, f: Field) -> None:
        schema.fields[name] = f
        if f.type == "Relation":
            for stmt in join_table_sql(schema.name, name):
                await conn.execute(stmt)
        elif name not in VIRTUAL_FIELDS.get(schema.name, set()) and f.type != "ACL":
            await conn.execute(f"ALTER TABLE {q(schema.name)} ADD COLUMN IF NOT EXISTS {column_ddl(name, f)}")

    async def _save(self, conn: asyncpg.Connection, schema: ClassSchema) -> None:
        schema.changed()
        await conn.execute(
            'INSERT INTO "_SCHEMA" ("className", "schema") VALUES ($1, $2) '
            'ON CONFLICT ("className") DO UPDATE SET "schema" = EXCLUDED."schema"',
            schema.name,
            schema.stored_json(),
        )
        await conn.execute("SELECT pg_notify($1, $2)", SCHEMA_CHANNEL, schema.name)

    async def add_fields(self, conn: asyncpg.Connection, name: str, fields: dict[str, Field]) -> ClassSchema:
        """Add fields implied by a save (the caller checked the addField permission). Runs in `conn`'s transaction;
        as with `ensure_class(conn=…)`, the caller invalidates the cache after commit."""
        current = await self._locked(conn, name)
        if current is None:
            raise ParseError(errors.INVALID_CLASS_NAME, f"Class {name} does not exist.")
        if await self._add_missing(conn, current, fields):
            await self._save(conn, current)
        return current

    async def update_class(
        self, name: str, fields: dict[str, Any], clp: dict[str, Any] | None, indexes: dict[str, Any] | None
    ) -> ClassSchema:
        """PUT /schemas/C: add or delete fields, replace the CLP, add or drop indexes."""
        async with self.pool.acquire() as conn, conn.transaction():
            schema = await self._locked(conn, name)
            if schema is None:
                raise ParseError(errors.INVALID_CLASS_NAME, f"Class {name} does not exist.")
            for k, raw in fields.items():
                check_field_name(k)
                if isinstance(raw, dict) and raw.get("__op") == "Delete":
                    if k not in schema.fields:
                        raise ParseError(errors.INVALID_SCHEMA_OPERATION, f"Field {k} does not exist, cannot delete.")
                    if k in default_fields(name):
                        raise ParseError(errors.INVALID_SCHEMA_OPERATION, f"field {k} cannot be changed")
                    await self._drop_field(conn, schema, k)
                    continue
                f = Field.from_json(k, raw)
                if k in schema.fields:
                    raise ParseError(errors.INVALID_SCHEMA_OPERATION, f"Field {k} exists, cannot update.")
                await self._add_column(conn, schema, k, f)
            if clp is not None:
                schema.clp = validate_clp(clp)
            for iname, spec in (indexes or {}).items():
                if isinstance(spec, dict) and spec.get("__op") == "Delete":
                    if iname not in schema.indexes:
                        raise ParseError(errors.INVALID_QUERY, f"Index {iname} does not exist, cannot delete.")
                    await conn.execute(f"DROP INDEX IF EXISTS {q(name + '_' + iname)}")
                    del schema.indexes[iname]
                    continue
                if iname in schema.indexes:
                    raise ParseError(errors.INVALID_QUERY, f"Index {iname} exists, cannot update.")
                await conn.execute(index_sql(schema, iname, spec))
                schema.indexes[iname] = spec
            await self._save(conn, schema)
        self._store(schema)
        return schema

    async def _drop_field(self, conn: asyncpg.Connection, schema: ClassSchema, name: str) -> None:
        f = schema.fields.pop(name)
        if f.type == "Relation":
            await conn.execute(f"DROP TABLE IF EXISTS {q(join_table(schema.name, name))}")
        elif f.type != "ACL":
            await conn.execute(f"ALTER TABLE {q(schema.name)} DROP COLUMN IF EXISTS {q(name)}")
        for iname, spec in list(schema.indexes.items()):
            if name in spec:
                del schema.indexes[iname]

    async def drop_class(self, name: str) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            schema = await self._locked(conn, name)
            if schema is None:
                return
            if await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {q(name)})"):
                raise ParseError(errors.INVALID_SCHEMA_OPERATION, f"Class {name} is not empty, contains objects.")
            for k, f in schema.fields.items():
                if f.type == "Relation":
                    await conn.execute(f"DROP TABLE IF EXISTS {q(join_table(name, k))}")
            await conn.execute(f"DROP TABLE IF EXISTS {q(name)}")
            await conn.execute('DELETE FROM "_SCHEMA" WHERE "className" = $1', name)
            await conn.execute("SELECT pg_notify($1, $2)", SCHEMA_CHANNEL, name)
        self.invalidate()


def _check_field_change(schema: ClassSchema, name: str, new: Field) -> None:
    old = schema.fields.get(name)
    if old is None:
        return
    if (
        old.type != new.type
        or (old.target != new.target and new.target)
        or (new.targets and old.targets != new.targets)
    ):
        raise ParseError(
            errors.INCORRECT_TYPE,
            f"schema mismatch for {schema.name}.{name}; expected {describe(old)} but got {describe(new)}",
        )


def describe(f: Field) -> str:
    if f.type in ("Pointer", "Relation"):
        return f"{f.type}<{f.target or '|'.join(f.targets)}>"
    return f.type
