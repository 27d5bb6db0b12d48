"""Users and sessions: sign-up, log-in, log-out, `me`, profile changes, lock-out after failed log-ins (password
hashing: auth/passwords.py; reset links: auth/reset.py).

Passwords are bcrypt hashes (as parse-server stores them, so users moved from a Parse database keep their passwords),
verified off the event loop. Session tokens are `r:` + 32 random hex characters, revocable and expiring.

Invariants:
- At most `PARSE_LOGIN_MAX_FAILURES` wrong passwords are ever *evaluated* per lock-out period, however many arrive
  at once and at however many server processes: an attempt is counted in PostgreSQL (one row-locked UPDATE) before
  bcrypt runs, and refused there once the account is locked.
- A log-in for an unknown name costs one bcrypt at the configured cost, like a real one, so timing does not tell
  which names exist.
- An identifier names at most one account: a username may not equal another account's email and an email may not
  equal another account's username (log-in accepts either in the `username` field).
- A pending reset link (auth/reset.py) dies when the password or the email changes.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

import orjson

from . import errors, invites, objects
from .auth import authdata, verify
from .auth.passwords import hash_password, verify_password
from .backend import Backend
from .cloud.objects import ParseObject
from .cloud.requests import LogoutRequest
from .errors import ParseError
from .objects import Unit, in_unit
from .security import ratelimit
from .security.caller import MASTER, Caller
from .security.sessions import notify as notify_auth
from .security.sessions import token_key
from .storage.pool import Connection
from .values import EMAIL, now_ms

IDENTIFIER_LOCK = 7243003  # advisory-lock class for "this username/email is being claimed"
LOCKED = "Your account is locked due to multiple failed login attempts. Please try again later."
INVALID_LOGIN = "Invalid username/password."


def new_token() -> str:
    return "r:" + secrets.token_hex(16)


def _normalise_user_body(body: Any, *, creating: bool) -> tuple[dict[str, Any], str | None]:
    if not isinstance(body, dict):
        raise ParseError(errors.INVALID_JSON, "request body must be a JSON object")
    body = dict(body)
    password = body.pop("password", None)
    if password is not None and not isinstance(password, str):
        raise ParseError(errors.PASSWORD_MISSING, "password must be a string")
    if creating:
        if not isinstance(body.get("username"), str) or not body["username"]:
            raise ParseError(errors.USERNAME_MISSING, "bad or missing username")
        if not password:
            raise ParseError(errors.PASSWORD_MISSING, "password is required")
    elif "username" in body and (not isinstance(body["username"], str) or not body["username"]):
        raise ParseError(errors.USERNAME_MISSING, "bad or missing username")
    email = body.get("email")
    if email is not None and not (isinstance(email, dict) and email.get("__op") == "Delete"):
        if not isinstance(email, str) or not EMAIL.match(email.strip()):
            raise ParseError(errors.INVALID_EMAIL_ADDRESS, "Email address format is invalid.")
        body["email"] = email.strip().lower()
    return body, password


async def _create_session(
    u: Unit, user_id: str, caller: Caller, settings_length: int, action: str, provider: str = "password"
) -> str:
    token = new_token()
    now = now_ms()
    await u.conn.execute(
        'INSERT INTO "_Session" ("objectId", "createdAt", "updatedAt", "user", "sessionToken", "expiresAt", '
        '"installationId", "createdWith", "_rperm", "_wperm", "_acl") '
        "VALUES ($1, $2, $2, $3, $4, $5, $6, $7, $8, $8, $9)",
        objects.new_id(),
        now,
        user_id,
        token,
        now + timedelta(seconds=settings_length),
        caller.installation_id,
        {"action": action, "authProvider": provider},
        [user_id],
        {user_id: {"read": True, "write": True}},
    )
    return token


async def sign_up(backend: Backend, caller: Caller, body: Any, *, unit: Unit | None = None) -> dict[str, Any]:
    body, auth = authdata.split(body)  # -- hook: authData sign-up / log-in (auth/authdata.py) --
    plan = await authdata.plan_sign_in(backend, caller, auth) if auth is not None else None
    fields, password = _normalise_user_body(body, creating=not (plan and plan.creds))
    generated = bool(plan and plan.creds) and "username" not in fields
    if generated:
        fields["username"] = authdata.random_username()
    if not caller.master:  # an authData log-in of an existing user counts as a log-in, not a sign-up
        s = backend.settings
        action, rate = ("login", s.rate_login_ip) if plan and plan.found else ("signup", s.rate_signup_ip)
        await ratelimit.take(backend.pool, ratelimit.Subject(action, "ip", caller.ip or ""), rate)
    hashed = await hash_password(password, backend.settings.bcrypt_rounds) if password else None

    async def session(u: Unit, user_id: str, action: str, provider: str) -> str:
        return await _create_session(u, user_id, caller, backend.settings.session_length, action, provider)

    async def work(u: Unit) -> dict[str, Any]:
        owner = await authdata.owner_in(u, plan, caller) if plan is not None else None
        if owner is not None and plan is not None:  # the credentials' owner logs in (200, not a sign-up)
            return await authdata.log_in_existing(backend, caller, u, owner, plan, session)
        await invites.admit(backend, caller, fields, u.conn)
        user_id = objects.new_id()
        if "ACL" not in fields:  # private: only the user (and the master key) can read or write it
            fields["ACL"] = {user_id: {"read": True, "write": True}}
        extra: dict[str, Any] = {"_hashed_password": hashed} if hashed else {}
        if plan is not None and plan.store:
            extra["authData"] = plan.store
        response = await objects.create(
            backend, caller, "_User", fields, unit=u, extra_columns=extra, object_id=user_id
        )
        await _identifiers_free(u.conn, user_id, fields.get("username"), fields.get("email"))
        await verify.on_user_saved(backend, u, user_id, fields, response)  # -- hook: email verification --
        provider = plan.provider if plan is not None else "password"
        if provider != "password" or verify.session_allowed(backend):
            response["sessionToken"] = await session(u, user_id, "signup", provider)
        if generated:
            response["username"] = fields["username"]
        return response

    return await in_unit(backend, unit, work)


async def _identifiers_free(conn: Connection, user_id: str, username: Any, email: Any) -> None:
    """Inside the write's transaction, after it: refuse a username that is another account's email, or an email
    that is another account's username. The advisory locks (held to commit) make two concurrent claims of one
    identifier wait for each other, so the second one sees the first."""
    names = [v.lower() for v in (username, email) if isinstance(v, str) and v]
    for name in sorted(set(names)):
        await conn.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", IDENTIFIER_LOCK, name)
    if isinstance(username, str) and await conn.fetchval(
        'SELECT 1 FROM "_User" WHERE lower("email") = lower($2) AND "objectId" <> $1', user_id, username
    ):
        raise ParseError(errors.USERNAME_TAKEN, "Account already exists for this username.")
    if isinstance(email, str) and await conn.fetchval(
        'SELECT 1 FROM "_User" WHERE lower("username") = lower($2) AND "objectId" <> $1', user_id, email
    ):
        raise ParseError(errors.EMAIL_TAKEN, "Account already exists for this email address.")


async def _user_row(backend: Backend, username: str | None, email: str | None) -> Any:
    if username is not None:
        return await backend.pool.fetchrow(
            'SELECT "objectId", "_hashed_password", "_failed_login_count", "_account_lockout_expires_at" '
            'FROM "_User" WHERE "username" = $1 OR lower("email") = lower($1) '
            'ORDER BY ("username" = $1) DESC LIMIT 1',
            username,
        )
    return await backend.pool.fetchrow(
        'SELECT "objectId", "_hashed_password", "_failed_login_count", "_account_lockout_expires_at" '
        'FROM "_User" WHERE lower("email") = lower($1)',
        email,
    )


async def limit_log_in(backend: Backend, caller: Caller, params: dict[str, Any]) -> None:
    """The log-in rate limits, per client address and per account named, before anything is looked up (REST's
    /login and /verifyPassword, batch items and GraphQL's logIn all pass here). The master key is never limited."""
    if caller.master:
        return
    s = backend.settings
    await ratelimit.take(backend.pool, ratelimit.Subject("login", "ip", caller.ip or ""), s.rate_login_ip)
    name = params.get("username") if isinstance(params.get("username"), str) else params.get("email")
    if isinstance(name, str):
        await ratelimit.take(backend.pool, ratelimit.Subject("login", "user", name), s.rate_login_user)


async def log_in(backend: Backend, caller: Caller, params: dict[str, Any]) -> bytes:
    username, email, password = params.get("username"), params.get("email"), params.get("password")
    if not isinstance(username, str) and not isinstance(email, str):
        raise ParseError(errors.USERNAME_MISSING, "username/email is required.")
    if not isinstance(password, str) or not password:
        raise ParseError(errors.PASSWORD_MISSING, "password is required.")
    rounds = backend.settings.bcrypt_rounds
    row = await _user_row(
        backend, username if isinstance(username, str) else None, email if isinstance(email, str) else None
    )
    if row is None:
        await verify_password(password, None, rounds)  # as slow as a real check: timing must not tell
        raise ParseError(errors.OBJECT_NOT_FOUND, INVALID_LOGIN)
    if not await _claim_attempt(backend, row["objectId"]):
        raise ParseError(errors.OBJECT_NOT_FOUND, LOCKED)
    if not await verify_password(password, row["_hashed_password"], rounds):
        raise ParseError(errors.OBJECT_NOT_FOUND, INVALID_LOGIN)  # the attempt is already counted
    user_id = row["objectId"]
    user_json = await objects.fetch_json(backend, MASTER, "_User", user_id)
    assert user_json is not None
    verify.check_login(backend, user_json)  # -- hook: preventLoginWithUnverifiedEmail --
    await objects.hooks.on_login(backend, caller, "beforeLogin", user_json)

    async def work(u: Unit) -> str:
        if backend.settings.login_max_failures > 0:  # a success clears the attempts counted so far
            await u.conn.execute(
                'UPDATE "_User" SET "_failed_login_count" = 0, "_account_lockout_expires_at" = NULL '
                'WHERE "objectId" = $1',
                user_id,
            )
        return await _create_session(u, user_id, caller, backend.settings.session_length, "login")

    token = await in_unit(backend, None, work)
    user_json["sessionToken"] = token
    await objects.hooks.on_login(backend, caller, "afterLogin", user_json)
    return orjson.dumps(user_json)


async def _claim_attempt(backend: Backend, user_id: str) -> bool:
    """Count this attempt before its password is checked; False if the account is locked (nothing evaluated).

    One UPDATE takes the row lock, so concurrent attempts (from any process) are counted one after another: the
    attempt that reaches the limit sets the lock-out, and every later one finds it set. As in parse-server, the
    count is not reset when a lock-out expires: after it, each wrong attempt locks the account again at once.
    A successful log-in clears it."""
    s = backend.settings
    if s.login_max_failures <= 0:  # lock-out disabled
        return True
    claimed = await backend.pool.fetchval(
        'UPDATE "_User" SET "_failed_login_count" = "_failed_login_count" + 1, "_account_lockout_expires_at" = '
        'CASE WHEN "_failed_login_count" + 1 >= $2 THEN now() + make_interval(secs => $3) ELSE NULL END '
        'WHERE "objectId" = $1 AND ("_account_lockout_expires_at" IS NULL OR "_account_lockout_expires_at" <= now()) '
        "RETURNING true",
        user_id,
        s.login_max_failures,
        float(s.login_lockout_seconds),
    )
    return bool(claimed)


async def me(backend: Backend, caller: Caller) -> bytes:
    if not caller.session_token or not caller.user_id:
        raise ParseError(errors.INVALID_SESSION_TOKEN, "Invalid session token")
    user_json = await objects.fetch_json(backend, MASTER, "_User", caller.user_id)
    if user_json is None:
        raise ParseError(errors.INVALID_SESSION_TOKEN, "Invalid session token")
    user_json["sessionToken"] = caller.session_token
    return orjson.dumps(user_json)


async def log_out(backend: Backend, caller: Caller) -> dict[str, Any]:
    if not caller.session_token:
        return {}
    async with backend.pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            'DELETE FROM "_Session" WHERE "sessionToken" = $1 RETURNING "objectId", "user"', caller.session_token
        )
        await notify_auth(conn, "t:" + token_key(caller.session_token))
    backend.sessions.invalidate("t:" + token_key(caller.session_token))
    if row is not None and backend.cloud.has("afterLogout", "_Session"):
        session = ParseObject("_Session", {"sessionToken": caller.session_token}, row["objectId"])
        await backend.cloud.run(
            "afterLogout",
            "_Session",
            LogoutRequest(
                caller=caller, data=objects.CloudData(backend, caller, None), backend=backend, object=session
            ),
        )
    return {}


async def update_user(
    backend: Backend,
    caller: Caller,
    object_id: str,
    body: Any,
    *,
    unit: Unit | None = None,
    expected: datetime | None = None,
) -> dict[str, Any]:
    """Only the user themself (or the master key) may change a user; a new password revokes other sessions.
    With `expected` (a conditional write, protocol/conditional.py) the version is checked by `objects.update` after
    these checks and before anything is written: a lost race writes no hash and revokes no session."""
    if caller.read_only:
        raise ParseError(errors.OPERATION_FORBIDDEN, "read-only master key cannot write")
    if not caller.master and caller.user_id != object_id:
        raise ParseError(errors.SESSION_MISSING, f"Cannot modify user {object_id}.")
    body, auth = authdata.split(body)  # -- hook: link / unlink providers (auth/authdata.py) --
    link = await authdata.plan_link(backend, caller, object_id, auth) if auth is not None else None
    fields, password = _normalise_user_body(body, creating=False)
    extra: dict[str, Any] = {}
    if password is not None:
        if not password:
            raise ParseError(errors.PASSWORD_MISSING, "password is required")
        extra["_hashed_password"] = await hash_password(password, backend.settings.bcrypt_rounds)
        extra["_password_changed_at"] = now_ms()
    if password is not None or "email" in fields:  # a reset link sent earlier must not outlive either
        extra["_perishable_token"] = extra["_perishable_token_expires_at"] = None

    async def revoke(u: Unit, values: dict[str, Any], response: dict[str, Any]) -> None:
        if link is not None:
            await authdata.apply_link(u.conn, object_id, link)
        if "email" in fields:  # -- hook: a changed address is verified again --
            await verify.on_user_saved(backend, u, object_id, values, response)
        if "username" in fields or "email" in fields:
            await _identifiers_free(u.conn, object_id, values.get("username"), values.get("email"))
        if password is None:
            return
        await u.conn.execute(
            'DELETE FROM "_Session" WHERE "user" = $1 AND "sessionToken" IS DISTINCT FROM $2',
            object_id,
            caller.session_token if caller.user_id == object_id else None,
        )
        await objects.auth_changed(backend, u, "u:" + object_id)
        if caller.user_id == object_id:
            await u.conn.execute('DELETE FROM "_Session" WHERE "sessionToken" = $1', caller.session_token)
            response["sessionToken"] = await _create_session(
                u, object_id, caller, backend.settings.session_length, "login"
            )

    return await objects.update(
        backend,
        caller,
        "_User",
        object_id,
        fields,
        unit=unit,
        extra_columns=extra,
        after_write=revoke,
        expected=expected,
    )


async def delete_user(
    backend: Backend, caller: Caller, object_id: str, *, unit: Unit | None = None, expected: datetime | None = None
) -> dict[str, Any]:
    if caller.read_only:
        raise ParseError(errors.OPERATION_FORBIDDEN, "read-only master key cannot write")
    if not caller.master and caller.user_id != object_id:
        raise ParseError(errors.SESSION_MISSING, f"Cannot delete user {object_id}.")
    return await objects.delete(backend, caller, "_User", object_id, unit=unit, expected=expected)
