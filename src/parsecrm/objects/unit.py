"""A `Unit`: one transaction and the work to run once it commits — the argument every read and write takes.

Reads and writes both accept `unit=None` (run on the pool; a write opens its own transaction) or a Unit (run on its
connection, inside its transaction). A Unit also carries the class schemas its transaction created or extended, so
a batch that creates a class and then reads it sees it (`schemas_for`); they reach the process-wide cache only
after commit, because a rolled-back schema change must never be cached.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from ..backend import Backend
from ..security.caller import Caller
from ..storage.model import ClassSchema
from ..storage.pool import Connection


@dataclass
class Unit:
    conn: Connection
    after_commit: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    schemas: dict[str, ClassSchema] = field(default_factory=dict)
    deferred: list[tuple[Caller, str, dict[str, Any]]] = field(default_factory=list)  # see write.create_later

    def schema_changed(self, backend: Backend, schema: ClassSchema) -> ClassSchema:
        if not self.schemas:

            async def publish() -> None:
                backend.schemas.invalidate()

            self.after_commit.insert(0, publish)
        self.schemas[schema.name] = schema
        return schema


def connection(backend: Backend, unit: Unit | None) -> Connection | asyncpg.Pool:
    """Where a statement runs: the unit's transaction, or any pooled connection."""
    return unit.conn if unit is not None else backend.pool


async def schema_for(backend: Backend, unit: Unit | None, class_name: str) -> ClassSchema | None:
    """A class's schema as `unit` sees it (its own uncommitted changes first)."""
    if unit is not None and class_name in unit.schemas:
        return unit.schemas[class_name]
    return await backend.schemas.get(class_name)


async def schemas_for(backend: Backend, unit: Unit | None) -> Mapping[str, ClassSchema]:
    """Every class's schema as `unit` sees it."""
    committed = await backend.schemas.all()
    if unit is None or not unit.schemas:
        return committed
    return ChainMap(unit.schemas, committed)
