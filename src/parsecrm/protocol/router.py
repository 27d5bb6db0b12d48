"""What a route is, and the router that finds one: every fact about a path lives in its `Route` (routes.py holds
the table).

A route declares its path pattern, a handler per method, how its callers authenticate (`Auth`), whether a write
with an `X-Parse-Request-Id` is replayed to a retry (`replayable`), and whether a `/batch` may bulk its creates.
`App` (HTTP) and `/batch` (sub-requests) both resolve paths here, so a path means the same thing wherever it is
sent. A handler is `async (backend, call, unit, **path_groups) -> Reply`; `unit` is the transaction the call joins
(a batch's, an idempotent write's) or None.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache

from ..backend import Backend
from ..errors import ErrorCode, ParseError
from ..objects import Unit
from .reply import Reply
from .transport import Call

Handler = Callable[..., Awaitable[Reply]]


class Auth(Enum):
    """How a route's callers are identified."""

    NONE = "none"  # nothing is checked and the body is not read: /health
    LINK = "link"  # no keys: a link opened from a mail, whose token is the credential; form or JSON body
    KEYS = "keys"  # application id and keys, but no session: log-in must work whatever stale token the client sends
    SESSION = "session"  # application id, keys, and the session token resolved into the caller (the default)


@dataclass(frozen=True)
class Route:
    pattern: str  # a regular expression over the path below the mount, without leading/trailing slashes
    methods: Mapping[str, Handler]
    auth: Auth = Auth.SESSION
    replayable: bool = False  # non-GET calls with X-Parse-Request-Id run once; retries get the stored answer
    bulk_create: bool = False  # POSTs of plain (non-system) classes in a /batch may be inserted together
    compiled: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "compiled", re.compile(f"^{self.pattern}$"))


@dataclass(frozen=True)
class Match:
    route: Route
    groups: dict[str, str]  # the pattern's named groups that matched (class name, object id, …)

    def handler(self, method: str, path: str) -> Handler:
        found = self.route.methods.get(method)
        if found is None:
            raise ParseError(ErrorCode.COMMAND_UNAVAILABLE, f"{method} is not allowed on /{path[:100]}", status=405)
        return found


class Router:
    def __init__(self, routes: Sequence[Route]) -> None:
        self.routes = tuple(routes)

    def match(self, path: str) -> Match | None:
        for route in self.routes:
            m = route.compiled.match(path)
            if m:
                return Match(route, {k: v for k, v in m.groupdict().items() if v is not None})
        return None

    def require(self, method: str, path: str) -> tuple[Match, Handler]:
        found = self.match(path)
        if found is None:
            raise ParseError(ErrorCode.COMMAND_UNAVAILABLE, f"unknown route: {method} /{path[:100]}", status=404)
        return found, found.handler(method, path)

    async def dispatch(self, backend: Backend, call: Call, unit: Unit | None) -> Reply:
        found, handler = self.require(call.method, call.path)
        return await handler(backend, call, unit, **found.groups)

    def bulk_class(self, call: Call) -> str | None:
        """The class a call creates, when it is a plain object create a batch may insert together with others
        (users go through sign-up and system classes have side effects, so they are never bulked)."""
        return self._bulk_class(call.path) if call.method == "POST" else None

    @lru_cache(maxsize=1024)  # noqa: B019 - one router per process, and a batch repeats one path many times
    def _bulk_class(self, path: str) -> str | None:
        found = self.match(path)
        if found is None or not found.route.bulk_create:
            return None
        cls = found.groups.get("cls", "")
        return None if cls.startswith("_") else cls
