"""The idempotency store: a write sent with `X-Parse-Request-Id` runs once; a retry gets the first answer.

A record holds the request id, what the request was (method, path, caller and a hash of its body) and, once the
write committed, its answer. It is written in the same transaction as the write, so either both exist or neither
does; a concurrent duplicate waits on the row lock and then replays. An answer is replayed only to the *same*
request: another caller, path or body with a known id gets 159 "Duplicate request" (a request id seen by someone
else is no key to their answer — an anonymous sign-up replayed with another body must not hand out the first
user's session token). Records expire after PARSE_IDEMPOTENCY_TTL seconds; every process sweeps them.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable

import asyncpg
import orjson

from ..backend import Backend
from ..errors import ErrorCode, ParseError
from ..objects import Unit, in_unit
from ..security.caller import Caller
from .reply import Reply
from .transport import Call

log = logging.getLogger("parsecrm.idempotency")

DDL = [
    'CREATE TABLE IF NOT EXISTS "_Idempotency" ("reqId" text PRIMARY KEY, "method" text NOT NULL, '
    '"path" text NOT NULL, "caller" text NOT NULL DEFAULT \'\', "status" integer, "body" bytea, '
    '"expire" timestamptz NOT NULL)',
    'ALTER TABLE "_Idempotency" ADD COLUMN IF NOT EXISTS "bodyHash" text NOT NULL DEFAULT \'\'',
    'CREATE INDEX IF NOT EXISTS "_Idempotency_expire" ON "_Idempotency" ("expire")',
]
SWEEP_SECONDS = 60.0


def caller_key(caller: Caller) -> str:
    """Who made a request, as far as replays go: the master key, a user, or an anonymous installation."""
    if caller.master:
        return "master"
    if caller.user_id:
        return "u:" + caller.user_id
    return "i:" + (caller.installation_id or "")


def body_hash(call: Call) -> str:
    return hashlib.sha256(orjson.dumps(call.body, option=orjson.OPT_SORT_KEYS)).hexdigest()


async def run_once(
    backend: Backend,
    call: Call,
    write: Callable[[Unit], Awaitable[Reply]],
    headers: Callable[[bytes], list[tuple[bytes, bytes]]],
) -> Reply:
    """Run `write` once per request id (in a fresh transaction), or replay the stored answer of the same request.
    `headers(body)` gives the headers a replayed answer carries (e.g. Location)."""
    rid = call.request_id
    assert rid is not None
    fingerprint = (call.method, call.path, caller_key(call.caller), body_hash(call))

    async def once(unit: Unit) -> Reply:
        inserted = await unit.conn.fetchval(
            'INSERT INTO "_Idempotency" ("reqId", "method", "path", "caller", "bodyHash", "expire") '
            "VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6)) "
            'ON CONFLICT ("reqId") DO NOTHING RETURNING true',
            rid,
            *fingerprint,
            float(backend.settings.idempotency_ttl),
        )
        if not inserted:
            row = await unit.conn.fetchrow(
                'SELECT "method", "path", "caller", "bodyHash", "status", "body" FROM "_Idempotency" '
                'WHERE "reqId" = $1',
                rid,
            )
            first = (row["method"], row["path"], row["caller"], row["bodyHash"]) if row is not None else None
            if row is None or first != fingerprint or row["status"] is None:
                raise ParseError(ErrorCode.DUPLICATE_REQUEST, "Duplicate request")
            return Reply(bytes(row["body"]), row["status"], headers(bytes(row["body"])))
        reply = await write(unit)
        await unit.conn.execute(
            'UPDATE "_Idempotency" SET "status" = $2, "body" = $3 WHERE "reqId" = $1',
            rid,
            reply.status,
            reply.encoded(),
        )
        return reply

    reply: Reply = await in_unit(backend, None, once)
    return reply


async def sweep(backend: Backend) -> None:
    """Expire records forever (a background task per process; doing it twice is harmless)."""
    while True:
        await asyncio.sleep(SWEEP_SECONDS)
        try:
            await backend.pool.execute('DELETE FROM "_Idempotency" WHERE "expire" < now()')
        except (OSError, asyncpg.PostgresError):
            log.warning("idempotency sweep failed", exc_info=True)
