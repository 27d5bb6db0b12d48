"""The in-memory evaluator: does an object (Parse JSON, as a find returns it) match a where?

It consumes the same condition tree as the SQL compiler (tree.py), so both interpreters accept the same queries
and share `$relativeTime`, regex translation and value typing; tests/query/test_where_property.py checks on random
trees that the server's SQL selects exactly the objects this evaluator matches. It is the live-query matcher:
compile a where once (`compile_where` / `compile_tree`), then `matches(obj)` per event — each operator is a
closure decided at compile time, so matching does no parsing and no dispatch on operator names.

    matcher = compile_where({"stage": "won", "amount": {"$gt": 1000}})
    matcher.matches({"objectId": "x", "stage": "won", "amount": 5000})   # True

Semantics (MongoDB's and the SDK's OfflineQuery's; the *decisions* are where those and parse-server's Postgres
adapter disagree, and the SQL compiler makes the same ones):

* ``{"f": v}`` / ``$eq``: ``v`` equals the field's value. Dates compare as instants, pointers (and included
  ``__type: Object`` values) by className + objectId, Objects key by key regardless of order, numbers numerically
  (``1 == 1.0``), booleans are not numbers. On an Array field: the whole array equals ``v`` or an element does.
  ``v = null`` matches missing/null only (*decision*: not arrays containing null). A pointer field also equals a
  plain string that is its objectId (*decision*, as parse-server's adapters do for Pointer columns).
* ``$ne`` is the negation of equality (so missing matches); ``$lt $lte $gt $gte`` order numbers, strings (by code
  point) and Dates (also ``$relativeTime``); other types, arrays and nulls never match (*decision*).
* ``$in``/``$nin``: equality with any element / none; ``$in: []`` matches nothing (*decision*).
* ``$exists``; ``$all`` (an Array holding, for each item, an equal element; with regexes, a matching string
  element; ``[]`` matches nothing); ``$containedBy`` (every element equals some item; missing does not match).
* ``$regex``: PCRE via regex.to_python, ``re.search``; only strings match (*decision*: not array elements).
* Dotted keys address into Object fields; anything else on the path makes the value missing.
* ``$inQuery $notInQuery $select $dontSelect $relatedTo $text`` need a :class:`Resolver`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from . import geo, regex, tree
from .matching import approximate_text_match, eq_match, field_equal, in_match, lookup, order_key
from .parse import parse_where
from .regex import translate_regex
from .tree import Limits, Node

__all__ = [
    "CompiledWhere",
    "ListResolver",
    "Resolver",
    "ResolverRequiredError",
    "approximate_text_match",
    "compile_tree",
    "compile_where",
    "matches",
    "translate_regex",
]


class ResolverRequiredError(RuntimeError):
    """The query uses an operator that needs other data ($inQuery, $relatedTo, …) but has no resolver."""


class Resolver(Protocol):
    """Access to data outside the object being matched."""

    def query(self, class_name: str, where: Node) -> Iterable[Mapping[str, Any]]:
        """The objects of ``class_name`` matching ``where`` (Parse JSON)."""
        ...

    def related(self, owner: Mapping[str, Any], key: str) -> Collection[str]:
        """The objectIds in the relation ``key`` of the ``owner`` pointer."""
        ...

    def text(self, value: Any, search: Mapping[str, Any]) -> bool:
        """Whether a field value matches a ``$text`` ``$search`` spec (see :func:`approximate_text_match`)."""
        ...


# -- compilation ---------------------------------------------------------------------------------------------------


@dataclass
class _Ctx:
    resolve: Resolver | None
    now: datetime
    memo: dict[int, Any] = field(default_factory=dict)

    def resolver(self, op: str) -> Resolver:
        if self.resolve is None:
            raise ResolverRequiredError(f"{op} needs a resolver")
        return self.resolve

    def sub_query(self, token: object, class_name: str, where: Node) -> list[Mapping[str, Any]]:
        key = id(token)
        if key not in self.memo:
            self.memo[key] = list(self.resolver("sub-query").query(class_name, where))
        result: list[Mapping[str, Any]] = self.memo[key]
        return result


_Pred = Callable[[Mapping[str, Any], _Ctx], bool]
_Test = Callable[[Any, _Ctx], bool]


class CompiledWhere:
    """A where ready to be matched against many objects."""

    __slots__ = ("_pred", "tree")

    def __init__(self, node: Node) -> None:
        self.tree = node
        self._pred = _compile(node)

    def matches(self, obj: Mapping[str, Any], *, resolve: Resolver | None = None, now: datetime | None = None) -> bool:
        return self._pred(obj, _Ctx(resolve, now or datetime.now(UTC)))

    def filter(
        self, objs: Iterable[Mapping[str, Any]], *, resolve: Resolver | None = None, now: datetime | None = None
    ) -> list[Mapping[str, Any]]:
        """The matching objects, in order. Sub-queries run once for the whole list."""
        ctx = _Ctx(resolve, now or datetime.now(UTC))
        return [obj for obj in objs if self._pred(obj, ctx)]


def compile_tree(node: Node) -> CompiledWhere:
    return CompiledWhere(node)


def compile_where(where: Any, limits: Limits | None = None) -> CompiledWhere:
    """Parse ``where`` (raising ParseError) and compile it."""
    return CompiledWhere(parse_where(where, limits))


def matches(
    where: Any, obj: Mapping[str, Any], *, resolve: Resolver | None = None, now: datetime | None = None
) -> bool:
    """Whether the Parse-JSON object ``obj`` satisfies the where. ``resolve`` serves the operators that need other
    data (without it they raise :class:`ResolverRequiredError`); ``now`` anchors ``$relativeTime``."""
    return compile_where(where).matches(obj, resolve=resolve, now=now)


def _compile(node: Node) -> _Pred:
    if isinstance(node, tree.Test):
        key, test = node.key, _compile_op(node.op)
        return lambda obj, ctx: test(lookup(obj, key), ctx)
    if isinstance(node, tree.RelatedTo):
        pointer = {"__type": "Pointer", "className": node.class_name, "objectId": node.object_id}
        relation = node.key
        return lambda obj, ctx: obj.get("objectId") in ctx.resolver("$relatedTo").related(pointer, relation)
    subs = [_compile(child) for child in node.children]
    if isinstance(node, tree.And):
        if len(subs) == 1:
            return subs[0]
        return lambda obj, ctx: all(sub(obj, ctx) for sub in subs)
    if isinstance(node, tree.Or):
        return lambda obj, ctx: any(sub(obj, ctx) for sub in subs)
    return lambda obj, ctx: not any(sub(obj, ctx) for sub in subs)


def _compile_op(op: tree.Op) -> _Test:
    return _OPERATORS[type(op)](op)


def _eq(op: tree.Eq) -> _Test:
    v = op.value
    return lambda value, ctx: eq_match(value, v)


def _ne(op: tree.Ne) -> _Test:
    v = op.value
    return lambda value, ctx: not eq_match(value, v)


_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "$lt": lambda a, b: a < b,
    "$lte": lambda a, b: a <= b,
    "$gt": lambda a, b: a > b,
    "$gte": lambda a, b: a >= b,
}


def _compare(op: tree.Compare) -> _Test:
    check = _ORDER[op.op]
    if isinstance(op.value, tree.RelativeTime):
        relative = op.value

        def test_relative(value: Any, ctx: _Ctx) -> bool:
            left = order_key(value)
            return left is not None and left[0] == 3 and bool(check(left[1], relative.at(ctx.now)))

        return test_relative
    right = order_key(op.value)

    def test(value: Any, ctx: _Ctx) -> bool:
        left = order_key(value)
        return left is not None and right is not None and left[0] == right[0] and bool(check(left[1], right[1]))

    return test


def _in(op: tree.In) -> _Test:
    items, negate = op.values, op.negate
    return lambda value, ctx: in_match(value, items) != negate


def _exists(op: tree.Exists) -> _Test:
    present = op.present
    return lambda value, ctx: (value is not None) == present


def _all(op: tree.All) -> _Test:
    items = op.values

    def test(value: Any, ctx: _Ctx) -> bool:
        if not isinstance(value, list) or not items:
            return False
        return all(any(field_equal(e, item) for e in value) for item in items)

    return test


def _all_regex(op: tree.AllRegex) -> _Test:
    compiled = [regex.to_python(r.pattern, r.options) for r in op.regexes]

    def test(value: Any, ctx: _Ctx) -> bool:
        if not isinstance(value, list) or not compiled:
            return False
        strings = [e for e in value if isinstance(e, str)]
        return all(any(rx.search(s) for s in strings) for rx in compiled)

    return test


def _contained_by(op: tree.ContainedBy) -> _Test:
    allowed = op.values

    def test(value: Any, ctx: _Ctx) -> bool:
        return isinstance(value, list) and all(any(field_equal(e, a) for a in allowed) for e in value)

    return test


def _regex(op: tree.Regex) -> _Test:
    compiled = regex.to_python(op.pattern, op.options)
    return lambda value, ctx: isinstance(value, str) and compiled.search(value) is not None


def _text(op: tree.Text) -> _Test:
    search = op.search
    return lambda value, ctx: ctx.resolver("$text").text(value, search)


def _in_query(op: tree.InQuery) -> _Test:
    token, class_name, where, negate = object(), op.class_name, op.where, op.negate

    def test(value: Any, ctx: _Ctx) -> bool:
        pointers = [
            {"__type": "Pointer", "className": class_name, "objectId": r.get("objectId")}
            for r in ctx.sub_query(token, class_name, where)
        ]
        return in_match(value, pointers) != negate

    return test


def _select(op: tree.Select) -> _Test:
    token, class_name, where, key, negate = object(), op.class_name, op.where, op.key, op.negate

    def test(value: Any, ctx: _Ctx) -> bool:
        selected = [_select_value(r, key) for r in ctx.sub_query(token, class_name, where)]
        return in_match(value, [s for s in selected if s is not None]) != negate

    return test


def _select_value(obj: Mapping[str, Any], key: tree.Key) -> Any:
    """The value a `$select` key reads; `pointer.objectId` is the target's id (where.py `_pointer_id`)."""
    head = obj.get(key.head)
    if key.path == ("objectId",) and isinstance(head, Mapping) and head.get("__type") == "Pointer":
        return head.get("objectId")
    return lookup(obj, key)


def _geo(test: Callable[[Any], bool]) -> _Test:
    return lambda value, ctx: test(value)


_OPERATORS: dict[type, Callable[[Any], _Test]] = {
    tree.Eq: _eq,
    tree.Ne: _ne,
    tree.Compare: _compare,
    tree.In: _in,
    tree.Exists: _exists,
    tree.All: _all,
    tree.AllRegex: _all_regex,
    tree.ContainedBy: _contained_by,
    tree.Regex: _regex,
    tree.Text: _text,
    tree.InQuery: _in_query,
    tree.Select: _select,
    tree.Near: lambda op: _geo(geo.near_test(op)),
    tree.WithinBox: lambda op: _geo(geo.box_test(op)),
    tree.WithinPolygon: lambda op: _geo(geo.polygon_test(op)),
    tree.PolygonContains: lambda op: _geo(geo.contains_test(op)),
}


# -- a resolver over in-memory data (tests, and a model for the server's own) ------------------------------------


class ListResolver:
    """Resolves sub-queries against in-memory lists of Parse-JSON objects."""

    def __init__(
        self,
        classes: Mapping[str, Iterable[Mapping[str, Any]]],
        relations: Mapping[tuple[str, str, str], Collection[str]] | None = None,
    ) -> None:
        self._classes = {name: list(objs) for name, objs in classes.items()}
        self._relations = dict(relations or {})

    def query(self, class_name: str, where: Node) -> list[Mapping[str, Any]]:
        return compile_tree(where).filter(self._classes.get(class_name, []), resolve=self)

    def related(self, owner: Mapping[str, Any], key: str) -> Collection[str]:
        """Relations are keyed by (owner className, owner objectId, relation key)."""
        return self._relations.get((owner["className"], owner["objectId"], key), frozenset())

    def text(self, value: Any, search: Mapping[str, Any]) -> bool:
        return approximate_text_match(value, search)
