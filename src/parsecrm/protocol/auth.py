"""`/loginAs` (master key: a session as any user), and email verification: `/verificationEmailRequest` and the
page the verification link opens. The logic lives in parsecrm.auth; this is the HTTP edge."""

from __future__ import annotations

import orjson

from .. import errors, objects, users
from ..backend import Backend
from ..errors import ParseError
from ..objects import Unit
from ..security.caller import MASTER
from .reply import Reply
from .transport import Call


async def login_as(backend: Backend, call: Call, unit: Unit | None) -> Reply:
    """parse-server's handleLogInAs: the user as a log-in returns it, with a new session made by the master key."""
    caller = call.caller
    if not caller.master:
        raise ParseError(errors.OPERATION_FORBIDDEN, "master key is required")
    user_id = call.params().get("userId")
    if not isinstance(user_id, str) or not user_id:
        raise ParseError(errors.INVALID_VALUE, "userId must not be empty, null, or undefined")
    user_json = await objects.fetch_one(backend, MASTER, "_User", user_id[:100])
    if user_json is None:
        raise ParseError(errors.OBJECT_NOT_FOUND, "user not found")

    async def work(u: Unit) -> str:
        length = backend.settings.session_length
        return await users._create_session(u, user_json["objectId"], caller, length, "login", "masterkey")

    user_json["sessionToken"] = await objects.in_unit(backend, unit, work)
    return Reply(orjson.dumps(user_json))
