"""Email verification (parse-server's verifyUserEmails): `emailVerified`, the mailed link, the page it opens,
`/verificationEmailRequest`, and refusing log-ins until the address is verified.

- With PARSE_VERIFY_USER_EMAILS, a sign-up with an email, and any change of a user's email, sets
  `emailVerified: false` and a fresh token, and mails `<server>/apps/<appId>/verify_email?token=…` after commit.
- Opening the link sets `emailVerified: true` and forgets the token (it works once; PARSE_EMAIL_VERIFY_TOKEN_
  VALIDITY_DURATION bounds how long).
- With PARSE_PREVENT_LOGIN_WITH_UNVERIFIED_EMAIL too, a password sign-up returns no session and password log-in
  answers 205 until then (authData log-ins, e.g. anonymous users, are not held back).

Invariant: a verification token is a credential: it is only ever in the mail (never in a log or a response), and it
dies when used or when the email changes again.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from .. import errors, mail
from ..errors import ParseError
from ..objects import Unit
from ..security import ratelimit
from ..security.caller import Caller
from ..security.sessions import notify as notify_auth
from ..storage.pool import Connection

log = logging.getLogger("parsecrm.auth")
NOT_VERIFIED = "User email is not verified."
OTHER_CAUSE = -1  # Parse.Error.OTHER_CAUSE


async def _new_token(conn: Connection, backend: Any, user_id: str) -> str:
    """Mark the user unverified with a fresh token (any earlier link stops working)."""
    token = secrets.token_urlsafe(24)
    validity = backend.settings.email_verify_token_validity
    await conn.execute(
        'UPDATE "_User" SET "emailVerified" = false, "_email_verify_token" = $2, "_email_verify_token_expires_at" = '
        'CASE WHEN $3::float8 > 0 THEN now() + make_interval(secs => $3::float8) END WHERE "objectId" = $1',
        user_id,
        token,
        float(validity),
    )
    return token


def _mail_later(backend: Any, u: Unit, to: str, username: Any, token: str) -> None:
    """Send the link once the transaction commits (a rolled-back sign-up mails nothing)."""
    link = f"{backend.settings.server_url}/apps/{backend.settings.app_id}/verify_email?token={token}"
    text = (
        f"Hello {username},\n\nPlease confirm your email address by opening this link:\n\n{link}\n\n"
        "If you did not create an account, ignore this message."
    )

    async def send() -> None:
        try:
            await mail.send(backend, to, "Please verify your email address", text)
        except Exception:  # the account is saved; the user can ask for another mail
            log.exception("the verification mail to %s could not be sent", to)

    u.after_commit.append(send)


async def on_user_saved(backend: Any, u: Unit, user_id: str, values: dict[str, Any], response: dict[str, Any]) -> None:
    """After a sign-up or update wrote `values` (inside its transaction): start verifying a new email address."""
    email = values.get("email")
    if not backend.settings.verify_user_emails or not isinstance(email, str) or not email:
        return
    token = await _new_token(u.conn, backend, user_id)
    response["emailVerified"] = False
    username = values.get("username") or await u.conn.fetchval(
        'SELECT "username" FROM "_User" WHERE "objectId" = $1', user_id
    )
    _mail_later(backend, u, email, username, token)


def session_allowed(backend: Any) -> bool:
    """Whether a password sign-up gets a session at once (parse-server: not when log-ins wait for verification;
    the user logs in after opening the link). Sign-ups with authData always do."""
    s = backend.settings
    return not (s.verify_user_emails and s.prevent_login_with_unverified_email)


def check_login(backend: Any, user_json: dict[str, Any]) -> None:
    """Refuse a password log-in while the user's email is unverified (when the settings ask for it); as in
    parse-server, a user without `emailVerified: true` is refused, with or without an address."""
    s = backend.settings
    if s.verify_user_emails and s.prevent_login_with_unverified_email and user_json.get("emailVerified") is not True:
        raise ParseError(errors.EMAIL_NOT_FOUND, NOT_VERIFIED)


async def verify(backend: Any, token: str) -> bool:
    """The link was opened: verify the address it was sent to. False when the token is unknown or expired."""
    async with backend.pool.acquire() as conn, conn.transaction():
        user_id = await conn.fetchval(
            'UPDATE "_User" SET "emailVerified" = true, "_email_verify_token" = NULL, '
            '"_email_verify_token_expires_at" = NULL WHERE "_email_verify_token" = $1 AND '
            '("_email_verify_token_expires_at" IS NULL OR "_email_verify_token_expires_at" > now()) '
            'RETURNING "objectId"',
            token,
        )
        if user_id is not None:
            await notify_auth(conn, "u:" + user_id)  # cached users (request.user in hooks) see it at once
    if user_id is not None:
        backend.sessions.invalidate("u:" + user_id)
    return user_id is not None


async def request_mail(backend: Any, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    """`POST /verificationEmailRequest`: mail a new link to an unverified address."""
    email = params.get("email")
    if email is None or email == "":
        raise ParseError(errors.EMAIL_MISSING, "you must provide an email")
    if not isinstance(email, str):
        raise ParseError(errors.INVALID_EMAIL_ADDRESS, "you must provide a valid email string")
    email = email.strip()[:320]
    s = backend.settings
    if not caller.master:
        await ratelimit.take(backend.pool, ratelimit.Subject("verify", "ip", caller.ip or ""), s.rate_reset_ip)
        await ratelimit.take(backend.pool, ratelimit.Subject("mail", "user", email.lower()), s.rate_reset_user)
    row = await backend.pool.fetchrow(
        'SELECT "objectId", "username", "email", "emailVerified" FROM "_User" WHERE lower("email") = lower($1)', email
    )
    if row is None:
        if s.email_verify_success_on_invalid_email:
            return {}
        raise ParseError(errors.EMAIL_NOT_FOUND, f"No user found with email {email}")
    if row["emailVerified"] is True:
        if s.email_verify_success_on_invalid_email:
            return {}
        raise ParseError(OTHER_CAUSE, f"Email {email} is already verified.")
    if not s.verify_user_emails:  # parse-server's sendVerificationEmail does nothing then
        return {}
    async with backend.pool.acquire() as conn, conn.transaction():
        u = Unit(conn)
        token = await _new_token(conn, backend, row["objectId"])
        _mail_later(backend, u, row["email"], row["username"], token)
    for job in u.after_commit:
        await job()
    return {}
