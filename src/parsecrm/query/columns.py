"""Columns and values for the SQL compiler (where.py): what a queried key is in the table, how a query value is
typed for its column, and the jsonb helpers array and Object-path conditions share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from ..storage.model import ClassSchema, Field, q
from ..values import parse_iso_or_none
from . import tree
from .sql import Context, Params, Sql

PG_TYPES = {
    "String": "text",
    "Number": "float8",
    "Boolean": "bool",
    "Date": "timestamptz",
    "Pointer": "text",
    "File": "text",
    "Bytes": "text",
}


class Column:
    """A queried key: its SQL expression and schema field (None when the class has no such field)."""

    __slots__ = ("expr", "field", "join", "path")

    def __init__(self, expr: str, field: Field | None, path: tuple[str, ...] = (), join: str = "") -> None:
        self.expr = expr
        self.field = field
        self.path = path  # sub-keys inside an Object field
        self.join = join  # a Relation's join table

    @property
    def kind(self) -> str:
        if self.path:
            return "Path"
        return self.field.type if self.field else "Unknown"


def resolve(key: tree.Key, schema: ClassSchema, alias: str) -> Column:
    field = schema.fields.get(key.head)
    if field is None or field.type == "ACL" or (key.head == "password" and schema.name == "_User"):
        return Column("NULL", None)
    if field.type == "Relation":
        return Column(f'{alias}."objectId"', field, join=q(f"_Join:{key.head}:{schema.name}"))
    expr = f"{alias}.{q(key.head)}"
    if key.path:
        if field.type not in ("Object", "Array"):
            return Column("NULL", None)
        return Column(expr, field, key.path)
    return Column(expr, field)


# -- values --------------------------------------------------------------------------------------------------------

MISMATCH = object()


def coerce(col: Column, value: Any, ctx: Context) -> Any:
    """A query value as the column's Python value, or MISMATCH when it can never equal a value of that column."""
    kind = col.kind
    if isinstance(value, tree.RelativeTime):
        return value.at(ctx.now) if kind == "Date" else MISMATCH
    if kind == "String":
        return value if isinstance(value, str) else MISMATCH
    if kind == "Number":
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else MISMATCH
    if kind == "Boolean":
        return value if isinstance(value, bool) else MISMATCH
    if kind == "Date":
        if isinstance(value, dict) and value.get("__type") == "Date":
            return parse_iso_or_none(value["iso"])
        return MISMATCH
    if kind == "Pointer":
        assert col.field is not None
        if isinstance(value, dict) and value.get("__type") in ("Pointer", "Object"):
            cls, oid = value["className"], value["objectId"]
            if col.field.polymorphic:
                return f"{cls}${oid}" if cls in col.field.targets else MISMATCH
            return oid if cls == col.field.target else MISMATCH
        if isinstance(value, str) and not col.field.polymorphic:
            return value  # a bare objectId, as parse-server accepts
        return MISMATCH
    if kind == "File":  # a File matches by its stored name
        if isinstance(value, dict) and value.get("__type") == "File":
            value = value.get("name")
        return value if isinstance(value, str) else MISMATCH
    if kind == "Bytes":  # a Bytes value matches by its base64 text
        if isinstance(value, dict) and value.get("__type") == "Bytes":
            value = value.get("base64")
        return value if isinstance(value, str) else MISMATCH
    if kind in ("GeoPoint", "Polygon"):  # compared by coordinates in where.py, never as a parameter of its own
        return MISMATCH
    if kind == "Relation":  # `{"watchers": pointer}` = the relation contains it
        assert col.field is not None
        if isinstance(value, dict) and value.get("__type") in ("Pointer", "Object"):
            return value["objectId"] if value["className"] == col.field.target else MISMATCH
        return MISMATCH
    if kind == "Unknown":
        return MISMATCH
    return value  # Object / Array / Path: compared as JSON


def jsonb_list(values: list[Any], params: Params) -> str:
    """A jsonb[] parameter. Sent as text[] of encoded JSON: asyncpg would read nested lists as array dimensions."""
    return params.add([orjson.dumps(v).decode() for v in values], "::text[]::jsonb[]")


def scalar(value: Any) -> bool:
    return not isinstance(value, (dict, list))


def has_element(array_expr: str, test: str) -> str:
    """Some element `e` of the jsonb array satisfies `test` (element equality, never jsonb containment, which
    would let {"k":1} match [{"k":1,"j":2}])."""
    return f"EXISTS (SELECT 1 FROM jsonb_array_elements({array_expr}) e WHERE {test})"


def path_expr(col: Column, params: Params) -> str:
    return f"({col.expr} #> {params.add(list(col.path), '::text[]')})"


def array_eq(expr: Callable[[Params], str], value: Any, *, guard: bool = False) -> Sql:
    """Mongo semantics for `{array_field: value}`: an element equals `value`, or (for a list) the whole array does."""

    def emit(params: Params) -> str:
        array = expr(params)
        is_array = f"jsonb_typeof({array}) = 'array'"
        if scalar(value):
            test = f"{array} @> {params.add([value], '::jsonb')}"  # exact for scalars, and indexable
            return f"({is_array} AND {test})" if guard else test
        p = params.add(value, "::jsonb")
        test = has_element(array, f"e = {p}")
        if guard:
            test = f"({is_array} AND {test})"
        return f"({array} = {p} OR {test})" if isinstance(value, list) else test

    return emit
