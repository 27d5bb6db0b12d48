"""What every SQL compiler step shares: the parameter list, conditions that fold, the compile context, and the
`ReadRules` protocol — what the compiler needs from the caller's permissions (security/policy.py's Policy)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from ..storage.model import ClassSchema
from .tree import Limits


class Params:
    """Positional parameters ($1, $2, …). Values never enter the SQL text."""

    __slots__ = ("values",)

    def __init__(self) -> None:
        self.values: list[Any] = []

    def add(self, value: Any, cast: str = "") -> str:
        self.values.append(value)
        return f"${len(self.values)}{cast}"


# A condition is True (every row), False (no row) or an SQL renderer. Renderers add their parameters only when the
# condition survives folding (`x AND FALSE` is FALSE), so a statement never carries a parameter it does not use,
# and compiling is linear in the size of the where.
Sql = Callable[[Params], str]
Cond = bool | Sql


def render(cond: Cond, params: Params) -> str:
    if cond is True:
        return "TRUE"
    if cond is False:
        return "FALSE"
    return cond(params)


def sql(text: str) -> Sql:
    """A fixed piece of SQL without parameters."""
    return lambda _params: text


def and_(parts: list[Cond]) -> Cond:
    if any(p is False for p in parts):
        return False
    live = [p for p in parts if p is not True]
    if not live:
        return True
    if len(live) == 1:
        return live[0]
    return lambda params: "(" + " AND ".join(render(p, params) for p in live) + ")"


def or_(parts: list[Cond]) -> Cond:
    if any(p is True for p in parts):
        return True
    live = [p for p in parts if p is not False]
    if not live:
        return False
    if len(live) == 1:
        return live[0]
    return lambda params: "(" + " OR ".join(render(p, params) for p in live) + ")"


def not_(cond: Cond) -> Cond:
    if isinstance(cond, bool):
        return not cond
    return lambda params: f"(NOT coalesce({render(cond, params)}, false))"


class ReadRules(Protocol):
    """What the compiler asks of the caller's permissions (implemented by security.policy.Policy)."""

    def check(self, schema: ClassSchema, op: str) -> tuple[str, ...]:
        """Raise the Parse error of a class-level denial of `op`."""
        ...

    def read_sql(self, schema: ClassSchema, alias: str, op: str, params: Params, scope: Any = None) -> str | None:
        """The rows of `alias` the caller may read (None: all)."""
        ...

    def hidden_sql(self, schema: ClassSchema, alias: str, params: Params) -> Mapping[str, str | None]:
        """Hidden fields → the condition under which the row shows each anyway (None: never)."""
        ...

    def protected(self, schema: ClassSchema) -> frozenset[str]:
        """Fields the caller may not filter, sort or aggregate on."""
        ...


@dataclass
class Context:
    schemas: Mapping[str, ClassSchema]
    rules: ReadRules
    params: Params = field(default_factory=Params)
    score: Sql | None = None  # the text-search rank of the top-level `$text` constraint, for order/keys `$score`
    near: Sql | None = None  # the distance to the first `$nearSphere` point: a read without an order sorts by it
    sort_alias: str | None = None  # the alias of the read's own rows (a `$nearSphere` in a sub-query sorts nothing)
    now: datetime = field(default_factory=lambda: datetime.now(UTC))  # what `$relativeTime` is relative to
    limits: Limits = field(default_factory=Limits)  # bounds on the wheres parsed while compiling (aggregate $match)
    _alias: int = 0

    def alias(self) -> str:
        self._alias += 1
        return f"t{self._alias}"
