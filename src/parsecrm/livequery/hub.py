"""The hub: open subscriptions indexed by class, and the ordered stream of changes and session changes.

Changes and session changes are handled in the order PostgreSQL delivered them, by one task (`run`): a log-out or
role change is applied before any event that committed after it is judged. Each change is judged per subscriber by
judge.py (once per view); a subscriber's frames go to its outbox.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from .. import errors
from ..cloud.objects import ParseObject
from ..cloud.requests import DataAccess, EventRequest
from ..errors import ParseError
from ..query.evaluate import CompiledWhere, compile_where
from ..security.caller import Caller
from ..security.sessions import token_key
from ..storage.model import ClassSchema
from .feed import Change
from .judge import UNSEEN, Matches, Subscription, body, error_frame, frame_parts, judge, object_json, share_key

log = logging.getLogger("parsecrm.livequery")

# Subscribers served between two yields to the event loop: a fan-out to 1 000 subscribers takes ~15 ms of CPU, which
# must not stall the process's HTTP requests; 64 frames are well under a millisecond. Events stay in commit order:
# the next change is not judged until this one is out (one task, `run`).
FAN_OUT_SLICE = 64
# Changes taken from the queue at once. When events arrive faster than one fan-out takes (many writers), the ones
# waiting are published together: a subscriber's frames for all of them leave in one write (one system call, the
# largest cost of a frame), instead of one write per event.
BATCH_MAX = 32


@dataclass
class Hub:
    schemas: Any  # storage.cache.SchemaCache
    sessions: Any  # security.sessions.Sessions
    cloud: Any  # cloud.registry.Cloud
    data: Callable[[Caller], DataAccess]  # Cloud Code's data API for a caller (afterEvent hooks query with it)
    by_class: dict[str, dict[tuple[int, int], Subscription]] = field(default_factory=dict)
    events: asyncio.Queue[tuple[str, Any]] = field(default_factory=asyncio.Queue)
    wheres: dict[bytes, CompiledWhere] = field(default_factory=dict)
    delivered: int = 0
    on_gap: Callable[[str], None] = lambda _reason: None  # events may have been missed: clients must resubscribe

    # -- subscriptions --------------------------------------------------------------------------------------------
    def compile(self, where: dict[str, Any]) -> CompiledWhere:
        """The compiled where, shared by every subscription with the same query (see judge.Matches)."""
        key = orjson.dumps(where, option=orjson.OPT_SORT_KEYS)
        found = self.wheres.get(key)
        if found is None:
            if len(self.wheres) > 10_000:
                self.wheres.clear()
            found = self.wheres[key] = compile_where(where)
        return found

    def add(self, sub: Subscription) -> None:
        self.by_class.setdefault(sub.class_name, {})[(sub.client.client_id, sub.request_id)] = sub

    def remove(self, client_id: int, request_id: int) -> Subscription | None:
        for subs in self.by_class.values():
            found = subs.pop((client_id, request_id), None)
            if found is not None:
                return found
        return None

    def drop_client(self, client_id: int) -> None:
        for subs in self.by_class.values():
            for key in [k for k in subs if k[0] == client_id]:
                del subs[key]

    def count(self) -> int:
        return sum(len(s) for s in self.by_class.values())

    # -- the ordered stream of changes and session changes ---------------------------------------------------------
    async def run(self, decode: Callable[[str], Any]) -> None:
        while True:
            items = [await self.events.get()]
            while len(items) < BATCH_MAX and not self.events.empty():  # what else already waits: one batch
                items.append(self.events.get_nowait())
            await self.handle(items, decode)
            await asyncio.sleep(0)  # let the clients' writers send between batches: a burst never piles up

    async def handle(self, items: list[tuple[str, Any]], decode: Callable[[str], Any]) -> None:
        """Items in the order they came. Consecutive changes of one class are published together (each subscriber
        gets all its frames for them in one write); a session change or a gap ends the run, so it is applied before
        any change that came after it."""
        run: list[Change] = []
        for kind, payload in items:
            try:
                if kind == "auth" or kind == "gap":
                    await self._publish_logged(run)
                    run = []
                if kind == "auth":
                    await self.sessions_changed(payload)
                elif kind == "gap":
                    self.on_gap(payload)
                else:
                    change = await decode(payload)
                    if change is not None:
                        if run and change.class_name != run[0].class_name:
                            await self._publish_logged(run)
                            run = []
                        run.append(change)
            except Exception:  # one bad event must not stop the stream
                log.exception("live query event failed")
        await self._publish_logged(run)

    async def _publish_logged(self, changes: list[Change]) -> None:
        if not changes:
            return
        try:
            await self.publish(changes)
        except Exception:
            log.exception("live query event failed")

    async def sessions_changed(self, payload: str) -> None:
        """Re-resolve the sessions a NOTIFY on the auth channel names (the session cache already dropped them); a
        subscription whose session is gone gets error 209 and ends: no event reaches a logged-out session."""
        kind, _, value = payload.partition(":")

        def hit(s: Subscription) -> bool:
            if kind == "t":
                return token_key(s.caller.session_token or "") == value
            if kind == "u":
                return s.caller.user_id == value
            return True  # roles changed, or the listener reconnected and may have missed something

        for subs in self.by_class.values():
            for key, sub in list(subs.items()):
                if sub.caller.session_token and hit(sub):
                    await self._refresh(subs, key, sub)

    async def _refresh(
        self, subs: dict[tuple[int, int], Subscription], key: tuple[int, int], sub: Subscription
    ) -> None:
        try:
            info = await self.sessions.resolve(sub.caller.session_token)
        except ParseError:
            subs.pop(key, None)
            sub.client.push(error_frame(errors.INVALID_SESSION_TOKEN, "Invalid session token", sub.request_id))
            return
        c = sub.caller
        sub.set_caller(
            Caller(
                master=c.master,
                read_only=c.read_only,
                user_id=info.user_id,
                user=info.user,
                roles=info.roles,
                session_token=c.session_token,
                installation_id=c.installation_id,
                ip=c.ip,
            )
        )
        sub.expires_at = info.expires_at

    # -- events ---------------------------------------------------------------------------------------------------
    async def publish(self, changes: list[Change]) -> None:
        """Changes of one class, in commit order, to every subscriber of the class that may see them."""
        subs = self.by_class.get(changes[0].class_name)
        if not subs:
            return
        schema = await self.schemas.get(changes[0].class_name)
        if schema is None:
            return
        now = datetime.now(UTC)
        memos = [Matches(change, now) for change in changes]
        hooked = self.cloud.has("afterEvent", schema.name)
        # per change, one judgement and rendering per share key (judge.share_key), shared by its subscribers
        shared: list[dict[tuple[Any, ...], tuple[bytes, bytes] | None]] = [{} for _ in changes]
        rendered: list[dict[tuple[Any, ...], bytes]] = [{} for _ in changes]
        for i, (key, sub) in enumerate(list(subs.items())):
            if i % FAN_OUT_SLICE == FAN_OUT_SLICE - 1:
                await asyncio.sleep(0)  # HTTP requests of this process go on during a large fan-out
            if subs.get(key) is not sub:  # unsubscribed or replaced meanwhile: never an event after `unsubscribed`
                continue
            if sub.expires_at is not None and sub.expires_at <= now:
                subs.pop(key, None)
                sub.client.push(error_frame(errors.INVALID_SESSION_TOKEN, "Session expired", sub.request_id))
                continue
            if hooked:  # the hook runs per subscriber and may change the objects: nothing to share
                for memo in memos:
                    await self._publish_hooked(schema, sub, memo.change, memo)
                continue
            out = []
            for n, memo in enumerate(memos):
                share = share_key(schema, sub, memo.change)
                parts = shared[n].get(share, UNSEEN)
                if parts is UNSEEN:
                    parts = shared[n][share] = frame_parts(schema, sub, memo.change, memo, rendered[n])
                if parts is not None:
                    out.append(parts[0] + sub.head + parts[1])
            if out:
                sub.client.push_many(out)
                self.delivered += len(out)

    async def _publish_hooked(self, schema: ClassSchema, sub: Subscription, change: Change, memo: Matches) -> None:
        verdict = judge(schema, sub, change, memo)
        if verdict is None:
            return
        op, obj, original = verdict
        hook_verdict = await self._after_event(sub, op, obj, original)
        if hook_verdict is None:
            return
        obj, original = hook_verdict
        sub.client.push(b'{"op":"' + op.encode() + b'",' + sub.head + body(schema, sub, obj, original, {}))
        self.delivered += 1

    async def _after_event(
        self, sub: Subscription, op: str, obj: dict[str, Any], original: dict[str, Any] | None
    ) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
        cls = sub.class_name
        req = EventRequest(
            caller=sub.caller,
            data=self.data(sub.caller),
            object=ParseObject.from_json(cls, obj),
            original=ParseObject.from_json(cls, original) if original is not None else None,
            event=op,
        )
        try:
            await self.cloud.run("afterEvent", cls, req)
        except ParseError as exc:
            sub.client.push(error_frame(exc.code, exc.message, sub.request_id))
            return None
        if not req.send_event:
            return None
        return object_json(req.object), (object_json(req.original) if req.original is not None else None)
