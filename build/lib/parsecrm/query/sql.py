"""The few pieces every compiler step shares: the parameter list and the compile context."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..storage.schema import ClassSchema

# read_filter(schema, alias, op) → an SQL condition limiting `alias` to rows the caller may read, or None for "all".
# It raises ParseError when the caller may not run `op` on the class at all. See security/policy.py.
ReadFilter = Callable[..., str | None]  # (schema, alias, op, params, scope=None); scope: see security/policy.py

# protected(schema) → fields the caller may not filter or sort on (security/policy.py protected_for)
Protected = Callable[[ClassSchema], set[str]]


def _nothing_protected(schema: ClassSchema) -> set[str]:
    return set()


class Params:
    """Positional parameters ($1, $2, …). Values never enter the SQL text."""

    __slots__ = ("casts", "values")

    def __init__(self) -> None:
        self.values: list[Any] = []
        self.casts: list[str] = []

    def add(self, value: Any, cast: str = "") -> str:
        self.values.append(value)
        self.casts.append(cast)
        return f"${len(self.values)}{cast}"

    def pin_unused(self, condition: str) -> str:
        """`condition` plus a no-op reference to every parameter it lost (a branch the compiler folded away to
        TRUE/FALSE still added its parameters, and PostgreSQL must know each parameter's type)."""
        extra = [
            f"(${i}{cast} IS NULL OR TRUE)"
            for i, cast in enumerate(self.casts, 1)
            if cast and not re.search(rf"\${i}(?!\d)", condition)
        ]
        return condition if not extra else "(" + " AND ".join([condition, *extra]) + ")"


@dataclass
class Context:
    schemas: Mapping[str, ClassSchema]
    read_filter: ReadFilter
    params: Params = field(default_factory=Params)
    protected: Protected = _nothing_protected
    score: str | None = None  # the text-search rank of the top-level `$text` constraint, for order/keys `$score`
    _alias: int = 0

    def alias(self) -> str:
        self._alias += 1
        return f"t{self._alias}"
