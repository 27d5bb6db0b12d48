"""The condition tree: a `where` as frozen nodes, what both interpreters of the query language consume — the SQL
compiler (where.py) and the in-memory evaluator (evaluate.py, the live-query matcher). parse.py makes trees.

    parse_where({"stage": "won", "amount": {"$gt": 1000}}, limits)
    # And((Test(Key("stage"), Eq("won")), Test(Key("amount"), Compare("$gt", 1000))))

Values in a tree are validated Parse JSON: Dates `{"__type": "Date", "iso": …}` with a parseable instant, pointers
with string className and objectId, no `$` keys in plain objects, finite numbers; on `createdAt`/`updatedAt` an
ISO string is taken as that Date. `$relativeTime` is a RelativeTime, resolved when the query runs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from . import regex

# -- the tree ------------------------------------------------------------------------------------------------------

DATE_KEYS = frozenset({"createdAt", "updatedAt"})


@dataclass(frozen=True, slots=True)
class Key:
    """A queried key: `name` as written ("o.x"), its field (`head`) and the sub-keys inside an Object field."""

    name: str
    head: str
    path: tuple[str, ...]

    @property
    def is_date(self) -> bool:
        """createdAt/updatedAt: plain ISO strings in Parse JSON objects, Dates in queries."""
        return not self.path and self.head in DATE_KEYS


@dataclass(frozen=True, slots=True)
class RelativeTime:
    """`{"$relativeTime": "3 days ago"}`: an instant relative to the moment the query runs."""

    text: str
    seconds: int

    def at(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.seconds)


@dataclass(frozen=True, slots=True)
class Eq:
    value: Any  # None: missing or null


@dataclass(frozen=True, slots=True)
class Ne:
    value: Any


@dataclass(frozen=True, slots=True)
class Compare:
    op: str  # "$lt" | "$lte" | "$gt" | "$gte"
    value: Any  # a validated value, or a RelativeTime


@dataclass(frozen=True, slots=True)
class In:
    values: tuple[Any, ...]
    negate: bool  # $nin


@dataclass(frozen=True, slots=True)
class Exists:
    present: bool


@dataclass(frozen=True, slots=True)
class All:
    values: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Regex:
    pattern: str
    options: str  # subset of "imxsu"


@dataclass(frozen=True, slots=True)
class AllRegex:
    regexes: tuple[Regex, ...]


@dataclass(frozen=True, slots=True)
class ContainedBy:
    values: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Text:
    term: str
    language: str
    case_sensitive: bool
    diacritic_sensitive: bool
    search: Mapping[str, Any] = field(compare=False)  # the `$search` object as sent (for resolvers)


@dataclass(frozen=True, slots=True)
class InQuery:
    class_name: str
    where: Node
    negate: bool  # $notInQuery


@dataclass(frozen=True, slots=True)
class Select:
    class_name: str
    where: Node
    key: Key
    negate: bool  # $dontSelect


@dataclass(frozen=True, slots=True)
class Near:
    """`$nearSphere` (+ `$maxDistance…`): within `max_radians` of the point on the unit sphere (None: any
    distance). A read without an order is sorted nearest first."""

    latitude: float
    longitude: float
    max_radians: float | None
    sort: bool = True  # `$geoWithin.$centerSphere` is the same test without the ordering


@dataclass(frozen=True, slots=True)
class WithinBox:
    """`$within: {$box: [sw, ne]}`, bounds inclusive (corners normalised, as PostgreSQL's box does)."""

    south: float
    west: float
    north: float
    east: float


@dataclass(frozen=True, slots=True)
class WithinPolygon:
    """`$geoWithin: {$polygon}`: inside the ring of (longitude, latitude) vertices (even-odd crossing rule)."""

    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True, slots=True)
class PolygonContains:
    """`$geoIntersects: {$point}` on a Polygon field: the point is inside its ring (even-odd crossing rule)."""

    latitude: float
    longitude: float


Op = (
    Eq
    | Ne
    | Compare
    | In
    | Exists
    | All
    | AllRegex
    | ContainedBy
    | Regex
    | Text
    | InQuery
    | Select
    | Near
    | WithinBox
    | WithinPolygon
    | PolygonContains
)


@dataclass(frozen=True, slots=True)
class Test:
    """One operator applied to one key."""

    key: Key
    op: Op


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Nor:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class RelatedTo:
    """`$relatedTo`: the object is in relation `key` of the owner object."""

    class_name: str
    object_id: str
    key: str


Node = Test | And | Or | Nor | RelatedTo
EVERYTHING = And(())


@dataclass(frozen=True)
class Limits:
    """Bounds on one query (settings PARSE_MAX_WHERE_DEPTH, PARSE_MAX_WHERE_CLAUSES, PARSE_MAX_REGEX_LENGTH and
    PARSE_MAX_QUERY_PARAMS, the last checked on the compiled SQL)."""

    max_depth: int = 20
    max_clauses: int = 1000
    regex: regex.RegexLimits = field(default_factory=regex.RegexLimits)
    max_params: int = 10_000


def top_level_tests(node: Node) -> tuple[Node, ...]:
    """The conditions every match must meet: the children of a top-level And, or the node itself."""
    return node.children if isinstance(node, And) else (node,)


def without(node: Node, drop: Node) -> Node:
    """`node` without the top-level condition `drop` (an ACL-scoped read has already applied it)."""
    return And(tuple(c for c in top_level_tests(node) if c is not drop))


def keys(node: Node) -> Iterator[Key]:
    """Every key the where tests on its own class (not inside sub-queries on other classes)."""
    if isinstance(node, Test):
        yield node.key
    elif isinstance(node, (And, Or, Nor)):
        for child in node.children:
            yield from keys(child)
