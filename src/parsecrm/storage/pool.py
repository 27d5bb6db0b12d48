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


STATEMENTS = [0]  # statements sent by this process's pool; counted only in debug mode (tests measure round trips)


def _count(_query: object) -> None:
    STATEMENTS[0] += 1


async def _init_counting(conn: asyncpg.Connection) -> None:
    await _init(conn)
    conn.add_query_logger(_count)


async def _keep(conn: asyncpg.Connection) -> None:
    """Connections go back to the pool as they are: the server never leaves session state behind (no SET, LISTEN
    or session advisory locks on pooled connections), so asyncpg's default reset would be a wasted round trip."""


# Every statement on a pooled connection runs under the request statement timeout (PARSE_STATEMENT_TIMEOUT_MS): a
# query that runs longer is cancelled by PostgreSQL and answered 124. Schema changes, purges and start-up work lift
# it for their own transaction with this statement.
NO_TIMEOUT = "SET LOCAL statement_timeout = 0"


# A connection of the pool (what `pool.acquire()` gives) or one of its own: every statement helper takes either.
Connection = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy


async def create_pool(
    dsn: str, size: int, statement_timeout_ms: int = 0, *, connect_timeout: float = 5.0, count_statements: bool = False
) -> asyncpg.Pool:
    """`connect_timeout` bounds how long a request waits for a new connection while PostgreSQL is unreachable
    (it then answers 503, see errors.reply_for)."""
    return await asyncpg.create_pool(
        dsn,
        timeout=connect_timeout,
        min_size=min(2, size),
        max_size=size,
        init=_init_counting if count_statements else _init,
        reset=_keep,
        statement_cache_size=512,
        max_inactive_connection_lifetime=300,
        server_settings={"application_name": "parsecrm", "jit": "off", "statement_timeout": str(statement_timeout_ms)},
    )
