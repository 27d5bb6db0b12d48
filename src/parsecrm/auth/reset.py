"""Password reset links: the mail (`/requestPasswordReset`, GraphQL `resetPassword`) and setting the new password
(the link's page, GraphQL `confirmResetPassword`). A link works once, for an hour; unknown addresses get the same
answer as known ones; using it ends every session of the user and clears a lock-out."""

from __future__ import annotations

import secrets
from typing import Any

from .. import errors, mail
from ..backend import Backend
from ..errors import ParseError
from ..security import ratelimit
from ..security.caller import Caller
from ..security.sessions import notify as notify_auth
from .passwords import hash_password


async def request_password_reset(
    backend: Backend, params: dict[str, Any], caller: Caller | None = None
) -> dict[str, Any]:
    email = params.get("email")
    if not isinstance(email, str) or not email:
        raise ParseError(errors.EMAIL_MISSING, "you must provide an email")
    if caller is not None and not caller.master:
        s = backend.settings
        await ratelimit.take(backend.pool, ratelimit.Subject("reset", "ip", caller.ip or ""), s.rate_reset_ip)
        await ratelimit.take(backend.pool, ratelimit.Subject("mail", "user", email), s.rate_reset_user)
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
        await mail.send(backend, email.strip().lower(), "Reset your password", text)
    return {}


async def reset_password(backend: Backend, token: str, new_password: str, username: str | None = None) -> None:
    """Set the password a reset link was sent for (the link's page, and GraphQL's confirmResetPassword, which names
    the user too: then the token must be that user's, as parse-server checks)."""
    if not token or not new_password:
        raise ParseError(errors.PASSWORD_MISSING, "token and new_password are required")
    hashed = await hash_password(new_password, backend.settings.bcrypt_rounds)
    async with backend.pool.acquire() as conn, conn.transaction():
        user_id = await conn.fetchval(
            'UPDATE "_User" SET "_hashed_password" = $2, "_perishable_token" = NULL, "_password_changed_at" = now(), '
            '"_failed_login_count" = 0, "_account_lockout_expires_at" = NULL '
            'WHERE "_perishable_token" = $1 AND "_perishable_token_expires_at" > now() '
            'AND ($3::text IS NULL OR "username" = $3) RETURNING "objectId"',
            token,
            hashed,
            username,
        )
        if user_id is None:
            raise ParseError(errors.OBJECT_NOT_FOUND, "Failed to reset password: the link is invalid or has expired.")
        await conn.execute('DELETE FROM "_Session" WHERE "user" = $1', user_id)
        await notify_auth(conn, "u:" + user_id)
    backend.sessions.invalidate("u:" + user_id)
