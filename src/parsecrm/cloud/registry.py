"""The hook registry: one instance per server; the CRM's own rules register through it like any deployment's."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from ..errors import ErrorCode, ParseError, as_api_error
from .requests import (
    AfterFindRequest,
    ConnectRequest,
    DeleteRequest,
    EventRequest,
    FindRequest,
    FunctionRequest,
    LoginRequest,
    LogoutRequest,
    Request,
    SaveRequest,
    SubscribeRequest,
)

log = logging.getLogger("parsecrm.cloud")

TRIGGERS = (
    "beforeSave",
    "afterSave",
    "beforeDelete",
    "afterDelete",
    "beforeFind",
    "afterFind",
    "beforeLogin",
    "afterLogin",
    "afterLogout",
    "beforeConnect",
    "beforeSubscribe",
    "afterEvent",
)

Handler = Callable[[Any], Awaitable[Any] | Any]
SaveHook = Callable[[SaveRequest], Awaitable[None] | None]
DeleteHook = Callable[[DeleteRequest], Awaitable[None] | None]
FindHook = Callable[[FindRequest], Awaitable[None] | None]
AfterFindHook = Callable[[AfterFindRequest], Awaitable[None] | None]
LoginHook = Callable[[LoginRequest], Awaitable[None] | None]
LogoutHook = Callable[[LogoutRequest], Awaitable[None] | None]
Function = Callable[[FunctionRequest], Awaitable[Any] | Any]
Mailer = Callable[[str, str, str], Awaitable[None]]
ConnectHook = Callable[[ConnectRequest], Awaitable[None] | None]
SubscribeHook = Callable[[SubscribeRequest], Awaitable[None] | None]
EventHook = Callable[[EventRequest], Awaitable[None] | None]
StartupHook = Callable[[Any], Awaitable[None]]
H = TypeVar("H")
R = TypeVar("R")  # a hook's request: Request's kinds, a job's or an auth provider's


class Cloud:
    """The registry of one deployment's hooks and functions (the CRM's rules register on one too)."""

    def __init__(self) -> None:
        self.triggers: dict[tuple[str, str], list[Handler]] = {}
        self.functions: dict[str, Function] = {}
        self.startup: list[StartupHook] = []
        self.mailer: Mailer | None = None
        # -- auth providers and jobs (auth/providers.py, cloud/jobs.py) --
        self.auth_providers: dict[str, Handler] = {}
        self.jobs: dict[str, Handler] = {}

    # -- registration ---------------------------------------------------------------------------------------------
    def _trigger(self, name: str, class_name: str) -> Callable[[H], H]:
        def register(fn: H) -> H:
            self.triggers.setdefault((name, class_name), []).append(fn)  # type: ignore[arg-type]
            return fn

        return register

    def before_save(self, class_name: str) -> Callable[[SaveHook], SaveHook]:
        """Run before an object of the class is created or updated; may change `req.object` or raise to refuse."""
        return self._trigger("beforeSave", class_name)

    def after_save(self, class_name: str) -> Callable[[SaveHook], SaveHook]:
        """Run after a save committed; errors are logged only (the save already happened)."""
        return self._trigger("afterSave", class_name)

    def before_delete(self, class_name: str) -> Callable[[DeleteHook], DeleteHook]:
        """Run before an object of the class is deleted, in its transaction; raise to refuse."""
        return self._trigger("beforeDelete", class_name)

    def after_delete(self, class_name: str) -> Callable[[DeleteHook], DeleteHook]:
        """Run after a delete committed; errors are logged only."""
        return self._trigger("afterDelete", class_name)

    def before_find(self, class_name: str) -> Callable[[FindHook], FindHook]:
        """Run before a find/get/count on the class; may rewrite `req.find_params`."""
        return self._trigger("beforeFind", class_name)

    def after_find(self, class_name: str) -> Callable[[AfterFindHook], AfterFindHook]:
        """Run on a find's results; may change or replace `req.objects`."""
        return self._trigger("afterFind", class_name)

    def before_login(self) -> Callable[[LoginHook], LoginHook]:
        """Run when a password was right, before the session is made; raise to refuse the log-in."""
        return self._trigger("beforeLogin", "_User")

    def after_login(self) -> Callable[[LoginHook], LoginHook]:
        """Run after a log-in made its session."""
        return self._trigger("afterLogin", "_User")

    def after_logout(self) -> Callable[[LogoutHook], LogoutHook]:
        """Run after a session was ended by log-out."""
        return self._trigger("afterLogout", "_Session")

    def before_connect(self) -> Callable[[ConnectHook], ConnectHook]:
        """A live-query client connects (`req.caller`, `req.installation_id`); raise to refuse it."""
        return self._trigger("beforeConnect", "@Connect")

    def before_subscribe(self, class_name: str) -> Callable[[SubscribeHook], SubscribeHook]:
        """A live-query subscription (`req.subscription`: className, where, keys, watch — editable); raise to
        refuse."""
        return self._trigger("beforeSubscribe", class_name)

    def after_event(self, class_name: str) -> Callable[[EventHook], EventHook]:
        """A live-query event about to go to one subscriber (`req.event`, `req.object`, `req.original`, editable);
        set `req.send_event = False` to drop it."""
        return self._trigger("afterEvent", class_name)

    def define(self, name: str) -> Callable[[Function], Function]:
        """A Cloud function, called by `POST /functions/<name>` (`Parse.Cloud.run`); its return value is the
        result."""

        def register(fn: Function) -> Function:
            self.functions[name] = fn
            return fn

        return register

    def mail_sender(self, fn: Mailer) -> Mailer:
        """Register how the server sends mail (password resets, invitations): `async def send(to, subject, text)`.
        Without one, messages go to the development outbox (parsecrm.mail), never to the log."""
        self.mailer = fn
        return fn

    def auth_provider(self, name: str) -> Callable[[Handler], Handler]:
        """Register an `authData` provider: `async def validate(req: AuthRequest) -> dict | None` checks
        `req.auth_data` (raise ParseError to refuse; a returned dict is stored instead). See parsecrm.auth.providers."""

        def register(fn: Handler) -> Handler:
            self.auth_providers[name] = fn
            return fn

        return register

    def job(self, name: str) -> Callable[[Handler], Handler]:
        """Register a background job, run with the master key by `POST /jobs/<name>` (see parsecrm.cloud.jobs)."""

        def register(fn: Handler) -> Handler:
            self.jobs[name] = fn
            return fn

        return register

    def on_startup(self, fn: StartupHook) -> StartupHook:
        """Run once per server process at start-up, with the Backend."""
        self.startup.append(fn)
        return fn

    def merge(self, other: Cloud) -> None:
        for key, handlers in other.triggers.items():
            self.triggers.setdefault(key, []).extend(handlers)
        self.functions.update(other.functions)
        self.startup.extend(other.startup)
        self.mailer = other.mailer or self.mailer
        self.auth_providers.update(other.auth_providers)
        self.jobs.update(other.jobs)

    # -- dispatch -------------------------------------------------------------------------------------------------
    def has(self, trigger: str, class_name: str) -> bool:
        return (trigger, class_name) in self.triggers

    async def run(self, trigger: str, class_name: str, request: Request) -> None:
        """Run the trigger's hooks in registration order; the first error stops them."""
        for fn in self.triggers.get((trigger, class_name), ()):
            await call(fn, request)


async def call(fn: Callable[[R], Any], request: R) -> Any:
    """Run a hook; anything but a ParseError becomes code 141 with its message, as in parse-server."""
    try:
        result = fn(request)
        if inspect.isawaitable(result):
            result = await result
        return result
    except ParseError:
        raise
    except Exception as exc:
        known = as_api_error(exc)  # e.g. a query the hook ran hit the statement timeout: 124, not 141
        if known is not None:
            raise known from exc
        log.exception("cloud code %s failed", getattr(fn, "__name__", fn))
        raise ParseError(ErrorCode.SCRIPT_FAILED, str(exc) or type(exc).__name__) from exc


def load(spec: str) -> Cloud:
    """Load a deployment's hook module (a dotted module name or a .py path) and return its `cloud`."""
    if spec.endswith(".py") or "/" in spec:
        path = Path(spec).resolve()
        module_spec = importlib.util.spec_from_file_location(f"parsecrm_cloud_{path.stem}", path)
        if module_spec is None or module_spec.loader is None:
            raise SystemExit(f"cannot load cloud code from {spec}")
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(spec)
    cloud = getattr(module, "cloud", None)
    if not isinstance(cloud, Cloud):
        raise SystemExit(f"{spec} must define `cloud = parsecrm.cloud.Cloud()`")
    return cloud
