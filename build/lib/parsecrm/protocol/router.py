"""The route table: path pattern → handlers by method. One dispatch serves HTTP requests and batch sub-requests."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from .. import errors
from ..backend import Backend
from ..errors import ParseError
from ..objects import Unit
from . import accounts, aggregate, batch, classes, config, functions, schemas
from .reply import Reply
from .transport import Call

Handler = Callable[..., Awaitable[Reply]]

_CLASS = r"(?P<cls>[^/]+)"
_ID = r"(?P<oid>[^/]+)"


def _alias(cls: str) -> dict[str, Handler]:
    """Handlers for /users, /roles, /sessions, /installations: /classes/<cls> with the class fixed."""

    def bind(fn: Handler) -> Handler:
        async def bound(backend: Backend, call: Call, unit: Unit | None, **kw: Any) -> Reply:
            return await fn(backend, call, unit, cls=cls, **kw)

        return bound

    return {
        "find": bind(classes.find),
        "create": bind(classes.create),
        "get": bind(classes.get),
        "update": bind(classes.update),
        "delete": bind(classes.delete),
    }


_users, _roles, _sessions, _installs = (_alias(c) for c in ("_User", "_Role", "_Session", "_Installation"))

ROUTES: list[tuple[re.Pattern[str], dict[str, Handler]]] = [
    (re.compile(p), h)
    for p, h in [
        (rf"^classes/{_CLASS}$", {"GET": classes.find, "POST": classes.create}),
        (rf"^classes/{_CLASS}/{_ID}$", {"GET": classes.get, "PUT": classes.update, "DELETE": classes.delete}),
        (r"^users/me$", {"GET": accounts.me}),
        (r"^users$", {"GET": _users["find"], "POST": _users["create"]}),
        (rf"^users/{_ID}$", {"GET": _users["get"], "PUT": _users["update"], "DELETE": _users["delete"]}),
        (r"^login$", {"GET": accounts.login, "POST": accounts.login}),
        (r"^logout$", {"POST": accounts.logout}),
        (r"^requestPasswordReset$", {"POST": accounts.request_password_reset}),
        (r"^apps/(?P<app>[^/]+)/request_password_reset$", {"GET": accounts.reset_form, "POST": accounts.reset_form}),
        (r"^verificationEmailRequest$", {"POST": accounts.verification_email}),
        (r"^verifyPassword$", {"GET": accounts.verify_password, "POST": accounts.verify_password}),
        (r"^upgradeToRevocableSession$", {"POST": accounts.upgrade_session}),
        (r"^sessions/me$", {"GET": accounts.session_me}),
        (r"^sessions$", {"GET": _sessions["find"], "POST": _sessions["create"]}),
        (rf"^sessions/{_ID}$", {"GET": _sessions["get"], "PUT": _sessions["update"], "DELETE": _sessions["delete"]}),
        (r"^roles$", {"GET": _roles["find"], "POST": _roles["create"]}),
        (rf"^roles/{_ID}$", {"GET": _roles["get"], "PUT": _roles["update"], "DELETE": _roles["delete"]}),
        (r"^installations$", {"GET": _installs["find"], "POST": _installs["create"]}),
        (
            rf"^installations/{_ID}$",
            {"GET": _installs["get"], "PUT": _installs["update"], "DELETE": _installs["delete"]},
        ),
        (r"^schemas$", {"GET": schemas.all_classes, "POST": schemas.create}),
        (
            rf"^schemas/{_CLASS}$",
            {"GET": schemas.one, "POST": schemas.create, "PUT": schemas.update, "DELETE": schemas.drop},
        ),
        (rf"^purge/{_CLASS}$", {"DELETE": schemas.purge}),
        (r"^batch$", {"POST": batch.run}),
        (r"^config$", {"GET": config.get_config, "PUT": config.put_config}),
        (r"^serverInfo$", {"GET": config.server_info}),
        (r"^functions/(?P<name>[A-Za-z0-9_.\-]+)$", {"POST": functions.run, "GET": functions.run}),
        (rf"^aggregate/{_CLASS}$", {"GET": aggregate.run, "POST": aggregate.run}),
        (r"^events/(?P<name>[^/]+)$", {"POST": config.event}),
        (r"^files(?P<rest>/.*)?$", {"GET": config.files, "POST": config.files, "DELETE": config.files}),
    ]
]

# Writes whose X-Parse-Request-Id makes a retry replay the first answer instead of running again.
IDEMPOTENT = re.compile(r"^(classes/|users|installations|functions/|batch$|roles|sessions)")


def resolve(method: str, path: str) -> tuple[Handler, dict[str, str]]:
    for pattern, handlers in ROUTES:
        m = pattern.match(path)
        if m:
            handler = handlers.get(method)
            if handler is None:
                raise ParseError(errors.COMMAND_UNAVAILABLE, f"{method} is not allowed on /{path[:100]}", status=405)
            return handler, m.groupdict()
    raise ParseError(errors.COMMAND_UNAVAILABLE, f"unknown route: {method} /{path[:100]}", status=404)


async def dispatch(backend: Backend, call: Call, unit: Unit | None) -> Reply:
    handler, groups = resolve(call.method, call.path)
    groups = {k: v for k, v in groups.items() if v is not None}
    return await handler(backend, call, unit, **groups)
