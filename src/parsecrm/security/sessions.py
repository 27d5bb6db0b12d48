"""Session token → the user and their roles, cached per process and invalidated across processes.

One statement resolves a token: the session, its user's JSON and every role the user holds, inheritance included
(a recursive CTE over the `roles` relation). Log-out, session deletion, user changes and any `_Role` write send a
NOTIFY on `parsecrm_auth` so every process drops what it cached.
"""

from __future__ import annotations

import hashlib
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
from ..storage.cache import SchemaCache
from ..storage.pool import Connection
from .policy import Policy

AUTH_CHANNEL = "parsecrm_auth"
CACHE_SECONDS = 30.0
CACHE_MAX = 50_000

ROLES_OF_USER = """
WITH RECURSIVE held(id, name) AS (
    SELECT r."objectId", r."name" FROM "_Role" r
    JOIN "_Join:users:_Role" j ON j."owningId" = r."objectId" WHERE j."relatedId" = {user}
  UNION
    SELECT p."objectId", p."name" FROM held
    JOIN "_Join:roles:_Role" j ON j."relatedId" = held.id
    JOIN "_Role" p ON p."objectId" = j."owningId"
) SELECT coalesce(array_agg(DISTINCT name), '{{}}') FROM held
"""


@dataclass(frozen=True)
class SessionInfo:
    user_id: str
    user: dict[str, Any]
    roles: frozenset[str]
    expires_at: datetime | None
    session_id: str


def token_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:32]


class Sessions:
    def __init__(self, pool: asyncpg.Pool, schemas: SchemaCache) -> None:
        self.pool = pool
        self.schemas = schemas
        self._cache: dict[str, tuple[float, SessionInfo]] = {}

    def invalidate(self, payload: str) -> None:
        if payload == "*" or payload.startswith("u:") or payload.startswith("roles"):
            if payload.startswith("u:"):
                uid = payload[2:]
                for key in [k for k, (_t, s) in self._cache.items() if s.user_id == uid]:
                    self._cache.pop(key, None)
            else:
                self._cache.clear()
        elif payload.startswith("t:"):
            self._cache.pop(payload[2:], None)

    async def resolve(self, token: str) -> SessionInfo:
        key = token_key(token)
        hit = self._cache.get(key)
        now = time.monotonic()
        if hit is not None and hit[0] > now:
            info = hit[1]
            if info.expires_at is None or info.expires_at > datetime.now(UTC):
                return info
            self._cache.pop(key, None)
        info = await self._load(token)
        if len(self._cache) >= CACHE_MAX:
            self._cache.clear()
        self._cache[key] = (now + CACHE_SECONDS, info)
        return info

    async def _load(self, token: str) -> SessionInfo:
        user_schema = await self.schemas.require("_User")
        ctx = Context(await self.schemas.all(), Policy.MASTER)
        user_json = row_json(user_schema, "u", Shape(), ctx)
        roles = ROLES_OF_USER.format(user='u."objectId"')
        sql = (
            f'SELECT s."objectId" AS sid, s."expiresAt" AS expires, u."objectId" AS uid, '
            f"{user_json} AS user_json, ({roles}) AS roles "
            f'FROM "_Session" s JOIN "_User" u ON u."objectId" = s."user" WHERE s."sessionToken" = $1'
        )
        row = await self.pool.fetchrow(sql, token)
        if row is None or (row["expires"] is not None and row["expires"] <= datetime.now(UTC)):
            raise ParseError(errors.INVALID_SESSION_TOKEN, "Invalid session token")
        return SessionInfo(
            user_id=row["uid"],
            user=orjson.loads(row["user_json"]),
            roles=frozenset(row["roles"]),
            expires_at=row["expires"],
            session_id=row["sid"],
        )


async def notify(conn: Connection, payload: str) -> None:
    await conn.execute("SELECT pg_notify($1, $2)", AUTH_CHANNEL, payload)
