"""Log-in, log-out, `me`, sessions and password resets."""

from __future__ import annotations

from .. import errors, objects, users
from ..backend import Backend
from ..errors import ParseError
from ..objects import Unit
from ..security.caller import Caller
from .reply import Reply
from .transport import Call


async def login(backend: Backend, call: Call, unit: Unit | None) -> Reply:
    caller = Caller(ip=call.caller.ip, installation_id=call.caller.installation_id, headers=call.caller.headers)
    return Reply(await users.log_in(backend, caller, call.params()))


async def logout(backend: Backend, call: Call, unit: Unit | None) -> Reply:
    return Reply(await users.log_out(backend, call.caller))


async def me(backend: Backend, call: Call, unit: Unit | None) -> Reply:
    return Reply(await users.me(backend, call.caller))


async def session_me(backend: Backend, call: Call, unit: Unit | None) -> Reply:
    caller = call.caller
    if not caller.session_token:
        raise ParseError(errors.INVALID_SESSION_TOKEN, "Session token required.")
    found = await objects.query(
        backend, caller, "_Session", {"where": {"sessionToken": caller.session_token}, "limit": 1}
    )
    if not found:
        raise ParseError(errors.INVALID_SESSION_TOKEN, "Invalid session token")
    return Reply(found[0])


async def request_password_reset(backend: Backend, call: Call, unit: Unit | None) -> Reply:
    return Reply(await users.request_password_reset(backend, call.params()))


RESET_FORM = """<!doctype html><meta charset="utf-8"><title>Choose a new password</title>
<form method="post"><input type="hidden" name="token" value="{token}">
<label>New password <input type="password" name="new_password" minlength="6" required></label>
<button>Set password</button></form>"""


async def reset_form(backend: Backend, call: Call, unit: Unit | None, app: str) -> Reply:
    """The page the reset link opens (GET) and the form it posts (POST, form-encoded or JSON)."""
    import html

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
    await users.reset_password(backend, token, password)
    return Reply({"status": "password changed"})


async def verify_password(backend: Backend, call: Call, unit: Unit | None) -> Reply:
    caller = Caller(ip=call.caller.ip, headers=call.caller.headers)
    params = call.params()
    body = await users.log_in(backend, caller, params)
    # verifyPassword answers with the user but must not leave a new session behind
    import orjson

    data = orjson.loads(body)
    token = data.pop("sessionToken", None)
    if token:
        await users.log_out(backend, Caller(session_token=token))
    return Reply(data)


async def verification_email(backend: Backend, call: Call, unit: Unit | None) -> Reply:
    email = call.params().get("email")
    if not isinstance(email, str) or not email:
        raise ParseError(errors.EMAIL_MISSING, "you must provide an email")
    return Reply({})


async def upgrade_session(backend: Backend, call: Call, unit: Unit | None) -> Reply:
    raise ParseError(errors.INVALID_SESSION_TOKEN, "Only revocable sessions exist on this server.")
