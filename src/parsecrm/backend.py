"""The Backend: everything a request needs that outlives it — settings, the pool, caches, the hook registry.

No cache here is the only copy of anything: each is rebuilt from PostgreSQL on a miss and dropped on a NOTIFY from
any process, so several server processes on one database stay consistent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

import asyncpg

from .cloud.registry import Cloud
from .security.sessions import AUTH_CHANNEL, Sessions
from .settings import Settings
from .storage.cache import SCHEMA_CHANNEL, SchemaCache
from .storage.notify import Listener
from .storage.pool import create_pool

CONFIG_CHANNEL = "parsecrm_config"


@dataclass
class Backend:
    settings: Settings
    pool: asyncpg.Pool
    schemas: SchemaCache
    sessions: Sessions
    cloud: Cloud
    listener: Listener
    dsn: str
    config_cache: dict[str, object] | None = None
    background: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    async def open(cls, settings: Settings, dsn: str, cloud: Cloud, bootstrap_sql: Sequence[str] = ()) -> Backend:
        """Connect, create what every process needs (`bootstrap_sql`: statements of the layers above, e.g. the
        idempotency table), listen for invalidations and run the Cloud Code start-up hooks."""
        pool = await create_pool(
            dsn, settings.db_pool_size, settings.statement_timeout_ms, count_statements=settings.debug
        )
        schemas = SchemaCache(pool)
        sessions = Sessions(pool, schemas)
        listener = Listener(dsn)
        backend = cls(settings, pool, schemas, sessions, cloud, listener, dsn)
        listener.on(SCHEMA_CHANNEL, lambda _p: schemas.invalidate())
        listener.on(AUTH_CHANNEL, sessions.invalidate)
        listener.on(CONFIG_CHANNEL, lambda _p: backend._drop_config())
        await listener.start()
        await schemas.bootstrap(bootstrap_sql)
        for hook in cloud.startup:
            await hook(backend)
        return backend

    def _drop_config(self) -> None:
        self.config_cache = None

    async def close(self) -> None:
        for task in self.background:
            task.cancel()
        await self.listener.close()
        await self.pool.close()
