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


async def create_pool(dsn: str, size: int) -> asyncpg.Pool:
    return await asyncpg.create_pool(
        dsn,
        min_size=min(2, size),
        max_size=size,
        init=_init,
        reset=_keep,
        statement_cache_size=512,
        max_inactive_connection_lifetime=300,
        server_settings={"application_name": "parsecrm", "jit": "off"},
    )
