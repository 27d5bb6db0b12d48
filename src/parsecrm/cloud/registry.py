"""The hook registry: one instance per server; the CRM's own rules register through it like any deployment's."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ErrorCode, ParseError
from ..security.caller import Caller
from .objects import ParseObject

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

Handler = Callable[["Request"], Awaitable[Any] | Any]
Mailer = Callable[[str, str, str], Awaitable[None]]


@dataclass
class Request:
    """What a hook or function receives (parse-server's `request`)."""

    trigger: str
    caller: Caller
    object: ParseObject | None = None
    original: ParseObject | None = None
    params: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    query: dict[str, Any] | None = None  # beforeFind: the find parameters (where, order, limit, …), mutable
    objects: list[ParseObject] | None = None  # afterFind: the results, replaceable
    function_name: str | None = None
    backend: Any = None  # the Backend, for hooks that query (see parsecrm.backend)
    unit: Any = None  # the write's transaction (objects.Unit): writes a hook makes with it commit or fail together
    in_transaction: list[Callable[[ParseObject], Awaitable[None]]] = field(default_factory=list)
    event: str | None = None  # afterEvent: create, enter, update, leave or delete
    send_event: bool = True  # afterEvent: set False to drop the event for this subscriber

    def after_write(self, fn: Callable[[ParseObject], Awaitable[None]]) -> None:
        """beforeSave only: run `fn(saved_object)` right after the row is written, inside the same transaction
        (the saved object has its objectId, also for a new object)."""
        self.in_transaction.append(fn)

    @property
    def user(self) -> dict[str, Any] | None:
        return self.caller.user

    @property
    def master(self) -> bool:
        return self.caller.master

    @property
    def ip(self) -> str | None:
        return self.caller.ip

    @property
    def headers(self) -> dict[str, str]:
        return self.caller.headers

    @property
    def installation_id(self) -> str | None:
        return self.caller.installation_id


class Cloud:
    def __init__(self) -> None:
        self.triggers: dict[tuple[str, str], list[Handler]] = {}
        self.functions: dict[str, Handler] = {}
        self.startup: list[Callable[[Any], Awaitable[None]]] = []
        self.mailer: Mailer | None = None
        # -- auth providers and jobs (auth/providers.py, cloud/jobs.py) --
        self.auth_providers: dict[str, Handler] = {}
        self.jobs: dict[str, Handler] = {}

    # -- registration ---------------------------------------------------------------------------------------------
    def _trigger(self, name: str, class_name: str) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            self.triggers.setdefault((name, class_name), []).append(fn)
            return fn

        return register

    def before_save(self, class_name: str) -> Callable[[Handler], Handler]:
        return self._trigger("beforeSave", class_name)

    def after_save(self, class_name: str) -> Callable[[Handler], Handler]:
        return self._trigger("afterSave", class_name)

    def before_delete(self, class_name: str) -> Callable[[Handler], Handler]:
        return self._trigger("beforeDelete", class_name)

    def after_delete(self, class_name: str) -> Callable[[Handler], Handler]:
        return self._trigger("afterDelete", class_name)

    def before_find(self, class_name: str) -> Callable[[Handler], Handler]:
        return self._trigger("beforeFind", class_name)

    def after_find(self, class_name: str) -> Callable[[Handler], Handler]:
        return self._trigger("afterFind", class_name)

    def before_login(self) -> Callable[[Handler], Handler]:
        return self._trigger("beforeLogin", "_User")

    def after_login(self) -> Callable[[Handler], Handler]:
        return self._trigger("afterLogin", "_User")

    def after_logout(self) -> Callable[[Handler], Handler]:
        return self._trigger("afterLogout", "_Session")

    def before_connect(self) -> Callable[[Handler], Handler]:
        """A live-query client connects (`req.caller`, `req.installation_id`); raise to refuse it."""
        return self._trigger("beforeConnect", "@Connect")

    def before_subscribe(self, class_name: str) -> Callable[[Handler], Handler]:
        """A live-query subscription (`req.query`: className, where, keys, watch — editable); raise to refuse."""
        return self._trigger("beforeSubscribe", class_name)

    def after_event(self, class_name: str) -> Callable[[Handler], Handler]:
        """A live-query event about to go to one subscriber (`req.event`, `req.object`, `req.original`, editable);
        set `req.send_event = False` to drop it."""
        return self._trigger("afterEvent", class_name)

    def define(self, name: str) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
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

    def on_startup(self, fn: Callable[[Any], Awaitable[None]]) -> Callable[[Any], Awaitable[None]]:
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
        for fn in self.triggers.get((trigger, class_name), ()):
            await call(fn, request)


async def call(fn: Handler, request: Request) -> Any:
    """Run a hook; anything but a ParseError becomes code 141 with its message, as in parse-server."""
    try:
        result = fn(request)
        if inspect.isawaitable(result):
            result = await result
        return result
    except ParseError:
        raise
    except Exception as exc:
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
