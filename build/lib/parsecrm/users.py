"""Users and sessions: sign-up, log-in, log-out, `me`, password hashing and resets, lock-out after failed log-ins.

Passwords are bcrypt hashes (as parse-server stores them, so users moved from a Parse database keep their passwords),
verified off the event loop. Session tokens are `r:` + 32 random hex characters, revocable and expiring.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from datetime import timedelta
from typing import Any

import bcrypt
import orjson

from . import errors, objects
from .backend import Backend
from .cloud.objects import ParseObject
from .cloud.registry import Request
from .errors import ParseError
from .objects import Unit, in_unit
from .security.caller import MASTER, Caller
from .security.sessions import notify as notify_auth
from .security.sessions import token_key
from .values import now_ms

log = logging.getLogger("parsecrm.users")

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# A real bcrypt hash to check against when the user does not exist, so timing does not reveal usernames.
_DUMMY_HASH = bcrypt.hashpw(b"not a password", bcrypt.gensalt(4))


async def hash_password(password: str, rounds: int) -> str:
    return (await asyncio.to_thread(bcrypt.hashpw, password.encode(), bcrypt.gensalt(rounds))).decode()


async def verify_password(password: str, hashed: str | None) -> bool:
    target = (hashed or "").encode() or _DUMMY_HASH
    try:
        ok = await asyncio.to_thread(bcrypt.checkpw, password.encode(), target)
    except ValueError:
        return False
    return ok and hashed is not None


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


async def _create_session(u: Unit, user_id: str, caller: Caller, settings_length: int, action: str) -> str:
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
        {"action": action, "authProvider": "password"},
        [user_id],
        {user_id: {"read": True, "write": True}},
    )
    return token


async def sign_up(backend: Backend, caller: Caller, body: Any, *, unit: Unit | None = None) -> dict[str, Any]:
    fields, password = _normalise_user_body(body, creating=True)
    assert password is not None
    hashed = await hash_password(password, backend.settings.bcrypt_rounds)

    async def work(u: Unit) -> dict[str, Any]:
        user_id = objects.new_id()
        if "ACL" not in fields:  # private: only the user (and the master key) can read or write it
            fields["ACL"] = {user_id: {"read": True, "write": True}}
        response = await objects.create(
            backend, caller, "_User", fields, unit=u, extra_columns={"_hashed_password": hashed}, object_id=user_id
        )
        response["sessionToken"] = await _create_session(u, user_id, caller, backend.settings.session_length, "signup")
        return response

    return await in_unit(backend, unit, work)


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


async def log_in(backend: Backend, caller: Caller, params: dict[str, Any]) -> bytes:
    username, email, password = params.get("username"), params.get("email"), params.get("password")
    if not isinstance(username, str) and not isinstance(email, str):
        raise ParseError(errors.USERNAME_MISSING, "username/email is required.")
    if not isinstance(password, str) or not password:
        raise ParseError(errors.PASSWORD_MISSING, "password is required.")
    row = await _user_row(
        backend, username if isinstance(username, str) else None, email if isinstance(email, str) else None
    )
    now = now_ms()
    if row is not None and row["_account_lockout_expires_at"] and row["_account_lockout_expires_at"] > now:
        raise ParseError(
            errors.OBJECT_NOT_FOUND,
            "Your account is locked due to multiple failed login attempts. Please try again later.",
        )
    ok = await verify_password(password, row["_hashed_password"] if row else None)
    if row is None or not ok:
        if row is not None:
            await backend.pool.execute(
                'UPDATE "_User" SET "_failed_login_count" = "_failed_login_count" + 1, '
                '"_account_lockout_expires_at" = '
                'CASE WHEN "_failed_login_count" + 1 >= $2::int THEN $3::timestamptz ELSE NULL END '
                'WHERE "objectId" = $1',
                row["objectId"],
                backend.settings.login_max_failures,
                now + timedelta(seconds=backend.settings.login_lockout_seconds),
            )
        raise ParseError(errors.OBJECT_NOT_FOUND, "Invalid username/password.")
    user_id = row["objectId"]
    user_json = await objects.fetch_one(backend, MASTER, "_User", user_id)
    assert user_json is not None
    if backend.cloud.has("beforeLogin", "_User"):
        req = Request("beforeLogin", caller, object=ParseObject.from_json("_User", user_json), backend=backend)
        await backend.cloud.run("beforeLogin", "_User", req)

    async def work(u: Unit) -> str:
        if row["_failed_login_count"]:
            await u.conn.execute(
                'UPDATE "_User" SET "_failed_login_count" = 0, "_account_lockout_expires_at" = NULL '
                'WHERE "objectId" = $1',
                user_id,
            )
        return await _create_session(u, user_id, caller, backend.settings.session_length, "login")

    token = await in_unit(backend, None, work)
    user_json["sessionToken"] = token
    if backend.cloud.has("afterLogin", "_User"):
        req = Request("afterLogin", caller, object=ParseObject.from_json("_User", user_json), backend=backend)
        await backend.cloud.run("afterLogin", "_User", req)
    return orjson.dumps(user_json)


async def me(backend: Backend, caller: Caller) -> bytes:
    if not caller.session_token or not caller.user_id:
        raise ParseError(errors.INVALID_SESSION_TOKEN, "Invalid session token")
    user_json = await objects.fetch_one(backend, MASTER, "_User", caller.user_id)
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
            "afterLogout", "_Session", Request("afterLogout", caller, object=session, backend=backend)
        )
    return {}


async def update_user(
    backend: Backend, caller: Caller, object_id: str, body: Any, *, unit: Unit | None = None
) -> dict[str, Any]:
    """Only the user themself (or the master key) may change a user; a new password revokes other sessions."""
    if not caller.master and caller.user_id != object_id:
        raise ParseError(errors.SESSION_MISSING, f"Cannot modify user {object_id}.")
    fields, password = _normalise_user_body(body, creating=False)
    extra: dict[str, Any] = {}
    if password is not None:
        if not password:
            raise ParseError(errors.PASSWORD_MISSING, "password is required")
        extra["_hashed_password"] = await hash_password(password, backend.settings.bcrypt_rounds)
        extra["_password_changed_at"] = now_ms()

    async def revoke(u: Unit, _values: dict[str, Any], response: dict[str, Any]) -> None:
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
        backend, caller, "_User", object_id, fields, unit=unit, extra_columns=extra, after_write=revoke
    )


async def delete_user(backend: Backend, caller: Caller, object_id: str, *, unit: Unit | None = None) -> dict[str, Any]:
    if not caller.master and caller.user_id != object_id:
        raise ParseError(errors.SESSION_MISSING, f"Cannot delete user {object_id}.")
    return await objects.delete(backend, caller, "_User", object_id, unit=unit)


async def request_password_reset(backend: Backend, params: dict[str, Any]) -> dict[str, Any]:
    email = params.get("email")
    if not isinstance(email, str) or not email:
        raise ParseError(errors.EMAIL_MISSING, "you must provide an email")
    token = secrets.token_urlsafe(24)
    row = await backend.pool.fetchrow(
        'UPDATE "_User" SET "_perishable_token" = $2, "_perishable_token_expires_at" = now() + interval \'1 hour\' '
        'WHERE lower("email") = lower($1) RETURNING "objectId", "username"',
        email.strip(),
        token,
    )
    if row is not None:  # unknown addresses get the same answer, so the endpoint cannot probe for accounts
        link = f"{backend.settings.server_url}/apps/{backend.settings.app_id}/request_password_reset?token={token}"
        text = (
            f"Hello {row['username']},\n\nSomeone asked to reset your password. Open this link within an hour "
            f"to choose a new one:\n\n{link}\n\nIf it was not you, ignore this message."
        )
        await (backend.cloud.mailer or log_mail)(email.strip().lower(), "Reset your password", text)
    return {}


async def reset_password(backend: Backend, token: str, new_password: str) -> None:
    if not token or not new_password:
        raise ParseError(errors.PASSWORD_MISSING, "token and new_password are required")
    hashed = await hash_password(new_password, backend.settings.bcrypt_rounds)
    async with backend.pool.acquire() as conn, conn.transaction():
        user_id = await conn.fetchval(
            'UPDATE "_User" SET "_hashed_password" = $2, "_perishable_token" = NULL, "_password_changed_at" = now(), '
            '"_failed_login_count" = 0, "_account_lockout_expires_at" = NULL '
            'WHERE "_perishable_token" = $1 AND "_perishable_token_expires_at" > now() RETURNING "objectId"',
            token,
            hashed,
        )
        if user_id is None:
            raise ParseError(errors.OBJECT_NOT_FOUND, "Failed to reset password: the link is invalid or has expired.")
        await conn.execute('DELETE FROM "_Session" WHERE "user" = $1', user_id)
        await notify_auth(conn, "u:" + user_id)
    backend.sessions.invalidate("u:" + user_id)


async def log_mail(to: str, subject: str, text: str) -> None:
    """The default mail sender (development): the message goes to the log instead of a mailbox."""
    log.warning("mail to %s: %s\n%s", to, subject, text)
