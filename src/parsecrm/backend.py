"""The Backend: everything a request needs that outlives it — settings, the pool, caches, the hook registry.

No cache here is the only copy of anything: each is rebuilt from PostgreSQL on a miss and dropped on a NOTIFY from
any process, so several server processes on one database stay consistent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from .cloud.registry import Cloud
from .files import Files
from .query.project import set_file_url_prefix
from .security import system_classes
from .security.sessions import AUTH_CHANNEL, Sessions
from .security.tokens import ApiTokens
from .settings import Settings
from .storage import system_tables
from .storage.cache import DDL_CHANNEL, SCHEMA_CHANNEL, SchemaCache
from .storage.notify import Listener
from .storage.pool import create_pool

CONFIG_CHANNEL = "parsecrm_config"


@dataclass
class Backend:
    settings: Settings
    pool: asyncpg.Pool
    schemas: SchemaCache
    sessions: Sessions
    tokens: ApiTokens
    cloud: Cloud
    listener: Listener
    dsn: str
    files: Files
    config_cache: dict[str, object] | None = None
    background: list[asyncio.Task[None]] = field(default_factory=list)
    pending: set[asyncio.Task[None]] = field(default_factory=set)

    @classmethod
    async def open(cls, settings: Settings, dsn: str, cloud: Cloud, bootstrap_sql: Sequence[str] = ()) -> Backend:
        """Connect, create what every process needs (`bootstrap_sql`: statements of the layers above, e.g. the
        idempotency table), listen for invalidations and run the Cloud Code start-up hooks."""
        pool = await create_pool(
            dsn,
            settings.db_pool_size,
            settings.statement_timeout_ms,
            connect_timeout=settings.db_connect_timeout,
            count_statements=settings.debug,
        )
        # The schema cache loads through a pool of its own. A write holds its connection while it looks up its
        # class; when the cache has just been dropped (a NOTIFY, a reconnect after PostgreSQL restarted) and every
        # connection of the one pool is held by such a write, each waited for a second connection for ever.
        schema_pool = await create_pool(dsn, 2, connect_timeout=settings.db_connect_timeout)
        schemas = SchemaCache(schema_pool, statement_pools=(pool,))
        sessions = Sessions(pool, schemas)
        tokens = ApiTokens(pool, schemas, settings.token_rate_limit)
        listener = Listener(dsn)
        files = await Files.open(settings, pool)
        set_file_url_prefix(files.url(""))
        backend = cls(settings, pool, schemas, sessions, tokens, cloud, listener, dsn, files)
        listener.on(SCHEMA_CHANNEL, lambda _p: schemas.invalidate())
        listener.on(DDL_CHANNEL, lambda _p: backend._spawn(schemas.forget_statements()))
        listener.on(AUTH_CHANNEL, sessions.invalidate)
        listener.on(AUTH_CHANNEL, tokens.invalidate)
        listener.on(CONFIG_CHANNEL, lambda _p: backend._drop_config())
        await listener.start()
        await schemas.bootstrap([*bootstrap_sql, *system_tables.SYSTEM_TABLES_SQL])
        await tokens.ensure_table()
        await system_classes.apply(backend)
        backend.background.append(asyncio.create_task(system_tables.sweep(pool)))
        for hook in cloud.startup:
            await hook(backend)
        return backend

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run a notification's async follow-up, keeping a reference so the task is not collected mid-way."""
        task = asyncio.create_task(work)
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    def _drop_config(self) -> None:
        self.config_cache = None

    async def close(self) -> None:
        for task in self.background:
            task.cancel()
        await self.listener.close()
        await self.pool.close()
        await self.schemas.pool.close()
