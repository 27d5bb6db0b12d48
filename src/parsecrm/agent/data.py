"""The agent's one door to the data: every read and write goes through `objects` as the token's user, so the
same class-level permissions, ACLs and Cloud Code hooks apply as on REST. No SQL here, no master key for the
user's data (only the audit record, which clients cannot write, is created as master).

This module is the only one under agent/ that imports `objects` and the function registry: when the core's
entry points change, the switch is local to this file.

Writes run in one transaction together with their audit record (`AgentChange`, written by `agent.audit`'s hooks
for every API-token write on any entrance): both commit or neither does.
A dry run does everything — type checks, permission checks, the beforeSave hooks' validation, the stage history —
and then rolls the transaction back, so nothing is stored and no afterSave hook runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from .. import errors, objects
from ..backend import Backend
from ..cloud.registry import call
from ..cloud.requests import FunctionRequest
from ..errors import ParseError
from ..objects import Unit
from ..security.caller import MASTER, Caller
from ..values import iso, now_ms
from .audit import AUDIT_CLASS, SERVER_FIELDS


class _Rollback(Exception):
    """Raised inside a dry run's transaction to undo it after the result is known."""


@dataclass
class WriteResult:
    object_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    change_id: str | None  # the audit record; None for a dry run

    def as_json(self, dry_run: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"objectId": self.object_id, "dryRun": dry_run, "after": self.after}
        if self.before is not None:
            out["before"] = self.before
        if dry_run:
            out["note"] = "Dry run: validated and permission-checked; nothing was saved."
        else:
            out["changeId"] = self.change_id
        return out


# -- reads -------------------------------------------------------------------------------------------------------------


async def find(backend: Backend, caller: Caller, class_name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    return await objects.query_json(backend, caller, class_name, params)


async def count(backend: Backend, caller: Caller, class_name: str, where: dict[str, Any] | None = None) -> int:
    return await objects.count(backend, caller, class_name, where or {})


async def get(backend: Backend, caller: Caller, class_name: str, object_id: str) -> dict[str, Any]:
    found = await objects.fetch_json(backend, caller, class_name, object_id)
    if found is None:
        raise ParseError(errors.OBJECT_NOT_FOUND, f"No {class_name} {object_id} that you can read.")
    return found


async def run_function(backend: Backend, caller: Caller, name: str, params: dict[str, Any]) -> Any:
    """A Cloud Code function (e.g. the CRM's `pipelineSummary`), run as the caller."""
    fn = backend.cloud.functions.get(name)
    if fn is None:
        raise ParseError(errors.SCRIPT_FAILED, f'Invalid function: "{name}"')
    data = objects.CloudData(backend, caller, None)
    req = FunctionRequest(caller=caller, data=data, params=params, function_name=name, backend=backend)
    return await call(fn, req)


# -- writes ------------------------------------------------------------------------------------------------------------


def _plain(obj: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if obj is None else {k: v for k, v in obj.items() if k != "ACL"}


async def _in_transaction(
    backend: Backend, dry_run: bool, work: Callable[[Unit], Awaitable[WriteResult]]
) -> WriteResult:
    """Run `work` in a fresh transaction; commit and run after-commit hooks, or roll back for a dry run."""
    result: WriteResult | None = None
    async with backend.pool.acquire() as conn:
        unit = Unit(conn)
        try:
            async with conn.transaction():
                result = await work(unit)
                await objects.flush_deferred(backend, unit)
                if dry_run:
                    raise _Rollback()
        except _Rollback:
            assert result is not None
            return result
    for job in unit.after_commit:
        await job()
    assert result is not None
    return result


async def _change_id(backend: Backend, unit: Unit, object_id: str) -> str | None:
    """The audit record the write just made (agent.audit records every token write, in the same transaction)."""
    params = {"where": {"targetId": object_id}, "order": "-createdAt", "limit": 1, "keys": "objectId"}
    found = await objects.query_json(backend, MASTER, AUDIT_CLASS, params, unit=unit)
    return str(found[0]["objectId"]) if found else None


async def create(
    backend: Backend, caller: Caller, class_name: str, body: dict[str, Any], *, dry_run: bool
) -> dict[str, Any]:
    async def work(unit: Unit) -> WriteResult:
        created = await objects.create(backend, caller, class_name, body, unit=unit)
        oid = str(created["objectId"])
        await objects.flush_deferred(backend, unit)
        after = _plain(await objects.fetch_json(backend, caller, class_name, oid, unit=unit))
        return WriteResult(oid, None, after, await _change_id(backend, unit, oid))

    return (await _in_transaction(backend, dry_run, work)).as_json(dry_run)


async def update(
    backend: Backend, caller: Caller, class_name: str, object_id: str, body: dict[str, Any], *, dry_run: bool
) -> dict[str, Any]:
    async def work(unit: Unit) -> WriteResult:
        before = _plain(await objects.fetch_json(backend, caller, class_name, object_id, unit=unit))
        await objects.update(backend, caller, class_name, object_id, body, unit=unit)
        await objects.flush_deferred(backend, unit)
        after = _plain(await objects.fetch_json(backend, caller, class_name, object_id, unit=unit))
        return WriteResult(object_id, before, after, await _change_id(backend, unit, object_id))

    return (await _in_transaction(backend, dry_run, work)).as_json(dry_run)


# -- undo --------------------------------------------------------------------------------------------------------------


def _restore_body(change: dict[str, Any]) -> dict[str, Any]:
    """The update that puts back what a write changed."""
    before = change.get("before") or {}
    fields = [f for f in change.get("fields") or [] if f not in SERVER_FIELDS]
    return {f: before.get(f, {"__op": "Delete"}) for f in fields}


async def undo(backend: Backend, caller: Caller, change_id: str, *, force: bool = False) -> dict[str, Any]:
    """Undo one agent write as `caller` (who must be able to read its audit record, i.e. its user): a create is
    deleted, an update's changed fields are put back, a deleted object is created again with its id and fields (its
    owner and ACL are computed afresh, as for any create). Refused if the object changed since, unless `force`."""
    found = await objects.query_json(backend, caller, AUDIT_CLASS, {"where": {"objectId": change_id}, "limit": 1})
    if not found:
        raise ParseError(errors.OBJECT_NOT_FOUND, f"No agent change {change_id} of yours.")
    change = found[0]
    if change.get("undoneAt"):
        raise ParseError(errors.VALIDATION_ERROR, "This change was already undone.")
    cls, oid, action = change["targetClass"], change["targetId"], change["action"]
    current = await objects.fetch_json(backend, caller, cls, oid)
    if action == "delete":
        if current is not None:
            raise ParseError(errors.DUPLICATE_VALUE, f"{cls} {oid} exists again; nothing to restore.")
    elif current is None:
        raise ParseError(errors.OBJECT_NOT_FOUND, f"{cls} {oid} no longer exists or you cannot read it.")
    else:
        expected = (change.get("after") or {}).get("updatedAt")
        if not force and expected and current.get("updatedAt") != expected:
            raise ParseError(
                errors.VALIDATION_ERROR,
                f"{cls} {oid} was changed after this agent write; undo with force to overwrite those later changes.",
            )

    async def work(unit: Unit) -> None:
        if action == "create":
            await objects.delete(backend, caller, cls, oid, unit=unit)
        elif action == "delete":
            body = {k: v for k, v in (change.get("before") or {}).items() if k not in SERVER_FIELDS}
            await objects.create(backend, caller, cls, body, unit=unit, object_id=oid)
        else:
            await objects.update(backend, caller, cls, oid, _restore_body(change), unit=unit)
        undone_at = {"__type": "Date", "iso": iso(now_ms())}
        await objects.update(backend, MASTER, AUDIT_CLASS, change_id, {"undoneAt": undone_at}, unit=unit)

    await objects.in_unit(backend, None, work)
    return {"undone": change_id, "action": action, "targetClass": cls, "targetId": oid}
