"""Start-up DDL for users without a password and email verification, on a `_User` table made by any version.

- a GIN index on `authData` (jsonb_path_ops): a log-in looks its credentials' owner up with `@>`;
- `_email_verify_token_expires_at`: when the verification link stops working.
Run once per process after the schema bootstrap; does nothing when both exist (so a restart runs no DDL).
"""

from __future__ import annotations

from typing import Any

from ..storage.cache import DDL_CHANNEL

SETUP_LOCK = 7243005
STATEMENTS = [
    'ALTER TABLE "_User" ADD COLUMN IF NOT EXISTS "_email_verify_token_expires_at" timestamptz',
    'CREATE INDEX IF NOT EXISTS "_User_auth_data" ON "_User" USING gin ("authData" jsonb_path_ops)',
]


async def prepare(backend: Any) -> None:
    async with backend.pool.acquire() as conn, conn.transaction():
        exists = await conn.fetch(
            "SELECT 1 FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid WHERE c.relname = '_User' "
            "AND a.attname = '_email_verify_token_expires_at' AND NOT a.attisdropped "
            "UNION ALL SELECT 1 WHERE to_regclass('\"_User_auth_data\"') IS NOT NULL"
        )
        if len(exists) == 2:
            return
        await conn.execute("SELECT pg_advisory_xact_lock($1)", SETUP_LOCK)  # two processes starting at once
        for stmt in STATEMENTS:
            await conn.execute(stmt)
        await conn.execute("SELECT pg_notify($1, $2)", DDL_CHANNEL, "_User")  # cached statements on _User are stale now
