"""Every write made with an API token to a CRM class is recorded in `AgentChange`, whatever the entrance (MCP tools,
REST, batch, GraphQL): Cloud Code hooks on the classes, through the public hook API, so there is one recorder.

The record is written inside the write's own transaction (`req.after_write` for saves, `beforeDelete` for
deletes): the write and its record commit together or not at all, and a dry run leaves neither. `before` and
`after` are the object as stored; `fields` are the fields whose value changed — what an undo puts back.
"""

from __future__ import annotations

from typing import Any

from .. import objects
from ..cloud import Cloud, ParseObject
from ..cloud.requests import DeleteRequest, SaveRequest
from ..security.caller import MASTER, Caller
from ..values import iso

AUDIT_CLASS = "AgentChange"
AUDITED = ("Company", "Contact", "Deal", "Activity")
# Fields the server manages: never compared, never put back by an undo.
SERVER_FIELDS = frozenset({"objectId", "createdAt", "updatedAt", "ACL", "createdBy", "className"})


def object_json(obj: ParseObject | None) -> dict[str, Any] | None:
    if obj is None:
        return None
    out = {k: v for k, v in obj.to_json().items() if k not in ("ACL", "className")}
    if obj.updated_at is not None:
        out["updatedAt"] = iso(obj.updated_at)
    return out


def changed_fields(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[str]:
    b, a = before or {}, after or {}
    return sorted(k for k in set(b) | set(a) if k not in SERVER_FIELDS and b.get(k) != a.get(k))


async def record(
    req: SaveRequest | DeleteRequest,
    caller: Caller,
    action: str,
    oid: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    user = caller.user or {}
    who = user.get("username") or caller.user_id
    cls = req.object.class_name
    body = {
        "action": action,
        "targetClass": cls,
        "targetId": oid,
        "fields": changed_fields(before, after),
        "before": before,
        "after": after,
        "tokenName": caller.token_name,
        "tokenId": caller.token_id,
        "user": {"__type": "Pointer", "className": "_User", "objectId": caller.user_id},
        "summary": f"{action} {cls} {oid} via agent token {caller.token_name!r} on behalf of {who}",
        "ACL": {caller.user_id: {"read": True}} if caller.user_id else {},
    }
    assert req.backend is not None, "the server sets the backend on every hook request"
    await objects.create(req.backend, MASTER, AUDIT_CLASS, body, unit=req.unit)


async def _on_save(req: SaveRequest) -> None:
    caller = req.caller
    if not caller.token_id:
        return
    before = object_json(req.original)

    async def saved(obj: ParseObject) -> None:
        action = "update" if before is not None else "create"
        await record(req, caller, action, obj.id or "", before, object_json(obj))

    req.after_write(saved)


async def _on_delete(req: DeleteRequest) -> None:
    if req.caller.token_id:
        await record(req, req.caller, "delete", req.object.id or "", object_json(req.object), None)


def register(cloud: Cloud) -> None:
    for cls in AUDITED:
        cloud.before_save(cls)(_on_save)
        cloud.before_delete(cls)(_on_delete)
