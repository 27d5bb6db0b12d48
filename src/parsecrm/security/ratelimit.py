"""Rate limits on the endpoints that guess or spam: log-in, sign-up, password-reset (and invitation) mails.

Each limit is a token bucket of `count` tokens refilled at `count / seconds` per second, kept in PostgreSQL
(`_RateLimit`, UNLOGGED) and updated by one upsert, so every server process on the database counts together and the
count is exact under concurrency (the row lock serialises the upserts). Why PostgreSQL and not Redis: the database
is already shared by every process and already on this path (a log-in reads the user and runs bcrypt, ~50 ms at
cost 10, next to which the upsert's ~0.2 ms is noise); Redis would add a service to run for no measurable gain.

A refused request costs at most one token below zero (the bucket floor is -1), so hammering does not extend the
wait indefinitely, while a client that keeps retrying stays refused. The answer is parse-server's: HTTP 429 with
`{"code": 100, "error": "Too many requests."}` and a `Retry-After` header. The master key is never limited.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import asyncpg

from .. import errors
from ..errors import ParseError
from ..settings import Rate

# tokens after this request: min(capacity, before + refill) - 1, never below -1; allowed when it is >= 0
TAKE_SQL = """
INSERT INTO "_RateLimit" AS r ("key", "tokens", "at", "cap", "per") VALUES ($1, $2 - 1, now(), $2, $3)
ON CONFLICT ("key") DO UPDATE SET
  "tokens" = greatest(-1, least($2, r."tokens" + extract(epoch FROM now() - r."at")::float8 * $2 / $3) - 1),
  "at" = now(), "cap" = $2, "per" = $3
RETURNING "tokens"
"""


class RateLimited(ParseError):
    """429, as parse-server's rate limiter answers; `headers` carries Retry-After."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(errors.CONNECTION_FAILED, "Too many requests.", status=429)
        self.headers = [(b"retry-after", str(max(1, math.ceil(retry_after))).encode())]


@dataclass(frozen=True)
class Subject:
    """What one limit counts: an action (`login`, `signup`, `reset`) by a kind of subject (`ip`, `user`)."""

    action: str
    kind: str
    value: str

    def key(self) -> str:
        # the subject is hashed: the table needs identity, not the addresses and user names themselves
        digest = hashlib.sha256(self.value.strip().lower().encode()).hexdigest()[:24]
        return f"{self.action}:{self.kind}:{digest}"


async def take(db: asyncpg.Pool | asyncpg.Connection, subject: Subject, rate: Rate | None) -> None:
    """Spend one token of `subject`'s bucket, or raise RateLimited. `rate` None: this limit is off."""
    if rate is None or not subject.value:
        return
    left = await db.fetchval(TAKE_SQL, subject.key(), float(rate.count), float(rate.seconds))
    if left < 0:
        raise RateLimited((1 - left) * rate.seconds / rate.count)
