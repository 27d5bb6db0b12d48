"""Running Cloud Code triggers from the read and write paths: building each trigger's request, folding a
beforeSave's edits back into the write, and queueing afterSave/afterDelete until the transaction commits (their
errors are logged, never answered: the write already happened)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ..backend import Backend
from ..changes import Change, apply, has_increment
from ..cloud.objects import ParseObject
from ..cloud.requests import AfterFindRequest, DataAccess, DeleteRequest, FindRequest, LoginRequest, SaveRequest
from ..errors import ParseError
from ..security.caller import Caller
from ..storage.model import ClassSchema
from .unit import Unit

log = logging.getLogger("parsecrm.cloud")

NO_ACL: Any = object()  # "no ACL given" (None is a valid ACL value: public)


def _unbound(backend: Backend, caller: Caller, unit: Unit | None) -> DataAccess:
    raise RuntimeError("objects/__init__.py binds hooks.data_for")


# The data API of the requests built here (`req.query`, `req.save`, …): cloud_api.CloudData, bound by
# objects/__init__.py. It calls read and write, which call this module, hence bound rather than imported.
data_for: Callable[[Backend, Caller, Unit | None], DataAccess] = _unbound
_MISSING = object()


@dataclass
class SaveHook:
    """What a beforeSave changed: the keys to echo to the client, the ACL it set (or NO_ACL), and the functions it
    asked to run once the row is written (`req.after_write`)."""

    changed: list[str]
    acl: Any
    in_transaction: list[Callable[[ParseObject], Awaitable[None]]] = field(default_factory=list)

    async def saved(self, obj: ParseObject) -> None:
        for fn in self.in_transaction:
            await fn(obj)


async def before_save(
    backend: Backend,
    caller: Caller,
    schema: ClassSchema,
    changes: dict[str, Change],
    original: ParseObject | None,
    acl: Any,
    unit: Unit,
    context: dict[str, Any] | None,
) -> SaveHook:
    """Run the class's beforeSave hooks on the object as it will be; fold their edits into `changes`."""
    base = dict(original.attributes) if original is not None else {}
    merged = dict(base)
    for k, c in changes.items():
        if c.kind != "relation":
            merged[k] = apply(c, base.get(k))
    obj = ParseObject(
        schema.name, {k: v for k, v in merged.items() if v is not None}, original.id if original else None
    )
    if original is not None:
        obj.created_at = original.created_at
    elif acl is not NO_ACL:
        obj.attributes["ACL"] = acl
    before = dict(obj.attributes)
    req = SaveRequest(
        caller=caller,
        data=data_for(backend, caller, unit),
        object=obj,
        original=original,
        context=context or {},
        backend=backend,
        unit=unit,
    )
    await backend.cloud.run("beforeSave", schema.name, req)
    new_acl = NO_ACL
    if "ACL" in obj.dirty_keys:
        new_acl = obj.attributes.get("ACL")
        obj._dirty.discard("ACL")
    changed = []
    for key in obj.dirty_keys:
        value = obj.attributes.get(key)
        if before.get(key, _MISSING) != value or key in obj._unset:
            changes[key] = Change("set", None if key in obj._unset else value)
            changed.append(key)
    if original is not None:  # the hook saw operations' results: store those results
        for k, c in list(changes.items()):
            if c.kind in ("inc", "add", "addu", "remove") or has_increment(c):
                changes[k] = Change("set", merged[k])
    return SaveHook(changed, new_acl, req.in_transaction)


def after_save(
    backend: Backend,
    caller: Caller,
    class_name: str,
    saved: ParseObject,
    original: ParseObject | None,
    unit: Unit,
    context: dict[str, Any] | None,
) -> None:
    if backend.cloud.has("afterSave", class_name):
        unit.after_commit.append(_after(backend, "afterSave", class_name, caller, saved, original, context))


async def before_delete(
    backend: Backend, caller: Caller, obj: ParseObject, unit: Unit, context: dict[str, Any] | None
) -> None:
    if backend.cloud.has("beforeDelete", obj.class_name):
        req = DeleteRequest(
            caller=caller,
            data=data_for(backend, caller, unit),
            object=obj,
            context=context or {},
            backend=backend,
            unit=unit,
        )
        await backend.cloud.run("beforeDelete", obj.class_name, req)


def after_delete(
    backend: Backend, caller: Caller, obj: ParseObject, unit: Unit, context: dict[str, Any] | None
) -> None:
    if backend.cloud.has("afterDelete", obj.class_name):
        unit.after_commit.append(_after(backend, "afterDelete", obj.class_name, caller, obj, None, context))


def _after(
    backend: Backend,
    trigger: str,
    class_name: str,
    caller: Caller,
    obj: ParseObject,
    original: ParseObject | None,
    context: dict[str, Any] | None,
) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        data = data_for(backend, caller, None)
        req: SaveRequest | DeleteRequest
        if trigger == "afterSave":
            req = SaveRequest(
                caller=caller,
                data=data,
                object=obj,
                original=original,
                context=context or {},
                backend=backend,
                trigger=trigger,
            )
        else:
            req = DeleteRequest(
                caller=caller, data=data, object=obj, context=context or {}, backend=backend, trigger=trigger
            )
        try:
            await backend.cloud.run(trigger, class_name, req)
        except ParseError as exc:  # the write is committed: an after-hook's error is logged, as in parse-server
            log.warning("%s of %s %s failed: %s (code %s)", trigger, class_name, obj.id, exc.message, exc.code)
        except Exception:
            log.exception("%s of %s %s failed", trigger, class_name, obj.id)

    return run


async def before_find(
    backend: Backend, caller: Caller, class_name: str, params: dict[str, Any], unit: Unit | None
) -> dict[str, Any]:
    """The find parameters after the class's beforeFind hooks (which may rewrite them)."""
    req = FindRequest(caller=caller, data=data_for(backend, caller, unit), find_params=params, backend=backend)
    await backend.cloud.run("beforeFind", class_name, req)
    return req.find_params or params


async def after_find(
    backend: Backend,
    caller: Caller,
    class_name: str,
    params: dict[str, Any],
    objects: list[ParseObject],
    unit: Unit | None,
) -> list[ParseObject]:
    req = AfterFindRequest(
        caller=caller, data=data_for(backend, caller, unit), find_params=params, objects=objects, backend=backend
    )
    await backend.cloud.run("afterFind", class_name, req)
    return req.objects


async def on_login(backend: Backend, caller: Caller, trigger: str, user_json: dict[str, Any]) -> None:
    """`beforeLogin` (raise to refuse, before the session is made) or `afterLogin` (once it is committed) on the user
    logging in, the same for a password log-in and an authData one."""
    if backend.cloud.has(trigger, "_User"):
        req = LoginRequest(
            caller=caller,
            data=data_for(backend, caller, None),
            backend=backend,
            trigger=trigger,
            object=ParseObject.from_json("_User", dict(user_json)),
        )
        await backend.cloud.run(trigger, "_User", req)
