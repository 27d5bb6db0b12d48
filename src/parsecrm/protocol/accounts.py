"""Log-in, log-out, `me`, sessions, password resets and the invitation page."""

from __future__ import annotations

import html

from .. import errors, objects, users
from ..auth import reset
from ..backend import Backend
from ..errors import ParseError
from ..objects import Unit
from ..security.caller import Caller
from .reply import Reply
from .transport import Call


async def login(backend: Backend, call: Call, unit: Unit | None) -> Reply:
    params = call.params()
    await users.limit_log_in(backend, call.caller, params)
    caller = Caller(ip=call.caller.ip, installation_id=call.caller.installation_id, headers=call.caller.headers)
    return Reply(await users.log_in(backend, caller, params))


async def logout(backend: Backend, call: Call, unit: Unit | None) -> Reply:
    return Reply(await users.log_out(backend, call.caller))


async def me(backend: Backend, call: Call, unit: Unit | None) -> Reply:
    return Reply(await users.me(backend, call.caller))


async def session_me(backend: Backend, call: Call, unit: Unit | None) -> Reply:
    caller = call.caller
    if not caller.session_token:
        raise ParseError(errors.INVALID_SESSION_TOKEN, "Session token required.")
    found = await objects.query_json(
        backend, caller, "_Session", {"where": {"sessionToken": caller.session_token}, "limit": 1}
    )
    if not found:
        raise ParseError(errors.INVALID_SESSION_TOKEN, "Invalid session token")
    return Reply(found[0])


async def request_password_reset(backend: Backend, call: Call, unit: Unit | None) -> Reply:
    return Reply(await reset.request_password_reset(backend, call.params(), call.caller))


RESET_FORM = """<!doctype html><meta charset="utf-8"><title>Choose a new password</title>
<form method="post"><input type="hidden" name="token" value="{token}">
<label>New password <input type="password" name="new_password" minlength="6" required></label>
<button>Set password</button></form>"""


async def reset_form(backend: Backend, call: Call, unit: Unit | None, app: str) -> Reply:
    """The page the reset link opens (GET) and the form it posts (POST, form-encoded or JSON)."""
    params = call.params()
    token = params.get("token")
    if not isinstance(token, str) or not token:
        raise ParseError(errors.OBJECT_NOT_FOUND, "Failed to reset password: the link is invalid or has expired.")
    if call.method == "GET":
        page = RESET_FORM.format(token=html.escape(token, quote=True)).encode()
        return Reply(page, headers=[(b"content-type", b"text/html; charset=utf-8")])
    password = params.get("new_password")
    if not isinstance(password, str) or len(password) < 1:
        raise ParseError(errors.PASSWORD_MISSING, "new_password is required")
    await reset.reset_password(backend, token, password)
    return Reply({"status": "password changed"})


async def verify_password(backend: Backend, call: Call, unit: Unit | None) -> Reply:
    caller = Caller(ip=call.caller.ip, headers=call.caller.headers)
    params = call.params()
    await users.limit_log_in(backend, call.caller, params)  # a password oracle like log-in itself
    body = await users.log_in(backend, caller, params)
    # verifyPassword answers with the user but must not leave a new session behind
    import orjson

    data = orjson.loads(body)
    token = data.pop("sessionToken", None)
    if token:
        await users.log_out(backend, Caller(session_token=token))
    return Reply(data)


async def upgrade_session(backend: Backend, call: Call, unit: Unit | None) -> Reply:
    raise ParseError(errors.INVALID_SESSION_TOKEN, "Only revocable sessions exist on this server.")


INVITE_FORM = """<!doctype html><meta charset="utf-8"><title>Create your account</title>
<form method="post"><input type="hidden" name="token" value="{token}">
<label>User name <input name="username" autocomplete="username" required></label>
<label>Password <input type="password" name="password" minlength="6" autocomplete="new-password" required></label>
<button>Create account</button></form>"""


async def invite_form(backend: Backend, call: Call, unit: Unit | None, app: str) -> Reply:
    """The page an invitation link opens (GET) and the form it posts (POST): creates the invited account."""
    params = call.params()
    token = params.get("token")
    if not isinstance(token, str) or not token:
        raise ParseError(errors.OBJECT_NOT_FOUND, "This invitation is invalid, has been used or has expired.")
    if call.method == "GET":
        page = INVITE_FORM.format(token=html.escape(token, quote=True)).encode()
        return Reply(page, headers=[(b"content-type", b"text/html; charset=utf-8")])
    body = {"username": params.get("username"), "password": params.get("password"), "inviteToken": token}
    created = await users.sign_up(backend, call.caller, body)
    return Reply({"status": "account created", "objectId": created["objectId"]}, 201)
