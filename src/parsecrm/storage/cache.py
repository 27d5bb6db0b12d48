"""The schema cache: every class's schema, loaded from the `_SCHEMA` table, and the changes that go through it.

The truth is the `_SCHEMA` table; every process keeps a cache of it that a PostgreSQL NOTIFY on the
`parsecrm_schema` channel invalidates (see notify.py). A change locks the class's `_SCHEMA` row, re-reads it, applies
the DDL and the new JSON in one transaction, so two processes adding the same field concurrently cannot disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from .. import errors
from ..errors import ParseError
from ..values import check_class_name, check_field_name
from .ddl import BOOTSTRAP_SQL, column_ddl, create_table_sql, index_sql, join_table_sql
from .model import VIRTUAL_FIELDS, ClassSchema, Field, check_field_change, default_fields, join_table, q, validate_clp
from .pool import NO_TIMEOUT, Connection

SCHEMA_CHANNEL = "parsecrm_schema"
# Sent when a table or column was dropped. A column recreated under the same name with another type would otherwise
# meet asyncpg's per-connection prepared statements, which keep the old parameter types for the same SQL text
# ("a boolean is required (got type float)"); every process expires its pooled connections on this message.
DDL_CHANNEL = "parsecrm_ddl"
# Every process's start-up schema work (bootstrap, the CRM's schema) runs under this one advisory lock, so workers
# starting together take their locks in the same order and cannot deadlock.
STARTUP_LOCK = 7243001


class SchemaCache:
    """Every class's schema, loaded from `_SCHEMA`; `invalidate` drops it (a NOTIFY from any process calls it)."""

    def __init__(self, pool: asyncpg.Pool, statement_pools: tuple[asyncpg.Pool, ...] = ()) -> None:
        self.pool = pool
        # every pool whose prepared statements a DDL can make stale: the request pool too, not only this cache's own
        self.statement_pools = (pool, *statement_pools)
        self._classes: dict[str, ClassSchema] | None = None
        self.generation = 0

    async def all(self) -> dict[str, ClassSchema]:
        if self._classes is None:
            rows = await self.pool.fetch('SELECT "schema" FROM "_SCHEMA"')
            self._classes = {r["schema"]["className"]: ClassSchema.from_json(r["schema"]) for r in rows}
        return self._classes

    async def get(self, name: str) -> ClassSchema | None:
        """The class's schema, or None. A class missing from the cache is looked up in `_SCHEMA` before None is
        answered: another process may have created it a moment ago and its NOTIFY may still be on its way."""
        classes = self._classes if self._classes is not None else await self.all()
        found = classes.get(name)
        if found is None and self._classes is classes:
            raw = await self.pool.fetchval('SELECT "schema" FROM "_SCHEMA" WHERE "className" = $1', name)
            if raw is not None:
                found = classes[name] = ClassSchema.from_json(raw)
        return found

    async def require(self, name: str) -> ClassSchema:
        found = await self.get(name)
        if found is None:
            raise ParseError(errors.INVALID_CLASS_NAME, f"Class {name} does not exist.")
        return found

    def invalidate(self) -> None:
        self._classes = None
        self.generation += 1

    # -- changes -------------------------------------------------------------------------------------------------

    async def bootstrap(self, extra_sql: Sequence[str] = ()) -> None:
        """Create the system tables (and `extra_sql`'s) once, under the start-up lock."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(NO_TIMEOUT)
            await conn.execute("SELECT pg_advisory_xact_lock($1)", STARTUP_LOCK)
            for stmt in [*BOOTSTRAP_SQL, *extra_sql]:
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
        conn: Connection | None = None,
    ) -> ClassSchema:
        """Create the class if missing and add any missing fields/indexes; never drops or retypes anything.

        With `conn` the change joins that transaction and the cache is left alone: the caller must call
        `invalidate()` once it commits (a rolled-back change must never be cached)."""
        if conn is not None:
            return await self._ensure_class(conn, name, fields or {}, clp, indexes)
        async with self.pool.acquire() as c, c.transaction():
            await c.execute(NO_TIMEOUT)
            result = await self._ensure_class(c, name, fields or {}, clp, indexes)
        self._store(result)
        return result

    def _store(self, schema: ClassSchema) -> None:
        if self._classes is not None:
            self._classes[schema.name] = schema
        self.generation += 1  # a change this process made: what is built from the schemas (GraphQL's) is rebuilt

    async def _locked(self, conn: Connection, name: str) -> ClassSchema | None:
        # A transaction-scoped advisory lock per class name serialises creators that find no row to lock yet.
        await self.lock_class(conn, name)
        raw = await conn.fetchval('SELECT "schema" FROM "_SCHEMA" WHERE "className" = $1 FOR UPDATE', name)
        return ClassSchema.from_json(raw) if raw else None

    async def _ensure_class(
        self,
        conn: Connection,
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
                check_field_change(schema, k, f)
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

    async def _add_missing(self, conn: Connection, schema: ClassSchema, fields: dict[str, Field]) -> bool:
        """Add the fields the class lacks (type-checking those it has); True if anything was added."""
        changed = False
        for k, f in fields.items():
            if k in schema.fields:
                check_field_change(schema, k, f)
                continue
            await self._add_column(conn, schema, k, f)
            changed = True
        return changed

    async def _add_column(self, conn: Connection, schema: ClassSchema, name: str, f: Field) -> None:
        check_field_change(schema, name, f)
        schema.fields[name] = f
        if f.type == "Relation":
            for stmt in join_table_sql(schema.name, name):
                await conn.execute(stmt)
        elif name not in VIRTUAL_FIELDS.get(schema.name, set()) and f.type != "ACL":
            await conn.execute(f"ALTER TABLE {q(schema.name)} ADD COLUMN IF NOT EXISTS {column_ddl(name, f)}")

    async def _save(self, conn: Connection, schema: ClassSchema) -> None:
        schema.changed()
        await conn.execute(
            'INSERT INTO "_SCHEMA" ("className", "schema") VALUES ($1, $2) '
            'ON CONFLICT ("className") DO UPDATE SET "schema" = EXCLUDED."schema"',
            schema.name,
            schema.stored_json(),
        )
        await conn.execute("SELECT pg_notify($1, $2)", SCHEMA_CHANNEL, schema.name)

    @staticmethod
    async def lock_class(conn: Connection, name: str) -> None:
        """Serialise schema changes to class `name` until `conn`'s transaction ends (re-entrant). A write that will
        add fields takes it before touching the table: two such writes then queue here instead of each holding the
        table (a read's share lock) while its ALTER TABLE waits for the other's, a deadlock."""
        await conn.execute("SELECT pg_advisory_xact_lock(7243002, hashtext($1))", name)

    async def add_fields(self, conn: Connection, name: str, fields: dict[str, Field]) -> ClassSchema:
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
        dropped = False
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(NO_TIMEOUT)
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
                    dropped = True
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
            if dropped:
                await conn.execute("SELECT pg_notify($1, $2)", DDL_CHANNEL, name)
        self._store(schema)
        if dropped:
            await self.forget_statements()
        return schema

    async def forget_statements(self) -> None:
        """Replace every pooled connection (idle ones at once, busy ones when released), dropping their prepared
        statements. Called here right after a drop commits, and on every process by the DDL_CHANNEL message."""
        for pool in self.statement_pools:
            await pool.expire_connections()

    async def _drop_field(self, conn: Connection, schema: ClassSchema, name: str) -> None:
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
            await conn.execute(NO_TIMEOUT)
            schema = await self._locked(conn, name)
            if schema is None:
                return
            count = await conn.fetchval(f"SELECT count(*) FROM (SELECT 1 FROM {q(name)} LIMIT 1000000) t")
            if count:
                raise ParseError(
                    errors.INVALID_SCHEMA_OPERATION,
                    f"Class {name} is not empty, contains {count} objects, cannot drop schema.",
                )
            for k, f in schema.fields.items():
                if f.type == "Relation":
                    await conn.execute(f"DROP TABLE IF EXISTS {q(join_table(name, k))}")
            await conn.execute(f"DROP TABLE IF EXISTS {q(name)}")
            await conn.execute('DELETE FROM "_SCHEMA" WHERE "className" = $1', name)
            await conn.execute("SELECT pg_notify($1, $2)", SCHEMA_CHANNEL, name)
            await conn.execute("SELECT pg_notify($1, $2)", DDL_CHANNEL, name)
        self.invalidate()
        await self.forget_statements()
