"""The asyncpg pool. jsonb columns travel as orjson-encoded text; `json` values (the row JSON the query compiler
builds inside PostgreSQL) stay raw bytes so responses are spliced, not re-encoded."""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


async def _init(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=_dumps, decoder=orjson.loads, schema="pg_catalog")
    await conn.set_type_codec("json", encoder=lambda v: v, decoder=lambda b: b, schema="pg_catalog", format="binary")


async def _keep(conn: asyncpg.Connection) -> None:
    """Connections go back to the pool as they are: the server never leaves session state behind (no SET, LISTEN
    or session advisory locks on pooled connections), so asyncpg's default reset would be a wasted round trip."""


# SQLSTATE classes and codes that mean "the database is away", not "this request is wrong": connection exceptions
# (08), shutdown / starting up / crash (57P01-57P03), too many connections (53300). They answer 503, not 500.
OUTAGE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")


def is_outage(exc: BaseException) -> bool:
    """Whether `exc` says PostgreSQL cannot be reached right now (refused, reset, timed out, restarting).
    asyncpg reports a refused or timed-out connect as OSError/TimeoutError and a connection lost mid-statement
    as ConnectionDoesNotExistError (08003) or an InterfaceError about the closed connection."""
    if isinstance(exc, OSError):  # ConnectionRefusedError, ConnectionResetError, TimeoutError (3.11), socket errors
        return True
    if isinstance(exc, asyncpg.PostgresError):
        state = getattr(exc, "sqlstate", None) or ""
        return state.startswith(OUTAGE_SQLSTATES)
    if isinstance(exc, asyncpg.InterfaceError):
        return "connection is closed" in str(exc) or "connection was closed" in str(exc)
    return False


async def create_pool(dsn: str, size: int, connect_timeout: float = 5.0) -> asyncpg.Pool:
    """`connect_timeout` bounds how long a request waits for a new connection while PostgreSQL is unreachable."""
    return await asyncpg.create_pool(
        dsn,
        timeout=connect_timeout,
        min_size=min(2, size),
        max_size=size,
        init=_init,
        reset=_keep,
        statement_cache_size=512,
        max_inactive_connection_lifetime=300,
        server_settings={"application_name": "parsecrm", "jit": "off"},
    )
