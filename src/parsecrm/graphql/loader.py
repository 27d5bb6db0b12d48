"""Batched pointer loading: every pointer a level of the result needs, collected per class, fetched with one
`objectId $in` find per class through the same read path REST uses (no N+1, same permissions).

A pointer the caller may not read resolves to a bare object (only its id), as a REST `include` leaves it a bare
pointer: its existence is no secret, its content is."""

from __future__ import annotations

import asyncio
from typing import Any

from ..backend import Backend
from ..security.caller import Caller
from . import data

CLASS_KEY = "__class"  # tags every object a resolver hands on, so unions and ids know their class
_SETTLE_TICKS = 3  # event-loop turns to wait before a batch goes out: sibling resolvers resume within them


class Loader:
    def __init__(self, backend: Backend, caller: Caller) -> None:
        self.backend = backend
        self.caller = caller
        # every object asked for in this request, loaded or in flight: a second ask never costs a second find
        self.futures: dict[tuple[str, str], asyncio.Future[dict[str, Any]]] = {}
        self.waiting: dict[str, list[str]] = {}  # class → ids not yet sent
        self.batch: asyncio.Task[None] | None = None
        self.finds = 0  # finds issued: the number of round trips this request's pointers cost

    def load(self, class_name: str, object_id: str) -> asyncio.Future[dict[str, Any]]:
        key = (class_name, object_id)
        fut = self.futures.get(key)
        if fut is None:
            fut = self.futures[key] = asyncio.get_running_loop().create_future()
            self.waiting.setdefault(class_name, []).append(object_id)
            if self.batch is None:
                self.batch = asyncio.ensure_future(self._dispatch())
        return fut

    async def _dispatch(self) -> None:
        for _ in range(_SETTLE_TICKS):
            await asyncio.sleep(0)
        waiting, self.waiting, self.batch = self.waiting, {}, None
        await asyncio.gather(*(self._fetch(cls, ids) for cls, ids in waiting.items()))

    async def _fetch(self, class_name: str, ids: list[str]) -> None:
        futures = [self.futures[(class_name, oid)] for oid in ids]
        try:
            found: dict[str, dict[str, Any]] = {}
            step = max(self.backend.settings.max_limit, 1)
            for start in range(0, len(ids), step):
                chunk = ids[start : start + step]
                self.finds += 1
                where = {"objectId": {"$in": chunk}}
                rows, _ = await data.find(self.backend, self.caller, class_name, {"where": where, "limit": len(chunk)})
                found.update((r["objectId"], r) for r in rows)
        except Exception as exc:
            for fut in futures:
                if not fut.done():
                    fut.set_exception(exc)
            return
        for oid, fut in zip(ids, futures, strict=True):
            obj = found.get(oid) or {"objectId": oid}
            obj[CLASS_KEY] = class_name
            if not fut.done():
                fut.set_result(obj)
