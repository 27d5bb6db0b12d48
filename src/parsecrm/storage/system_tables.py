"""Tables the server keeps for itself that are not Parse classes (never visible through /schemas or /classes).

- `_RateLimit`: one token bucket per (action, subject) — see security/ratelimit.py. UNLOGGED: it is written on
  every log-in, needs no crash safety (a crash forgets some counts, which only errs towards letting users in) and
  skips the WAL; it is shared by every server process on the database, which in-process counters could not be.
- `_Invite`: pending invitations (security/invites.py); only a hash of each invitation token is stored.

Created at start-up by the schema bootstrap (Backend.open), under its advisory lock.
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg

log = logging.getLogger("parsecrm.storage")
SWEEP_SECONDS = 60.0

SYSTEM_TABLES_SQL = [
    'CREATE UNLOGGED TABLE IF NOT EXISTS "_RateLimit" ("key" text PRIMARY KEY, "tokens" float8 NOT NULL, '
    '"at" timestamptz NOT NULL, "cap" float8 NOT NULL, "per" float8 NOT NULL)',
    'CREATE TABLE IF NOT EXISTS "_Invite" ("tokenHash" text PRIMARY KEY, "email" text NOT NULL, '
    '"invitedBy" text, "createdAt" timestamptz NOT NULL DEFAULT now(), "expiresAt" timestamptz NOT NULL, '
    '"usedAt" timestamptz, "userId" text)',
    'CREATE INDEX IF NOT EXISTS "_Invite_email" ON "_Invite" (lower("email"))',
]


async def sweep(pool: asyncpg.Pool) -> None:
    """Forever (a background task per process; doing it twice is harmless): forget full buckets (a full bucket is
    the same as no row) and invitations long past use."""
    while True:
        await asyncio.sleep(SWEEP_SECONDS)
        try:
            await pool.execute(
                'DELETE FROM "_RateLimit" WHERE "at" + make_interval(secs => ("cap" - "tokens") * "per" / "cap") '
                "< now()"
            )
            await pool.execute('DELETE FROM "_Invite" WHERE "expiresAt" < now() - interval \'30 days\'')
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            log.warning("rate-limit and invitation sweep failed", exc_info=True)
