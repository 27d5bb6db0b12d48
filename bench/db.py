"""Databases on the local PostgreSQL: one per server under test, created and dropped by the harness."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import asyncpg

DEFAULT_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


def db_url(admin_dsn: str, dbname: str) -> str:
    """The admin DSN with its database replaced by `dbname`."""
    p = urlsplit(admin_dsn)
    return urlunsplit((p.scheme, p.netloc, "/" + dbname, p.query, p.fragment))


def _ident(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"unsafe database name {name!r}")
    return '"' + name + '"'


async def exists(admin_dsn: str, dbname: str) -> bool:
    conn = await asyncpg.connect(admin_dsn)
    try:
        return bool(await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", dbname))
    finally:
        await conn.close()


async def drop(admin_dsn: str, dbname: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        # Only connections to this benchmark database (which the harness's servers opened) are ended.
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            dbname,
        )
        await conn.execute(f"DROP DATABASE IF EXISTS {_ident(dbname)}")
    finally:
        await conn.close()


async def recreate(admin_dsn: str, dbname: str) -> None:
    await drop(admin_dsn, dbname)
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f"CREATE DATABASE {_ident(dbname)}")
    finally:
        await conn.close()


async def execute(dsn: str, *statements: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        for s in statements:
            await conn.execute(s)
    finally:
        await conn.close()


async def table_sizes(dsn: str) -> dict[str, dict]:
    """Row estimates and on-disk sizes of the user tables (for the report)."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            """SELECT c.relname, c.reltuples::bigint AS rows, pg_total_relation_size(c.oid) AS bytes
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE c.relkind = 'r' AND n.nspname = 'public' ORDER BY 3 DESC"""
        )
        return {r["relname"]: {"rows_est": r["rows"], "mb": round(r["bytes"] / 2**20, 1)} for r in rows}
    finally:
        await conn.close()
