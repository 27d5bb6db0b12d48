"""The Backend: everything a request needs that outlives it — settings, the pool, caches, the hook registry.

No cache here is the only copy of anything: each is rebuilt from PostgreSQL on a miss and dropped on a NOTIFY from
any process, so several server processes on one database stay consistent.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import asyncpg

from .cloud.registry import Cloud
from .security.sessions import AUTH_CHANNEL, Sessions
from .settings import Settings
from .storage.notify import Listener
from .storage.pool import create_pool
from .storage.schema import SCHEMA_CHANNEL, SchemaCache

log = logging.getLogger("parsecrm")

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
    async def open(cls, settings: Settings, dsn: str, cloud: Cloud) -> Backend:
        pool = await create_pool(dsn, settings.db_pool_size)
        schemas = SchemaCache(pool)
        sessions = Sessions(pool, schemas)
        listener = Listener(dsn)
        backend = cls(settings, pool, schemas, sessions, cloud, listener, dsn)
        listener.on(SCHEMA_CHANNEL, lambda _p: schemas.invalidate())
        listener.on(AUTH_CHANNEL, sessions.invalidate)
        listener.on(CONFIG_CHANNEL, lambda _p: backend._drop_config())
        await listener.start()
        await schemas.bootstrap()
        for hook in cloud.startup:
            await hook(backend)
        backend.background.append(asyncio.create_task(backend._sweep()))
        return backend

    def _drop_config(self) -> None:
        self.config_cache = None

    async def _sweep(self) -> None:
        """Expire idempotency records; any process may do it, doing it twice is harmless."""
        while True:
            await asyncio.sleep(60)
            try:
                await self.pool.execute('DELETE FROM "_Idempotency" WHERE "expire" < now()')
            except (OSError, asyncpg.PostgresError):
                log.warning("idempotency sweep failed", exc_info=True)

    async def close(self) -> None:
        for task in self.background:
            task.cancel()
        await self.listener.close()
        await self.pool.close()
