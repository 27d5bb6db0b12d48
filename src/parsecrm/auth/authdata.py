"""`authData`: signing up, logging in, linking and unlinking with a provider's credentials (parse-server's
RestWrite.handleAuthData, on one jsonb column).

- `POST /users` with `authData`: the credentials' owner is logged in (200, the user and a new session), or, when
  nobody owns them, a user is created with them (201; a random username when none was given, no password needed).
- `PUT /users/<id>` with `authData`: each provider given an object is linked (validated first), each given `null`
  is unlinked; the others are kept.

Invariants:
- One provider identity (`authData.<provider>.id`) belongs to at most one user: every write that stores one takes a
  transaction-scoped advisory lock per identity and then looks for another owner, so two concurrent first log-ins
  with one anonymous id make one user, and linking credentials another user owns fails with 208.
- Every non-null entry is accepted by its provider (providers.validate) before anything is written.
- Only the user (and the master key) ever reads their `authData` (security/policy.py hides it from others).
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from .. import errors, objects
from ..errors import ParseError
from ..objects import Unit
from ..security.caller import MASTER, Caller
from ..storage.pool import Connection
from . import providers

PROVIDER_NAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")
MAX_PROVIDERS = 16
ALREADY_LINKED = "this auth is already used"
AUTH_LOCK = 7243004  # advisory-lock class for "this provider identity is being claimed"
SessionMaker = Callable[[Unit, str, str, str], Awaitable[str]]  # (unit, user id, action, provider) -> token


class LoggedIn(dict[str, Any]):
    """The answer of a `POST /users` that logged an existing user in: 200 (a sign-up is 201)."""


def split(body: Any) -> tuple[Any, dict[str, Any] | None]:
    """`body` without its `authData`, and that authData (None when the body has none). Checks its shape."""
    if not isinstance(body, dict) or "authData" not in body:
        return body, None
    rest = dict(body)
    auth = rest.pop("authData")
    if not isinstance(auth, dict):  # parse-server: saving authData as null (or not an object) is unsupported
        raise ParseError(errors.UNSUPPORTED_SERVICE, providers.UNSUPPORTED)
    if len(auth) > MAX_PROVIDERS:
        raise ParseError(errors.INVALID_JSON, f"authData may name at most {MAX_PROVIDERS} providers")
    for name, data in auth.items():
        if not PROVIDER_NAME.match(name):
            raise ParseError(errors.INVALID_KEY_NAME, f"Invalid auth provider name: {name[:64]}")
        if data is not None and not isinstance(data, dict):
            raise ParseError(errors.UNSUPPORTED_SERVICE, providers.UNSUPPORTED)
        if isinstance(data, dict) and "id" in data and not (isinstance(data["id"], str) and 0 < len(data["id"]) < 512):
            raise ParseError(errors.INCORRECT_TYPE, f"authData.{name}.id must be a non-empty string")
    return rest, auth


def credentials(auth: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The entries that sign in (non-empty objects); `null` entries unlink and `{}` ones carry nothing."""
    return {p: d for p, d in auth.items() if isinstance(d, dict) and d}


def random_username() -> str:
    """parse-server gives an authData user without a username 25 random characters."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(25))


async def _owners(db: Any, creds: dict[str, dict[str, Any]], *, lock: bool = False) -> list[dict[str, Any]]:
    """Users (objectId, authData) owning any identity in `creds`; with `lock`, first take each identity's lock
    (inside the caller's transaction, held to commit). Users locked out with an empty ACL do not count."""
    keys = sorted((p, d["id"]) for p, d in creds.items() if isinstance(d.get("id"), str))
    if not keys:
        return []
    if lock:
        for provider, ident in keys:
            await db.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", AUTH_LOCK, f"{provider}:{ident}")
    args: list[Any] = [{p: {"id": i}} for p, i in keys]
    cond = " OR ".join(f'"authData" @> ${n}::jsonb' for n in range(1, len(args) + 1))
    rows = await db.fetch(
        f'SELECT "objectId", "authData" FROM "_User" WHERE ({cond}) '
        'AND ("_acl" IS NULL OR "_acl" <> \'{}\'::jsonb) ORDER BY "objectId" LIMIT 2',
        *args,
    )
    return [{"objectId": r["objectId"], "authData": r["authData"] or {}} for r in rows]


async def _validate(
    backend: Any, caller: Caller, creds: dict[str, dict[str, Any]], user: dict[str, Any] | None
) -> dict[str, dict[str, Any]]:
    return {p: await providers.validate(backend, caller, p, d, user) for p, d in creds.items()}


@dataclass
class SignIn:
    """A `POST /users` with authData, validated before its transaction: what to store if it creates a user."""

    creds: dict[str, dict[str, Any]]
    store: dict[str, Any]
    provider: str = "password"
    found: list[dict[str, Any]] = field(default_factory=list)


async def plan_sign_in(backend: Any, caller: Caller, auth: dict[str, Any]) -> SignIn:
    creds = credentials(auth)
    if not creds:
        return SignIn({}, {})
    found = await _owners(backend.pool, creds)
    user = found[0] if len(found) == 1 else None
    validated = await _validate(backend, caller, creds, user)  # validated first, as parse-server: no oracle
    _check_owner(found, caller)
    return SignIn(creds, validated, ",".join(sorted(creds)), found)


def _check_owner(found: list[dict[str, Any]], caller: Caller) -> None:
    """208 when the credentials belong to several users, or to another user than the signed-in caller."""
    if len(found) > 1 or (found and caller.user_id and not caller.master and found[0]["objectId"] != caller.user_id):
        raise ParseError(errors.ACCOUNT_ALREADY_LINKED, ALREADY_LINKED)


async def owner_in(u: Unit, plan: SignIn, caller: Caller) -> dict[str, Any] | None:
    """Inside the sign-up's transaction, with the identities locked: the user these credentials log in to."""
    if not plan.creds:
        return None
    found = await _owners(u.conn, plan.creds, lock=True)
    _check_owner(found, caller)
    return found[0] if found else None


async def log_in_existing(
    backend: Any, caller: Caller, u: Unit, owner: dict[str, Any], plan: SignIn, make_session: SessionMaker
) -> LoggedIn:
    """Log the owner of the credentials in: beforeLogin, refreshed authData, a new session; afterLogin after commit."""
    user_id = owner["objectId"]
    user_json = await objects.fetch_json(backend, MASTER, "_User", user_id, unit=u)
    if user_json is None:
        raise ParseError(errors.SCRIPT_FAILED, "Invalid auth data")
    await objects.hooks.on_login(backend, caller, "beforeLogin", user_json)
    merged = {**owner["authData"], **plan.store}
    if merged != owner["authData"]:
        await u.conn.execute('UPDATE "_User" SET "authData" = $1::jsonb WHERE "objectId" = $2', merged, user_id)
    user_json["authData"] = merged
    user_json["sessionToken"] = await make_session(u, user_id, "login", plan.provider)
    logged_in = dict(user_json)  # as it stands now: the hook runs once the session is committed

    async def run_after() -> None:
        await objects.hooks.on_login(backend, caller, "afterLogin", logged_in)

    u.after_commit.append(run_after)
    return LoggedIn(user_json)


@dataclass
class Link:
    """A `PUT /users/<id>` with authData, validated before its transaction."""

    set: dict[str, dict[str, Any]]
    unset: list[str]


async def plan_link(backend: Any, caller: Caller, user_id: str, auth: dict[str, Any]) -> Link:
    """Validate the entries that change what the user has (parse-server skips unchanged ones on update)."""
    current = await backend.pool.fetchval('SELECT "authData" FROM "_User" WHERE "objectId" = $1', user_id) or {}
    changed = {p: d for p, d in credentials(auth).items() if current.get(p) != d}
    user = {"objectId": user_id, "authData": current}
    validated = await _validate(backend, caller, changed, user)
    if any(o["objectId"] != user_id for o in await _owners(backend.pool, changed)):
        raise ParseError(errors.ACCOUNT_ALREADY_LINKED, ALREADY_LINKED)
    return Link(validated, sorted(p for p, d in auth.items() if d is None))


async def apply_link(conn: Connection, user_id: str, link: Link) -> None:
    """Inside the update's transaction (its row already locked): store the links, drop the unlinked providers."""
    if any(o["objectId"] != user_id for o in await _owners(conn, link.set, lock=True)):
        raise ParseError(errors.ACCOUNT_ALREADY_LINKED, ALREADY_LINKED)
    if not link.set and not link.unset:
        return
    await conn.execute(
        'UPDATE "_User" SET "authData" = nullif((coalesce("authData", \'{}\'::jsonb) - $2::text[]) || $1::jsonb, '
        "'{}'::jsonb) WHERE \"objectId\" = $3",
        link.set,
        link.unset,
        user_id,
    )
