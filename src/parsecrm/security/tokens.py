"""Per-user API tokens: `Authorization: Bearer <secret>` acts as the token's user, like a session of theirs.

A token resolves to the same principals as the user's session (their id and every role they hold), optionally
read-only (every write fails with 119) and optionally expiring. Only a SHA-256 hash of the secret is stored: the
secret has 256 random bits, so a fast hash is enough and nothing stored can be turned back into a credential.
Revoking deletes the row and sends `k:<id>` on the auth channel, so every process drops its cached copy at once.
"""

from __future__ import annotations

import hashlib
import secrets
import string
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson

from .. import errors
from ..errors import ParseError
from ..query.project import Shape, row_json
from ..query.sql import Context
from ..settings import Rate
from ..storage.cache import SchemaCache
from . import ratelimit
from .caller import Caller
from .policy import Policy
from .sessions import ROLES_OF_USER, notify

ID_ALPHABET = string.ascii_letters + string.digits
SECRET_PREFIX = "pcrm_"
DISPLAY_CHARS = 12  # "pcrm_" + 7 characters of the secret: enough to tell tokens apart in a list, useless to guess
CACHE_SECONDS = 30.0
TOKEN_LOCK = 0x70637274  # advisory lock for the one-time DDL below (workers start together)

DDL = """
CREATE TABLE IF NOT EXISTS "_ApiToken" (
    "objectId" text PRIMARY KEY,
    "user" text NOT NULL,
    "name" text NOT NULL,
    "hash" text NOT NULL UNIQUE,
    "prefix" text NOT NULL,
    "readOnly" boolean NOT NULL DEFAULT false,
    "expiresAt" timestamptz,
    "lastUsedAt" timestamptz,
    "createdAt" timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS "_ApiToken_user" ON "_ApiToken" ("user");
"""

# Public fields of a token, for listing: never the hash (and the secret is not stored at all).
LISTED = '"objectId", "name", "prefix", "readOnly", "expiresAt", "lastUsedAt", "createdAt"'


@dataclass(frozen=True)
class TokenGrant:
    token_id: str
    name: str
    user_id: str
    user: dict[str, Any]
    roles: frozenset[str]
    read_only: bool
    expires_at: datetime | None

    def caller(self, **transport: Any) -> Caller:
        return Caller(
            user_id=self.user_id,
            user=self.user,
            roles=self.roles,
            token_id=self.token_id,
            token_name=self.name,
            token_read_only=self.read_only,
            **transport,
        )


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


class ApiTokens:
    def __init__(self, pool: asyncpg.Pool, schemas: SchemaCache, per_minute: int) -> None:
        self.pool = pool
        self.schemas = schemas
        # counted in PostgreSQL like every other limit, so all server processes share one budget per token
        self.rate = Rate(per_minute, 60) if per_minute > 0 else None
        self._cache: dict[str, tuple[float, TokenGrant]] = {}

    async def ensure_table(self) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", TOKEN_LOCK)
            await conn.execute(DDL)

    def invalidate(self, payload: str) -> None:
        """Auth-channel messages: `*`/`roles…` drop everything, `u:<user>` that user's tokens, `k:<id>` one."""
        if payload == "*" or payload.startswith("roles"):
            self._cache.clear()
        elif payload.startswith(("u:", "k:")):
            kind, value = payload[0], payload[2:]
            for key, (_t, g) in list(self._cache.items()):
                if (g.user_id if kind == "u" else g.token_id) == value:
                    self._cache.pop(key, None)

    async def resolve(self, secret: str, *, count: bool = True) -> TokenGrant:
        """The grant of a live token, counted against its rate limit (unless the same request was counted
        already); 209 for an unknown, revoked or expired one."""
        key = hash_secret(secret)
        now = time.monotonic()
        hit = self._cache.get(key)
        grant = hit[1] if hit is not None and hit[0] > now else None
        if grant is None:
            grant = await self._load(key)
            self._cache[key] = (now + CACHE_SECONDS, grant)
        if grant.expires_at is not None and grant.expires_at <= datetime.now(UTC):
            self._cache.pop(key, None)
            raise ParseError(errors.INVALID_SESSION_TOKEN, "This API token has expired.")
        if count:
            await ratelimit.take(self.pool, ratelimit.Subject("api", "token", grant.token_id), self.rate)
        return grant

    async def _load(self, key: str) -> TokenGrant:
        user_schema = await self.schemas.require("_User")
        ctx = Context(await self.schemas.all(), Policy.MASTER)
        user_json = row_json(user_schema, "u", Shape(), ctx)
        roles = ROLES_OF_USER.format(user='u."objectId"')
        # one round trip: mark the token used (at most once a cache period) and read the user and roles
        sql = (
            'WITH k AS (UPDATE "_ApiToken" SET "lastUsedAt" = CASE WHEN "expiresAt" <= now() THEN "lastUsedAt" '
            'ELSE now() END WHERE "hash" = $1 RETURNING *) '
            f'SELECT k."objectId" AS kid, k."name", k."readOnly", k."expiresAt", u."objectId" AS uid, '
            f"{user_json} AS user_json, ({roles}) AS roles "
            'FROM k JOIN "_User" u ON u."objectId" = k."user"'
        )
        row = await self.pool.fetchrow(sql, key)
        if row is None:
            raise ParseError(errors.INVALID_SESSION_TOKEN, "Invalid or revoked API token.")
        return TokenGrant(
            token_id=row["kid"],
            name=row["name"],
            user_id=row["uid"],
            user=orjson.loads(row["user_json"]),
            roles=frozenset(row["roles"]),
            read_only=row["readOnly"],
            expires_at=row["expiresAt"],
        )

    # -- the owner's management (create / list / revoke); callers have checked the caller is a session user ---------

    async def create(
        self, user_id: str, name: str, read_only: bool, expires_at: datetime | None
    ) -> tuple[str, dict[str, Any]]:
        """A new token for `user_id`: the secret (shown once, never stored) and the listed fields."""
        secret = new_secret()
        row = await self.pool.fetchrow(
            'INSERT INTO "_ApiToken" ("objectId", "user", "name", "hash", "prefix", "readOnly", "expiresAt") '
            f"VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {LISTED}",
            "".join(secrets.choice(ID_ALPHABET) for _ in range(10)),
            user_id,
            name,
            hash_secret(secret),
            secret[:DISPLAY_CHARS],
            read_only,
            expires_at,
        )
        assert row is not None
        return secret, dict(row)

    async def list(self, user_id: str) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            f'SELECT {LISTED} FROM "_ApiToken" WHERE "user" = $1 ORDER BY "createdAt" DESC', user_id
        )
        return [dict(r) for r in rows]

    async def revoke(self, user_id: str, token_id: str) -> bool:
        """Delete one of `user_id`'s tokens; every process forgets it when this commits."""
        async with self.pool.acquire() as conn, conn.transaction():
            gone = await conn.fetchval(
                'DELETE FROM "_ApiToken" WHERE "objectId" = $1 AND "user" = $2 RETURNING true', token_id, user_id
            )
            if gone:
                await notify(conn, "k:" + token_id)
        self.invalidate("k:" + token_id)
        return bool(gone)
