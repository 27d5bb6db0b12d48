"""Which event a committed change is for one subscriber, and its frame: the judgement every live event passes.

Per subscriber and event, the object before and after the change are each matched against the subscription's
`where` (the evaluator of query/evaluate.py, the same semantics as the SQL compiler) and judged readable by the
subscriber through `security.policy` (CLP with pointer permissions, then ACL) — see `judge`. A subscriber who loses
read access gets `leave` with the last state they could read, never the new one; one who gains it gets `enter`
without `original`. Protected fields are stripped from `object` and `original`; `keys` cuts both. Frames are bytes
(UTF-8 JSON): the parts every subscriber of a view shares around its own `head`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import orjson

from ..cloud.objects import ParseObject
from ..query.evaluate import CompiledWhere
from ..security.caller import Caller
from ..security.policy import Policy, Reader
from ..storage.model import ClassSchema
from ..values import iso
from .feed import Change

ALWAYS_SHOWN = ("objectId", "createdAt", "updatedAt", "ACL")


def view_of(
    where: CompiledWhere, keys: frozenset[str] | None, watch: tuple[str, ...] | None, caller: Caller
) -> tuple[Any, ...]:
    """What decides which events a subscription gets and how they read: its query (compiled wheres are shared by
    equal queries, Hub.compile) and every caller attribute the read rules consult (security/policy.py's Policy:
    master, read-only, user id and roles → principals, API-token flags). Invariant: equal views ⇒ equal events, so
    a view can key one shared judgement (`share_key` does for callers with hidden fields). A rule that comes to read
    another caller attribute must add it."""
    return (
        id(where),
        keys,
        watch,
        caller.master,
        caller.read_only,
        caller.user_id,
        caller.roles,
        caller.token_id,
        caller.token_read_only,
    )


class Sink(Protocol):
    client_id: int

    def push(self, frame: bytes) -> None: ...

    def push_many(self, frames: list[bytes]) -> None: ...


@dataclass(eq=False)
class Subscription:
    client: Sink
    request_id: int
    class_name: str
    where: CompiledWhere
    keys: frozenset[str] | None
    watch: tuple[str, ...] | None
    caller: Caller
    expires_at: datetime | None  # of the session the caller came from
    head: bytes = b""  # the frame fields every event to this subscription starts with
    # The caller's permissions: the one Policy every read path asks. Its reader for the current class version
    # (CLP, pointer permissions, ACL through the row's _rperm, protected fields) is held here, so judging an event
    # re-derives nothing; schema objects are replaced on any change, which makes a new reader.
    policy: Policy = field(init=False)
    _reader: Reader | None = None
    view: tuple[Any, ...] = ()  # subscriptions with equal views get the same events, judged once (see view_of)

    def reader(self, schema: ClassSchema) -> Reader:
        held = self._reader
        if held is None or held.schema is not schema:
            held = self._reader = self.policy.reader(schema, "find")
        return held

    def set_caller(self, caller: Caller) -> None:
        """A new caller (e.g. roles changed): nothing derived from the old one is kept."""
        self.caller, self.policy, self._reader = caller, Policy(caller), None
        self.view = view_of(self.where, self.keys, self.watch, caller)

    def __post_init__(self) -> None:
        self.set_caller(self.caller)
        install = self.caller.installation_id
        self.head = (
            f'"clientId":{self.client.client_id},'
            + (f'"installationId":{orjson.dumps(install).decode()},' if install else "")
            + f'"requestId":{self.request_id}'
        ).encode()


class Matches:
    """Per event: whether the object before / after matches a where, evaluated once per distinct where (the hub
    shares one compiled where between subscriptions with the same query)."""

    __slots__ = ("change", "new", "now", "old")

    def __init__(self, change: Change, now: datetime) -> None:
        self.change, self.now = change, now
        self.old: dict[int, bool] = {}
        self.new: dict[int, bool] = {}

    def before(self, where: CompiledWhere) -> bool:
        found = self.old.get(id(where))
        if found is None:
            found = self.old[id(where)] = where.matches(self.change.old or {}, now=self.now)
        return found

    def after(self, where: CompiledWhere) -> bool:
        found = self.new.get(id(where))
        if found is None:
            found = self.new[id(where)] = where.matches(self.change.new or {}, now=self.now)
        return found


def judge(
    schema: ClassSchema, sub: Subscription, change: Change, memo: Matches
) -> tuple[str, dict[str, Any], dict[str, Any] | None] | None:
    """Which event (if any) this change is for this subscriber: (op, object, original)."""
    old, new, reader = change.old, change.new, sub.reader(schema)
    old_seen = old is not None and reader.can_read(old, change.old_rperm)
    new_seen = new is not None and reader.can_read(new, change.new_rperm)
    was = old_seen and memo.before(sub.where)
    now_in = new_seen and memo.after(sub.where)
    if new is None:
        return ("delete", old, None) if was else None  # type: ignore[return-value]
    if old is None:
        return ("create", new, None) if now_in and _watched(sub, None, new) else None
    if was and now_in:
        return ("update", new, old) if _watched(sub, old, new) else None
    if was:  # left the query, or lost read access: then it leaves with the last state the subscriber could read
        return ("leave", new, old) if new_seen else ("leave", old, None)
    if now_in:  # entered; `original` only if the subscriber could read it
        return ("enter", new, old if old_seen else None)
    return None


def share_key(schema: ClassSchema, sub: Subscription, change: Change) -> tuple[Any, ...]:
    """What `sub`'s frame for `change` depends on besides its own `head`: subscribers with equal keys get the same
    frame, judged and rendered once. `judge` reads nothing of the caller but whether they may read the object before
    and after, and a caller from whom no field is hidden sees objects whole; so then the key is the query, `keys`,
    `watch` and those two verdicts — 1 000 reps in one role share one frame. A caller with hidden fields (protected
    fields can depend on who asks) keeps its whole view (`view_of`) as the key. Keys of the two kinds never equal
    each other (different lengths)."""
    reader = sub.reader(schema)
    if reader.hidden:
        return sub.view
    old_seen = change.old is not None and reader.can_read(change.old, change.old_rperm)
    new_seen = change.new is not None and reader.can_read(change.new, change.new_rperm)
    return (id(sub.where), sub.keys, sub.watch, old_seen, new_seen)


def _watched(sub: Subscription, old: dict[str, Any] | None, new: dict[str, Any]) -> bool:
    if not sub.watch:
        return True
    return any((old or {}).get(f) != new.get(f) for f in sub.watch)


UNSEEN: Any = object()


def frame_parts(
    schema: ClassSchema, sub: Subscription, change: Change, memo: Matches, cache: dict[tuple[Any, ...], bytes]
) -> tuple[bytes, bytes] | None:
    """The event for `sub`'s view, as the frame's text before and after the subscriber's own `head`; or None."""
    verdict = judge(schema, sub, change, memo)
    if verdict is None:
        return None
    op, obj, original = verdict
    return b'{"op":"' + op.encode() + b'",', body(schema, sub, obj, original, cache)


def body(
    schema: ClassSchema,
    sub: Subscription,
    obj: dict[str, Any],
    original: dict[str, Any] | None,
    cache: dict[tuple[Any, ...], bytes],
) -> bytes:
    if original is None:
        return b',"object":' + _render(schema, sub, obj, cache) + b"}"
    return (
        b',"object":'
        + _render(schema, sub, obj, cache)
        + b',"original":'
        + _render(schema, sub, original, cache)
        + b"}"
    )


def _render(schema: ClassSchema, sub: Subscription, obj: dict[str, Any], cache: dict[tuple[Any, ...], bytes]) -> bytes:
    """The object as this subscriber may see it, as JSON text; equal renderings are serialised once per event."""
    shown = sub.reader(schema).visible(obj)
    if sub.keys is not None:
        shown = {k: v for k, v in shown.items() if k in sub.keys or k in ALWAYS_SHOWN}
    key = (id(obj), None) if shown is obj else (id(obj), *shown)
    text = cache.get(key)
    if text is None:
        text = cache[key] = orjson.dumps({"className": schema.name, **shown})
    return text


def object_json(obj: ParseObject) -> dict[str, Any]:
    out = obj.to_json()
    out.pop("className", None)
    for name, when in (("createdAt", obj.created_at), ("updatedAt", obj.updated_at)):
        if when is not None:
            out[name] = iso(when)
    return out


def error_frame(code: int, message: str, request_id: int | None = None, reconnect: bool = False) -> bytes:
    body: dict[str, Any] = {"op": "error", "code": code, "error": message, "reconnect": reconnect}
    if request_id is not None:
        body["requestId"] = request_id
    return orjson.dumps(body)
