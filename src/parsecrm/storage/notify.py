"""Cross-process cache invalidation over PostgreSQL LISTEN/NOTIFY.

Writers call `pg_notify(channel, payload)` inside their transaction, so the message goes out only on commit. Every
server process keeps one listening connection and runs the registered callbacks. If that connection drops, every
cache is cleared (a message may have been missed) and the listener reconnects.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import asyncpg

log = logging.getLogger("parsecrm.notify")

Callback = Callable[[str], None]


class Listener:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.handlers: dict[str, list[Callback]] = {}
        self._conn: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def on(self, channel: str, callback: Callback) -> None:
        self.handlers.setdefault(channel, []).append(callback)

    async def listen(self, channel: str, callback: Callback) -> None:
        """`on` for a listener that may already be running: starts listening on a new channel at once."""
        new = channel not in self.handlers
        self.on(channel, callback)
        conn = self._conn
        if new and conn is not None and not conn.is_closed():
            await conn.add_listener(channel, self._dispatch)

    def _dispatch(self, _conn: object, _pid: int, channel: str, payload: object) -> None:
        for cb in self.handlers.get(channel, []):
            try:
                cb(str(payload))
            except Exception:  # a broken cache callback must not kill the listener
                log.exception("notification handler failed on %s", channel)

    def _reset_all(self) -> None:
        for channel in self.handlers:
            self._dispatch(None, 0, channel, "*")

    async def start(self) -> None:
        await self._connect()
        self._task = asyncio.create_task(self._watch())

    async def _connect(self) -> None:
        conn = await asyncpg.connect(self.dsn, server_settings={"application_name": "parsecrm-listen"})
        for channel in self.handlers:
            await conn.add_listener(channel, self._dispatch)
        self._conn = conn

    async def _watch(self) -> None:
        while not self._closing:
            await asyncio.sleep(1.0)
            conn = self._conn
            if conn is not None and not conn.is_closed():
                continue
            self._reset_all()
            try:
                await self._connect()
                self._reset_all()
            except (OSError, asyncpg.PostgresError):
                log.warning("notification listener reconnect failed; retrying")

    async def close(self) -> None:
        self._closing = True
        if self._task:
            self._task.cancel()
        if self._conn is not None and not self._conn.is_closed():
            await self._conn.close()
