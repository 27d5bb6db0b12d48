"""The route table: every path the API answers, with its handlers and facts (see router.py for what a Route says).

`/users`, `/roles`, `/sessions` and `/installations` are `/classes/<system class>` with the class fixed. OPTIONS on
any path is a CORS preflight the app answers itself, before routing; so is `/files` (protocol/files.py), whose
bodies are bytes rather than API JSON and whose downloads need no credentials.
"""

from __future__ import annotations

from typing import Any

from ..backend import Backend
from ..objects import Unit
from . import accounts, aggregate, auth, batch, classes, config, functions, jobs, schemas
from .reply import Reply
from .router import Auth, Handler, Route, Router
from .transport import Call

_CLASS = r"(?P<cls>[^/]+)"
_ID = r"(?P<oid>[^/]+)"


def _fixed_class(fn: Handler, cls: str) -> Handler:
    async def bound(backend: Backend, call: Call, unit: Unit | None, **groups: Any) -> Reply:
        return await fn(backend, call, unit, cls=cls, **groups)

    return bound


def _system_class(path: str, cls: str) -> list[Route]:
    """The two routes of a system class alias: `/<path>` (find, create) and `/<path>/<id>` (get, update, delete)."""
    return [
        Route(
            path, {"GET": _fixed_class(classes.find, cls), "POST": _fixed_class(classes.create, cls)}, replayable=True
        ),
        Route(
            f"{path}/{_ID}",
            {
                m: _fixed_class(fn, cls)
                for m, fn in (("GET", classes.get), ("PUT", classes.update), ("DELETE", classes.delete))
            },
            replayable=True,
        ),
    ]


async def _batch(backend: Backend, call: Call, unit: Unit | None) -> Reply:
    return await batch.run(backend, call, unit, ROUTER)


ROUTES: list[Route] = [
    Route(f"classes/{_CLASS}", {"GET": classes.find, "POST": classes.create}, replayable=True, bulk_create=True),
    Route(
        f"classes/{_CLASS}/{_ID}",
        {"GET": classes.get, "PUT": classes.update, "DELETE": classes.delete},
        replayable=True,
    ),
    Route("users/me", {"GET": accounts.me}),
    *_system_class("users", "_User"),
    Route("login", {"GET": accounts.login, "POST": accounts.login}, auth=Auth.KEYS),
    Route("logout", {"POST": accounts.logout}),
    Route("loginAs", {"POST": auth.login_as}),
    Route("requestPasswordReset", {"POST": accounts.request_password_reset}),
    Route(
        r"apps/(?P<app>[^/]+)/request_password_reset",
        {"GET": accounts.reset_form, "POST": accounts.reset_form},
        auth=Auth.LINK,
    ),
    Route(r"apps/(?P<app>[^/]+)/invite", {"GET": accounts.invite_form, "POST": accounts.invite_form}, auth=Auth.LINK),
    Route("verificationEmailRequest", {"POST": auth.verification_email}),
    Route(r"apps/(?P<app>[^/]+)/verify_email", {"GET": auth.verify_email, "POST": auth.verify_email}, auth=Auth.LINK),
    Route("verifyPassword", {"GET": accounts.verify_password, "POST": accounts.verify_password}),
    Route("upgradeToRevocableSession", {"POST": accounts.upgrade_session}),
    Route("sessions/me", {"GET": accounts.session_me}),
    *_system_class("sessions", "_Session"),
    *_system_class("roles", "_Role"),
    *_system_class("installations", "_Installation"),
    Route("schemas", {"GET": schemas.all_classes, "POST": schemas.create}),
    Route(
        f"schemas/{_CLASS}", {"GET": schemas.one, "POST": schemas.create, "PUT": schemas.update, "DELETE": schemas.drop}
    ),
    Route(f"purge/{_CLASS}", {"DELETE": schemas.purge}),
    Route("batch", {"POST": _batch}, replayable=True),
    Route("config", {"GET": config.get_config, "PUT": config.put_config}),
    Route("serverInfo", {"GET": config.server_info}),
    Route(r"functions/(?P<name>[A-Za-z0-9_.\-]+)", {"POST": functions.run, "GET": functions.run}, replayable=True),
    Route(f"aggregate/{_CLASS}", {"GET": aggregate.run, "POST": aggregate.run}),
    # -- jobs (jobs.py) --
    Route(r"jobs/(?P<name>[A-Za-z0-9_.\-]+)", {"POST": jobs.run}),
    Route("jobs", {"POST": jobs.run}),
    Route("cloud_code/jobs/data", {"GET": jobs.data}),
    Route("cloud_code/jobs", {"GET": jobs.scheduled, "POST": jobs.create_schedule}),
    Route(f"cloud_code/jobs/{_ID}", {"PUT": jobs.edit_schedule, "DELETE": jobs.delete_schedule}),
    Route(r"events/(?P<name>[^/]+)", {"POST": config.event}),
    Route("health", {"GET": config.health, "POST": config.health}, auth=Auth.NONE),
]

ROUTER = Router(ROUTES)
