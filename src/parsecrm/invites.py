"""Who may create an account (`CRM_SIGNUP`), and invitations.

- `open` (parse-server's behaviour, the default): anyone may sign up.
- `invite`: only with an invitation. A manager or admin (role `Managers`, which admins hold) calls
  `Parse.Cloud.run('inviteUser', {email})`; the mail's link opens a page that creates the account, or an app signs
  up with the token (`inviteToken` beside username and password). The account gets the invited address.
- `domains`: anyone with an address at one of `CRM_SIGNUP_DOMAINS` may ask for an invitation
  (`Parse.Cloud.run('requestInvite', {email})`); following the mailed link proves they own the mailbox, which a
  plain "the address ends in @example.com" check at sign-up would not (anyone can type any address).

The master key always creates accounts directly. An invitation works once, until `CRM_INVITE_TTL`; only a hash of
its token is stored, and it is consumed in the sign-up's own transaction (a failed sign-up leaves it usable).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from . import errors, mail
from .backend import Backend
from .cloud.registry import Cloud
from .cloud.requests import FunctionRequest
from .errors import ParseError
from .security import ratelimit
from .security.caller import Caller
from .storage.pool import Connection
from .values import EMAIL, iso, now_ms

INVITERS = frozenset({"Managers", "Admins"})
INVALID_INVITE = "This invitation is invalid, has been used or has expired."


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def admit(backend: Backend, caller: Caller, fields: dict[str, Any], conn: Connection) -> None:
    """Inside a sign-up's transaction: raise unless the sign-up policy admits this account; consume its
    invitation (`inviteToken`, removed from `fields`; the invited address becomes the account's email)."""
    token = fields.pop("inviteToken", None)
    if caller.master and token is None:
        return
    if token is None:
        if backend.settings.signup == "open":
            return
        how = "ask a manager" if backend.settings.signup == "invite" else "request an invitation"
        raise ParseError(errors.OPERATION_FORBIDDEN, f"Sign-up is by invitation only: {how}.")
    if not isinstance(token, str) or not token:
        raise ParseError(errors.OBJECT_NOT_FOUND, INVALID_INVITE)
    invited = await conn.fetchval(
        'UPDATE "_Invite" SET "usedAt" = now() WHERE "tokenHash" = $1 AND "usedAt" IS NULL AND "expiresAt" > now() '
        'RETURNING "email"',
        token_hash(token),
    )
    if invited is None:
        raise ParseError(errors.OBJECT_NOT_FOUND, INVALID_INVITE)
    email = fields.get("email")
    if email is None:
        fields["email"] = invited
    elif not isinstance(email, str) or email.lower() != invited.lower():
        raise ParseError(errors.INVALID_EMAIL_ADDRESS, "The invitation was sent to a different address.")


def _address(params: dict[str, Any]) -> str:
    email = params.get("email")
    if not isinstance(email, str) or not email.strip():
        raise ParseError(errors.EMAIL_MISSING, "you must provide an email")
    email = email.strip().lower()
    if not EMAIL.match(email):
        raise ParseError(errors.INVALID_EMAIL_ADDRESS, "Email address format is invalid.")
    return email


async def _account_exists(backend: Backend, email: str) -> bool:
    return bool(await backend.pool.fetchval('SELECT 1 FROM "_User" WHERE lower("email") = $1', email))


async def _send_invitation(backend: Backend, email: str, inviter: str | None, why: str) -> dict[str, Any]:
    token = secrets.token_urlsafe(24)
    expires = now_ms() + timedelta(seconds=backend.settings.invite_ttl)
    await backend.pool.execute(
        'INSERT INTO "_Invite" ("tokenHash", "email", "invitedBy", "expiresAt") VALUES ($1, $2, $3, $4)',
        token_hash(token),
        email,
        inviter,
        expires,
    )
    s = backend.settings
    link = f"{s.server_url}/apps/{s.app_id}/invite?token={token}"
    text = (
        f"Hello,\n\n{why}\n\nOpen this link to choose your user name and password:\n\n{link}\n\n"
        f"The link works once, until {iso(expires)}. If you did not expect this message, ignore it."
    )
    await mail.send(backend, email, "Your invitation to the CRM", text)
    return {"email": email, "expiresAt": {"__type": "Date", "iso": iso(expires)}}


def _backend(req: FunctionRequest) -> Backend:
    assert req.backend is not None  # the server always runs functions with its backend
    return req.backend


async def invite_user(req: FunctionRequest) -> dict[str, Any]:
    """`inviteUser {email}`: managers and admins (and the master key) invite a colleague by mail."""
    caller = req.caller
    if not caller.master and not (caller.roles & INVITERS):
        raise ParseError(errors.OPERATION_FORBIDDEN, "Only managers and admins can invite users.")
    backend = _backend(req)
    email = _address(req.params)
    if await _account_exists(backend, email):
        raise ParseError(errors.EMAIL_TAKEN, "Account already exists for this email address.")
    if not caller.master:
        await ratelimit.take(backend.pool, ratelimit.Subject("mail", "user", email), backend.settings.rate_reset_user)
    return await _send_invitation(backend, email, caller.user_id, "You have been invited to the team's CRM.")


async def request_invite(req: FunctionRequest) -> dict[str, Any]:
    """`requestInvite {email}` (CRM_SIGNUP=domains): an address at an allowed domain gets an invitation by mail.
    The answer is the same whether or not the address already has an account, so it cannot probe for accounts."""
    backend = _backend(req)
    s = backend.settings
    if s.signup != "domains":
        raise ParseError(errors.OPERATION_FORBIDDEN, "Invitations are sent by managers on this server.")
    email = _address(req.params)
    if email.rsplit("@", 1)[1] not in s.signup_domains:
        raise ParseError(
            errors.OPERATION_FORBIDDEN, f"Sign-up is open to addresses at {', '.join(s.signup_domains)} only."
        )
    if not req.caller.master:
        await ratelimit.take(backend.pool, ratelimit.Subject("signup", "ip", req.caller.ip or ""), s.rate_signup_ip)
        await ratelimit.take(backend.pool, ratelimit.Subject("mail", "user", email), s.rate_reset_user)
    if not await _account_exists(backend, email):
        await _send_invitation(backend, email, None, "You asked to join the team's CRM.")
    return {}


def cloud() -> Cloud:
    """The two functions, registered like any Cloud Code (a deployment's own functions of the same name win)."""
    out = Cloud()
    out.define("inviteUser")(invite_user)
    out.define("requestInvite")(request_invite)
    return out
