"""What a hook or function receives: one typed request per trigger kind, and the data API every request carries.

    SaveRequest      beforeSave / afterSave     .object (always), .original (None on create), .after_write(fn),
                                                .create_later(class_name, fields)
    DeleteRequest    beforeDelete / afterDelete .object (always)
    FindRequest      beforeFind                 .find_params: the find parameters (where, order, limit, …), mutable
    AfterFindRequest afterFind                  .find_params, .objects (replaceable)
    LoginRequest     beforeLogin / afterLogin   .object: the user
    LogoutRequest    afterLogout                .object: the session
    FunctionRequest  define(name)               .params (decoded), .function_name
    ConnectRequest   beforeConnect              a live-query client connecting (.caller, .installation_id)
    SubscribeRequest beforeSubscribe            .subscription: {className, where, keys, watch}, mutable
    EventRequest     afterEvent                 .event, .object, .original (editable), .send_event

Every request reads and writes through the server's one path, with the caller's permissions — or the master key's
when a call says `master=True`:

    deals = await req.query("Deal", {"stage": "won"}, order="-amount", limit=10)   # list[ParseObject]
    n = await req.count("Activity", {"done": False})
    deal = await req.get("Deal", object_id)                                         # ParseObject | None
    await req.save(deal)                  # creates (no id) or updates (the keys set/unset since it was read)
    await req.delete(deal)

Inside a beforeSave/beforeDelete these calls join the write's transaction (they commit or fail with it) and fire
the hooks of the objects they touch, like any other write; elsewhere each write is its own transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ..security.caller import Caller
from .objects import ParseObject

if TYPE_CHECKING:  # for annotations only: the backend and the unit live above this package
    from ..backend import Backend
    from ..objects.unit import Unit


class DataAccess(Protocol):
    """The server's read/write path as Cloud Code sees it (implemented by objects/cloud_api.py)."""

    async def query(self, class_name: str, params: dict[str, Any], master: bool) -> list[ParseObject]: ...

    async def count(self, class_name: str, where: dict[str, Any], master: bool) -> int: ...

    async def save(self, obj: ParseObject, master: bool, context: dict[str, Any]) -> ParseObject: ...

    async def delete(self, obj: ParseObject, master: bool, context: dict[str, Any]) -> None: ...

    def create_later(self, class_name: str, fields: dict[str, Any], master: bool) -> None: ...


@dataclass(kw_only=True)
class Request:
    """What every trigger and function gets: who is calling, the request's context, and the data API."""

    caller: Caller
    data: DataAccess
    context: dict[str, Any] = field(default_factory=dict)
    backend: Backend | None = None  # for advanced SQL under the caller's rules (see crm/analytics.py)
    unit: Unit | None = None  # the write's transaction, in before-hooks (raw SQL joins it)

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

    async def query(
        self,
        class_name: str,
        where: dict[str, Any] | None = None,
        *,
        order: str | None = None,
        limit: int = 100,
        skip: int = 0,
        keys: list[str] | None = None,
        include: list[str] | None = None,
        master: bool = False,
    ) -> list[ParseObject]:
        """The objects of `class_name` matching `where` that the caller (or the master key) may read."""
        params: dict[str, Any] = {"where": where or {}, "limit": limit, "skip": skip}
        if order:
            params["order"] = order
        if keys is not None:
            params["keys"] = ",".join(keys)
        if include:
            params["include"] = ",".join(include)
        return await self.data.query(class_name, params, master)

    async def count(self, class_name: str, where: dict[str, Any] | None = None, *, master: bool = False) -> int:
        return await self.data.count(class_name, where or {}, master)

    async def get(
        self, class_name: str, object_id: str, *, include: list[str] | None = None, master: bool = False
    ) -> ParseObject | None:
        found = await self.query(class_name, {"objectId": object_id}, limit=1, include=include, master=master)
        return found[0] if found else None

    async def save(self, obj: ParseObject, *, master: bool = False) -> ParseObject:
        """Create `obj` (no id yet) or update it (the keys set or unset since it was read); returns it saved."""
        return await self.data.save(obj, master, self.context)

    async def delete(self, obj: ParseObject, *, master: bool = False) -> None:
        await self.data.delete(obj, master, self.context)


@dataclass(kw_only=True)
class SaveRequest(Request):
    """beforeSave / afterSave. Changes a beforeSave makes to `object` are saved and echoed to the client."""

    object: ParseObject
    original: ParseObject | None = None  # the stored object before an update; None on create
    trigger: str = "beforeSave"
    in_transaction: list[Callable[[ParseObject], Awaitable[None]]] = field(default_factory=list)

    def after_write(self, fn: Callable[[ParseObject], Awaitable[None]]) -> None:
        """beforeSave only: run `fn(saved_object)` right after the row is written, inside the same transaction
        (the saved object has its objectId, also for a new object)."""
        self.in_transaction.append(fn)

    def create_later(self, class_name: str, fields: dict[str, Any], *, master: bool = False) -> None:
        """Create an object just before this write's transaction commits, batched with others of its kind (a
        50-deal batch writes its 50 history rows in one statement)."""
        self.data.create_later(class_name, fields, master)


@dataclass(kw_only=True)
class DeleteRequest(Request):
    """beforeDelete / afterDelete: `object` is the stored object."""

    object: ParseObject
    trigger: str = "beforeDelete"


@dataclass(kw_only=True)
class FindRequest(Request):
    """beforeFind: `find_params` (where, order, limit, keys, include, …) may be rewritten."""

    find_params: dict[str, Any]


@dataclass(kw_only=True)
class AfterFindRequest(Request):
    """afterFind: `objects` may be changed or replaced."""

    find_params: dict[str, Any]
    objects: list[ParseObject]


@dataclass(kw_only=True)
class LoginRequest(Request):
    """beforeLogin / afterLogin: `object` is the user logging in (raise in beforeLogin to refuse)."""

    object: ParseObject
    trigger: str = "beforeLogin"


@dataclass(kw_only=True)
class LogoutRequest(Request):
    """afterLogout: `object` is the session that ended."""

    object: ParseObject


@dataclass(kw_only=True)
class FunctionRequest(Request):
    """A Cloud function call: `params` decoded (dates as datetime, pointers as Pointer)."""

    function_name: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(kw_only=True)
class ConnectRequest(Request):
    """beforeConnect: a live-query client connecting (`caller`, `installation_id`); raise to refuse it."""

    trigger: str = "beforeConnect"


@dataclass(kw_only=True)
class SubscribeRequest(Request):
    """beforeSubscribe: `subscription` (className, where, keys, watch) may be edited; raise to refuse."""

    subscription: dict[str, Any]
    trigger: str = "beforeSubscribe"


@dataclass(kw_only=True)
class EventRequest(Request):
    """afterEvent, per subscriber: `event` (create, enter, update, leave, delete), `object` and `original` may be
    changed; `send_event = False` drops the event for this subscriber."""

    event: str
    object: ParseObject
    original: ParseObject | None = None
    send_event: bool = True
    trigger: str = "afterEvent"
