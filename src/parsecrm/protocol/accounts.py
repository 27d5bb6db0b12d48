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
    return Reply(await users.request_password_reset(backend, call.params(), users.log_reset_link))


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
