"""The CRM's business rules, registered through the public Cloud Code API (parsecrm.cloud) like any deployment's.

Users are private (readable by themselves) and readable by `Managers`, who assign deals to reps.
Ownership: every Company, Contact, Deal and Activity records `createdBy` (always the session user; clients cannot
set or change it). ACLs are computed here, never taken from clients: read+write for the owner(s) and the role
`Managers` (whose `roles` relation holds `Admins`, so admins inherit it). A Deal's owners are its creator and its
`assignedTo`; reassigning a deal recomputes the ACL, so the previous assignee loses access. An Activity is also
readable by the assignee of the Deal it belongs to.

Reassigning a deal moves the access to its activities too: they are re-permissioned for the new assignee.

Deleting: a Company → its contacts and deals keep existing with `company` unset. A Contact or Deal that still has
activities is refused (142) unless the request's context says `{"cascade": true}`, which deletes them together;
deals pointing at a deleted contact get `contact` unset; a deleted deal's stage history goes with it. Cascades go
through Cloud Code's data API (`req.query`/`req.save`/`req.delete`), so they fire the hooks of what they touch and
the activities' deletion is checked against the caller's permissions: when the contact or deal has activities the
caller cannot see or delete, the delete is refused (142) without saying what or how many ("ask a manager").
Unsetting pointers to the deleted object and removing its stage history run as the master key: they keep the
data consistent and reveal nothing.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .. import errors
from ..cloud import Cloud, DeleteRequest, ParseError, ParseObject, Request, SaveRequest
from ..settings import Settings
from ..values import Pointer
from . import analytics, dashboard, setup

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
ACTIVITY_TYPES = ("call", "email", "meeting", "note")
OWNED = ("Company", "Contact", "Deal", "Activity")


def _fail(message: str) -> ParseError:
    return ParseError(errors.VALIDATION_ERROR, message)


def _acl(*owners: Pointer | None) -> dict[str, Any]:
    """Managers plus each owner that is a user. An ACL key is a principal, so `*` or `role:…` as an owner's id
    would grant the public or a whole role: such ids are never users and are left out (saves refuse them first)."""
    acl: dict[str, Any] = {"role:Managers": {"read": True, "write": True}}
    for owner in owners:
        if isinstance(owner, Pointer) and owner.class_name == "_User" and _plain_id(owner.object_id):
            acl[owner.object_id] = {"read": True, "write": True}
    return acl


def _plain_id(object_id: str) -> bool:
    return bool(object_id) and object_id != "*" and not object_id.startswith("role:")


async def _check_assignee(req: SaveRequest, assignee: Any) -> None:
    """`Deal.assignedTo` goes into the deal's ACL (and its activities'): it must name an existing user."""
    if not isinstance(assignee, Pointer) or assignee.class_name != "_User":
        raise ParseError(errors.INCORRECT_TYPE, "Deal.assignedTo must be a pointer to a _User")
    found = _plain_id(assignee.object_id) and await req.get("_User", assignee.object_id, master=True)
    if not found:
        raise _fail(f"Deal.assignedTo must be an existing user ({assignee.object_id[:40]} is not)")


def _protect(req: SaveRequest, *owners: Pointer | None, moved: bool = False) -> None:
    """Set the object's ACL from its owners (the master key may set its own, except when the owners `moved`:
    a reassignment by the master key must take access away from the previous assignee too)."""
    obj = req.object
    if not req.master or "ACL" not in obj.attributes or moved:
        obj.set("ACL", _acl(*owners))


def _text(req: SaveRequest, key: str, *, required: bool = False, label: str = "") -> None:
    obj = req.object
    value = obj.get(key)
    if isinstance(value, str):
        trimmed = value.strip()
        if trimmed != value:
            obj.set(key, trimmed)
        value = trimmed
    if required and not value:
        raise _fail(f"{label or obj.class_name + '.' + key} is required")


def _owner(req: SaveRequest) -> Pointer | None:
    """Stamp createdBy on create (from the session, never the client); refuse changing it afterwards."""
    obj = req.object
    if req.original is None:
        if req.caller.user_id:
            obj.set("createdBy", Pointer("_User", req.caller.user_id))
        elif not req.master:
            raise _fail("a signed-in user is required")
        return obj.get("createdBy")
    before, now = req.original.get("createdBy"), obj.get("createdBy")
    if before != now and not req.master:
        raise ParseError(errors.OPERATION_FORBIDDEN, "createdBy cannot be changed")
    return now


def normalise_email(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ParseError(errors.INVALID_EMAIL_ADDRESS, "Email address format is invalid.")
    email = value.strip().lower()
    if not email:
        return None
    if not EMAIL.match(email):
        raise ParseError(errors.INVALID_EMAIL_ADDRESS, f"Email address format is invalid: {value[:80]}")
    return email


def normalise_website(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _fail("website must be a string")
    text = value.strip()
    if not text:
        return None
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or "." not in parts.hostname:
        raise _fail(f"website is not a valid address: {value[:80]}")
    netloc = parts.hostname.lower() + (f":{parts.port}" if parts.port else "")
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme.lower(), netloc, path, parts.query, ""))


def _set_normalised(req: SaveRequest, key: str, fn: Any) -> None:
    obj = req.object
    if key not in obj.attributes and req.original is not None and not obj.dirty(key):
        return
    value = fn(obj.get(key))
    if value != obj.get(key):
        if value is None:
            obj.unset(key)
        else:
            obj.set(key, value)


def build(settings: Settings) -> Cloud:
    cloud = Cloud()
    stages = settings.deal_stages

    cloud.on_startup(setup.apply)

    @cloud.before_save("_User")
    async def user_visible_to_managers(req: SaveRequest) -> None:
        """Users stay private (only themselves), but managers must see reps to assign deals: read for Managers."""
        obj = req.object
        if req.original is None and isinstance(obj.get("ACL"), dict) and "role:Managers" not in obj.get("ACL"):
            obj.set("ACL", {**obj.get("ACL"), "role:Managers": {"read": True}})

    @cloud.before_save("Company")
    async def company(req: SaveRequest) -> None:
        _text(req, "name", required=True, label="Company name")
        _set_normalised(req, "website", normalise_website)
        _protect(req, _owner(req))

    @cloud.before_save("Contact")
    async def contact(req: SaveRequest) -> None:
        _text(req, "name", required=True, label="Contact name")
        _set_normalised(req, "email", normalise_email)
        _protect(req, _owner(req))

    @cloud.before_save("Deal")
    async def deal(req: SaveRequest) -> None:
        obj = req.object
        _text(req, "title", required=True, label="Deal title")
        stage = obj.get("stage")
        if stage is None:
            stage = "lead"
            obj.set("stage", stage)
        if stage not in stages:
            raise _fail(f"stage must be one of {', '.join(stages)}")
        amount = obj.get("amount")
        if amount is not None and amount < 0:
            raise _fail("amount must be zero or more")
        owner = _owner(req)
        if obj.get("assignedTo") is None and owner is not None:
            obj.set("assignedTo", owner)
        reassigned = req.original is not None and req.original.get("assignedTo") != obj.get("assignedTo")
        new_assignee = obj.get("assignedTo") is not None and (req.original is None or reassigned)
        me = Pointer("_User", req.caller.user_id) if req.caller.user_id else None
        if new_assignee and obj.get("assignedTo") != me:  # the session's own user is known to exist
            await _check_assignee(req, obj.get("assignedTo"))
        _protect(req, owner, obj.get("assignedTo"), moved=reassigned)
        before = req.original.get("stage") if req.original is not None else None
        if before != stage:
            req.after_write(_record_stage_change(req, before, stage, obj.get("ACL")))
        if reassigned:
            req.after_write(_history_follows_assignee(req, obj.get("ACL")))
            req.after_write(_activities_follow_assignee(req, obj.get("assignedTo")))

    @cloud.before_save("Activity")
    async def activity(req: SaveRequest) -> None:
        obj = req.object
        kind = obj.get("type")
        if kind is None:
            raise _fail(f"Activity.type is required: one of {', '.join(ACTIVITY_TYPES)}")
        if kind not in ACTIVITY_TYPES:
            raise _fail(f"Activity.type must be one of {', '.join(ACTIVITY_TYPES)}")
        _text(req, "subject")
        related = obj.get("relatedTo")
        changed = req.original is None or related != req.original.get("relatedTo")
        found = None
        if isinstance(related, Pointer) and (changed or not req.master):
            # one query answers both questions: may the caller read it, and (for a deal) who is it assigned to
            keys = ["assignedTo"] if related.class_name == "Deal" else ["objectId"]
            rows = await req.query(related.class_name, {"objectId": related.object_id}, keys=keys, limit=1)
            found = rows[0] if rows else None
            if found is None and changed:
                raise _fail(
                    f"relatedTo must be a Contact or Deal you can read ({related.class_name} {related.object_id})"
                )
        if obj.get("done") is True and obj.get("completedAt") is None:
            obj.set("completedAt", datetime.now(UTC))
        elif obj.get("done") is False and obj.get("completedAt") is not None:
            was_done = req.original is not None and req.original.get("done") is True
            if was_done:  # re-opened: it is no longer completed
                obj.unset("completedAt")
        owner = _owner(req)
        assigned = found.get("assignedTo") if found is not None else None
        _protect(req, owner, assigned if isinstance(assigned, Pointer) else None)

    @cloud.before_delete("Company")
    async def company_deleted(req: DeleteRequest) -> None:
        for cls in ("Contact", "Deal"):
            await _unset_pointers(req, cls, "company")

    @cloud.before_delete("Contact")
    async def contact_deleted(req: DeleteRequest) -> None:
        await _activities_follow(req)
        await _unset_pointers(req, "Deal", "contact")

    @cloud.before_delete("Deal")
    async def deal_deleted(req: DeleteRequest) -> None:
        await _activities_follow(req)
        for change in await _all(req, "DealStageChange", {"deal": req.object.pointer().to_json()}):
            await req.delete(change, master=True)

    cloud.define("pipelineSummary")(analytics.pipeline_summary_function(stages))
    dashboard.register(cloud, stages)
    return cloud


def _record_stage_change(
    req: SaveRequest, before: str | None, after: str, acl: Any
) -> Callable[[ParseObject], Awaitable[None]]:
    """Every stage change of a deal, in the deal's own transaction: who, from, to, when."""

    async def record(saved: ParseObject) -> None:
        fields: dict[str, Any] = {
            "deal": saved.pointer(),
            "to": after,
            "changedAt": datetime.now(UTC),
            "ACL": acl or _acl(),
        }
        if before is not None:
            fields["from"] = before
        if req.caller.user_id:
            fields["changedBy"] = Pointer("_User", req.caller.user_id)
        req.create_later("DealStageChange", fields, master=True)

    return record


def _history_follows_assignee(req: SaveRequest, acl: Any) -> Callable[[ParseObject], Awaitable[None]]:
    """A reassigned deal's stage history gets the deal's new ACL: the previous assignee no longer reads it."""

    async def follow(saved: ParseObject) -> None:
        for change in await _all(req, "DealStageChange", {"deal": saved.pointer().to_json()}):
            change.set("ACL", acl or _acl())
            await req.save(change, master=True)

    return follow


def _activities_follow_assignee(req: SaveRequest, assignee: Pointer | None) -> Callable[[ParseObject], Awaitable[None]]:
    """A reassigned deal's activities move with it: the new assignee reads them, the previous one no longer."""

    async def follow(saved: ParseObject) -> None:
        for activity in await _all(req, "Activity", {"relatedTo": saved.pointer().to_json()}):
            activity.set("ACL", _acl(activity.get("createdBy"), assignee))
            await req.save(activity, master=True)

    return follow


PAGE = 1000


async def _all(req: Request, cls: str, where: dict[str, Any]) -> list[ParseObject]:
    """Every object of `cls` matching `where`, as the master key reads them (keeping the data consistent)."""
    found: list[ParseObject] = []
    while True:
        page = await req.query(cls, where, order="objectId", skip=len(found), limit=PAGE, master=True)
        found += page
        if len(page) < PAGE:
            return found


async def _unset_pointers(req: DeleteRequest, cls: str, key: str) -> None:
    """Objects of `cls` pointing at the deleted object lose the pointer (no dangling pointers in the app)."""
    for obj in await _all(req, cls, {key: req.object.pointer().to_json()}):
        obj.unset(key)
        await req.save(obj, master=True)


async def _activities_follow(req: DeleteRequest) -> None:
    """A contact's or deal's activities: refuse while there are some, or delete them with it (cascade) — as the
    caller, so only what they may delete, and without revealing what they cannot see."""
    cls = req.object.class_name.lower()
    where = {"relatedTo": req.object.pointer().to_json()}
    total = await req.count("Activity", where, master=True)
    if not total:
        return
    visible = await req.query("Activity", where, limit=total)
    if len(visible) < total:
        raise _fail(f"this {cls} has activities you cannot delete; ask a manager")
    if not req.context.get("cascade"):
        raise _fail(
            f"this {cls} has {total} activit{'y' if total == 1 else 'ies'}; delete them first or delete "
            'with the context {"cascade": true}'
        )
    for activity in visible:
        try:
            await req.delete(activity)
        except ParseError as exc:
            if exc.code in (errors.OBJECT_NOT_FOUND, errors.OPERATION_FORBIDDEN):
                raise _fail(f"this {cls} has activities you cannot delete; ask a manager") from None
            raise
