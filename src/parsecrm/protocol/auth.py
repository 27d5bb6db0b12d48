"""`/loginAs` (master key: a session as any user), and email verification: `/verificationEmailRequest` and the
page the verification link opens. The logic lives in parsecrm.auth; this is the HTTP edge."""

from __future__ import annotations

import orjson

from .. import errors, objects, users
from ..auth import verify
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
    user_json = await objects.fetch_json(backend, MASTER, "_User", user_id[:100])
    if user_json is None:
        raise ParseError(errors.OBJECT_NOT_FOUND, "user not found")

    async def work(u: Unit) -> str:
        length = backend.settings.session_length
        return await users._create_session(u, user_json["objectId"], caller, length, "login", "masterkey")

    user_json["sessionToken"] = await objects.in_unit(backend, unit, work)
    return Reply(orjson.dumps(user_json))


async def verification_email(backend: Backend, call: Call, unit: Unit | None) -> Reply:
    return Reply(await verify.request_mail(backend, call.caller, call.params()))


PAGE = """<!doctype html><meta charset="utf-8"><title>{title}</title>
<h1>{title}</h1><p>{text}</p>"""


async def verify_email(backend: Backend, call: Call, unit: Unit | None, app: str) -> Reply:
    """The page the verification link opens (GET; POST with the token in a form or JSON works too)."""
    token = call.params().get("token")
    ok = isinstance(token, str) and 0 < len(token) <= 200 and await verify.verify(backend, token)
    if ok:
        page, status = PAGE.format(title="Email verified", text="Thank you: your email address is verified."), 200
    else:
        text = "This link is invalid, has been used or has expired. Ask the app to send you a new one."
        page, status = PAGE.format(title="Invalid link", text=text), 400
    return Reply(page.encode(), status, [(b"content-type", b"text/html; charset=utf-8")])
