"""`where` JSON → an SQL condition. One table maps each operator to the function that compiles it.

Semantics are Mongo's (and the SDK's OfflineQuery's, mirrored by evaluate.py): a missing field is NULL; `$ne` and
`$nin` match it; comparisons against values of another type match nothing; equality with a scalar on an Array
field means "contains". Values always travel as parameters; field names are checked against the class schema.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from .. import errors
from ..errors import ParseError
from ..storage.schema import ClassSchema, Field, q
from ..values import FIELD_NAME, parse_iso
from . import regex
from .sql import Context

PG_TYPES = {"String": "text", "Number": "float8", "Boolean": "bool", "Date": "timestamptz", "Pointer": "text"}
TEXT_LANGUAGE = re.compile(r"^[a-z_]{2,30}$")
RESERVED_KEYS = {"_rperm", "_wperm", "_acl", "_hashed_password"}

NOTHING = "FALSE"
EVERYTHING = "TRUE"


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


def compile_where(where: Any, schema: ClassSchema, alias: str, ctx: Context) -> str:
    if where is None:
        return EVERYTHING
    if not isinstance(where, dict):
        raise ParseError(errors.INVALID_QUERY, "where must be a JSON object")
    parts: list[str] = []
    for key, value in where.items():
        if key in ("$or", "$and", "$nor"):
            parts.append(_logic(key, value, schema, alias, ctx))
        elif key == "$relatedTo":
            parts.append(_related_to(value, schema, alias, ctx))
        elif key.startswith("$"):
            raise ParseError(errors.INVALID_QUERY, f"Invalid query operator: {key[:40]}")
        else:
            guard(key, schema, ctx)
            col = resolve(key, schema, alias)
            parts.append(_constraint(col, value, schema, alias, ctx))
    return _and(parts)


def guard(key: str, schema: ClassSchema, ctx: Context) -> None:
    """Refuse keys the caller may not see: filtering on them would reveal them."""
    if key.split(".")[0] in ctx.protected(schema):
        raise ParseError(errors.OPERATION_FORBIDDEN, "Permission denied")


def _and(parts: list[str]) -> str:
    parts = [p for p in parts if p != EVERYTHING]
    if not parts:
        return EVERYTHING
    if NOTHING in parts:
        return NOTHING
    return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"


def _or(parts: list[str]) -> str:
    parts = [p for p in parts if p != NOTHING]
    if not parts:
        return NOTHING
    if EVERYTHING in parts:
        return EVERYTHING
    return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"


def _not(cond: str) -> str:
    if cond == EVERYTHING:
        return NOTHING
    if cond == NOTHING:
        return EVERYTHING
    return f"(NOT coalesce({cond}, false))"


def resolve(key: str, schema: ClassSchema, alias: str) -> Column:
    if key in RESERVED_KEYS:
        raise ParseError(errors.INVALID_KEY_NAME, f"Invalid key name: {key}")
    if key == "ACL":
        raise ParseError(errors.INVALID_QUERY, "Cannot query on ACL.")
    head, *rest = key.split(".")
    if not FIELD_NAME.match(head) or any(not re.match(r"^[A-Za-z0-9_]+$", p) for p in rest):
        raise ParseError(errors.INVALID_KEY_NAME, f"Invalid key name: {key[:100]}")
    field = schema.fields.get(head)
    if field is None or field.type == "ACL" or (head == "password" and schema.name == "_User"):
        return Column("NULL", None)
    if field.type == "Relation":
        return Column(f"{alias}.{q('objectId')}", field, join=q(f"_Join:{head}:{schema.name}"))
    expr = f"{alias}.{q(head)}"
    if rest:
        if field.type not in ("Object", "Array"):
            return Column("NULL", None)
        return Column(expr, field, tuple(rest))
    return Column(expr, field)


# -- values ---------------------------------------------------------------------------------------------------------

_MISMATCH = object()


def check_value(value: Any) -> None:
    """Reject malformed typed values wherever they appear, whatever the column: a bad query is an error even
    when it could match nothing."""
    if isinstance(value, dict):
        if value.get("__type") == "Date":
            parse_iso(value.get("iso"))
        elif "$relativeTime" in value:
            relative_time(value["$relativeTime"])


def coerce(col: Column, value: Any) -> Any:
    """A where value as the column's Python value, or _MISMATCH when it can never equal a value of that column."""
    check_value(value)
    kind = col.kind
    if kind == "String":
        return value if isinstance(value, str) else _MISMATCH
    if kind == "Number":
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else _MISMATCH
    if kind == "Boolean":
        return value if isinstance(value, bool) else _MISMATCH
    if kind == "Date":
        if isinstance(value, dict) and value.get("__type") == "Date":
            return parse_iso(value.get("iso"))
        if isinstance(value, dict) and "$relativeTime" in value:
            return relative_time(value["$relativeTime"])
        if isinstance(value, str):
            try:
                return parse_iso(value)
            except ParseError:
                return _MISMATCH
        return _MISMATCH
    if kind == "Pointer":
        assert col.field is not None
        if isinstance(value, dict) and value.get("__type") in ("Pointer", "Object"):
            cls, oid = value.get("className"), value.get("objectId")
            if not isinstance(oid, str) or not isinstance(cls, str):
                raise ParseError(errors.INVALID_POINTER, "Pointer needs className and objectId")
            if col.field.polymorphic:
                return f"{cls}${oid}" if cls in col.field.targets else _MISMATCH
            return oid if cls == col.field.target else _MISMATCH
        if isinstance(value, str) and not col.field.polymorphic:
            return value  # a bare objectId, as parse-server accepts
        return _MISMATCH
    if kind == "Relation":  # `{"watchers": pointer}` = the relation contains it
        assert col.field is not None
        if isinstance(value, dict) and value.get("__type") in ("Pointer", "Object"):
            return value.get("objectId") if value.get("className") == col.field.target else _MISMATCH
        return _MISMATCH
    if kind == "Unknown":
        return _MISMATCH
    return value  # Object / Array / Path: compared as JSON


def _json(value: Any) -> Any:
    """A jsonb parameter: the pool's codec encodes it (see storage/pool.py)."""
    return value


def _jsonb_list(values: list[Any], ctx: Context) -> str:
    """A jsonb[] parameter. Sent as text[] of encoded JSON: asyncpg would read nested lists as array dimensions."""
    return ctx.params.add([orjson.dumps(v).decode() for v in values], "::text[]::jsonb[]")


def _scalar(value: Any) -> bool:
    return not isinstance(value, (dict, list))


def _has_element(array_expr: str, test: str) -> str:
    """Some element `e` of the jsonb array satisfies `test` (element equality, never jsonb containment, which
    would let {"k":1} match [{"k":1,"j":2}])."""
    return f"EXISTS (SELECT 1 FROM jsonb_array_elements({array_expr}) e WHERE {test})"


def _array_eq(array_expr: str, value: Any, ctx: Context, *, guard: bool = False) -> str:
    """Mongo semantics for `{array_field: value}`: an element equals `value`, or (for a list) the whole array does."""
    is_array = f"jsonb_typeof({array_expr}) = 'array'"
    if _scalar(value):
        test = f"{array_expr} @> {ctx.params.add(_json([value]), '::jsonb')}"  # exact for scalars, and indexable
        return f"({is_array} AND {test})" if guard else test
    p = ctx.params.add(_json(value), "::jsonb")
    test = _has_element(array_expr, f"e = {p}")
    if guard:
        test = f"({is_array} AND {test})"
    if isinstance(value, list):
        return f"({array_expr} = {p} OR {test})"
    return test


def relative_time(text: Any) -> datetime:
    if not isinstance(text, str):
        raise ParseError(errors.INVALID_JSON, "$relativeTime should be a string")
    parts = text.lower().split()
    now = datetime.now(UTC)
    if parts == ["now"]:
        return now
    future = parts[:1] == ["in"]
    past = parts[-1:] == ["ago"]
    if future == past:
        raise ParseError(errors.INVALID_JSON, "Time should either start with 'in' or end with 'ago'")
    body = parts[1:] if future else parts[:-1]
    if len(body) % 2:
        raise ParseError(errors.INVALID_JSON, "Invalid time string. Dangling unit or number.")
    seconds = 0.0
    units = {
        "yr": 31536000,
        "year": 31536000,
        "week": 604800,
        "wk": 604800,
        "day": 86400,
        "d": 86400,
        "hr": 3600,
        "hour": 3600,
        "h": 3600,
        "min": 60,
        "minute": 60,
        "m": 60,
        "sec": 1,
        "second": 1,
        "s": 1,
    }
    for i in range(0, len(body), 2):
        try:
            amount = float(body[i])
        except ValueError as exc:
            raise ParseError(errors.INVALID_JSON, f"'{body[i][:20]}' is not an integer.") from exc
        unit = body[i + 1].rstrip("s") or "s"
        if unit not in units:
            raise ParseError(errors.INVALID_JSON, f"Invalid interval: '{body[i + 1][:20]}'")
        seconds += amount * units[unit]
    return now + timedelta(seconds=seconds if future else -seconds)


# -- constraints ----------------------------------------------------------------------------------------------------


def _constraint(col: Column, value: Any, schema: ClassSchema, alias: str, ctx: Context) -> str:
    if isinstance(value, dict) and any(isinstance(k, str) and k.startswith("$") for k in value):
        parts = []
        for op, arg in value.items():
            if op == "$options":
                if "$regex" not in value:
                    raise ParseError(errors.INVALID_QUERY, "$options needs $regex")
                continue
            fn = OPERATORS.get(op)
            if fn is None:
                if op in GEO_OPERATORS:
                    raise ParseError(errors.INVALID_QUERY, f"{op} (geo queries) is not supported by this server yet")
                raise ParseError(errors.INVALID_QUERY, f"Invalid query operator: {str(op)[:40]}")
            parts.append(fn(col, arg, value, ctx))
        return _and(parts)
    return _eq(col, value, None, ctx)


def _path_expr(col: Column, ctx: Context) -> str:
    return f"({col.expr} #> {ctx.params.add(list(col.path), '::text[]')})"


def _eq(col: Column, value: Any, _all: Any, ctx: Context) -> str:
    if value is None:
        if col.path:
            return f"coalesce(jsonb_typeof({_path_expr(col, ctx)}), 'null') = 'null'"
        return EVERYTHING if col.kind == "Unknown" else f"{col.expr} IS NULL"
    kind = col.kind
    check_value(value)
    if kind == "Path":  # a sub-key of an Object field: equal, or an element of an array held there
        p = _path_expr(col, ctx)
        return f"({p} = {ctx.params.add(_json(value), '::jsonb')} OR {_array_eq(p, value, ctx, guard=True)})"
    if kind == "Array":
        return _array_eq(col.expr, value, ctx)
    if kind == "Object":
        return f"{col.expr} = {ctx.params.add(_json(value), '::jsonb')}"
    v = coerce(col, value)
    if v is _MISMATCH:
        return NOTHING
    if kind == "Relation":
        assert col.field and col.field.target
        return _relation_contains(col, ctx.params.add(v, "::text"), ctx)
    return f"{col.expr} = {ctx.params.add(v, '::' + PG_TYPES[kind])}"


def _relation_contains(col: Column, related: str, ctx: Context) -> str:
    return f'{col.expr} IN (SELECT "owningId" FROM {col.join} WHERE "relatedId" = {related})'


def _ne(col: Column, value: Any, _all: Any, ctx: Context) -> str:
    if value is None:
        return _not(_eq(col, None, None, ctx))
    if col.kind in ("Path", "Array", "Object"):
        return _not(_eq(col, value, None, ctx))
    v = coerce(col, value)
    if v is _MISMATCH:
        return EVERYTHING
    return f"{col.expr} IS DISTINCT FROM {ctx.params.add(v, '::' + PG_TYPES[col.kind])}"


def _compare(sql_op: str) -> Callable[[Column, Any, Any, Context], str]:
    def compile_(col: Column, value: Any, _all: Any, ctx: Context) -> str:
        if col.kind == "Path":
            check_value(value)
            if isinstance(value, dict) and value.get("__type") == "Date":
                # Dates inside Object fields are stored as their wire JSON; ISO strings sort as instants.
                expr = f"({_path_expr(col, ctx)} ->> 'iso')"
                return f"{expr} {sql_op} {ctx.params.add(str(value.get('iso')), '::text')}"
            if not isinstance(value, (int, float, str)) or isinstance(value, bool):
                return NOTHING
            p = _path_expr(col, ctx)
            jtype = "number" if not isinstance(value, str) else "string"
            return f"(jsonb_typeof({p}) = '{jtype}' AND {p} {sql_op} {ctx.params.add(_json(value), '::jsonb')})"
        check_value(value)
        if col.kind in ("Array", "Object", "Relation", "Unknown", "Boolean", "Pointer"):
            return NOTHING
        v = coerce(col, value)
        if v is _MISMATCH:
            return NOTHING
        return f"{col.expr} {sql_op} {ctx.params.add(v, '::' + PG_TYPES[col.kind])}"

    return compile_


def _list_arg(op: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise ParseError(errors.INVALID_QUERY, f"bad {op} value: an array is required")
    return value


def _in(col: Column, value: Any, _all: Any, ctx: Context) -> str:
    values = _list_arg("$in", value)
    for v in values:
        check_value(v)
    has_null = any(v is None for v in values)
    values = [v for v in values if v is not None]
    null_part = _eq(col, None, None, ctx) if has_null else NOTHING
    if not values:
        return null_part
    kind = col.kind
    if kind == "Object":
        return _or([f"{col.expr} = ANY({_jsonb_list(values, ctx)})", null_part])
    if kind in ("Array", "Path"):
        expr = _path_expr(col, ctx) if kind == "Path" else col.expr
        listed = _jsonb_list(values, ctx)
        element = _has_element(expr, f"e = ANY({listed})")
        if kind == "Path":
            element = f"(jsonb_typeof({expr}) = 'array' AND {element})"
        whole = f"{expr} = ANY({listed})" if kind == "Path" or any(isinstance(v, list) for v in values) else NOTHING
        return _or([whole, element, null_part])
    coerced = [c for c in (coerce(col, v) for v in values) if c is not _MISMATCH]
    if not coerced:
        return null_part
    if kind == "Relation":
        return _or([_relation_contains(col, f"ANY({ctx.params.add(coerced, '::text[]')})", ctx), null_part])
    return _or([f"{col.expr} = ANY({ctx.params.add(coerced, '::' + PG_TYPES[kind] + '[]')})", null_part])


def _nin(col: Column, value: Any, _all: Any, ctx: Context) -> str:
    return _not(_in(col, value, None, ctx))


def _exists(col: Column, value: Any, _all: Any, ctx: Context) -> str:
    if not isinstance(value, bool):
        raise ParseError(errors.INVALID_QUERY, "$exists needs a boolean")
    present = _not(_eq(col, None, None, ctx))
    return present if value else _not(present)


def _array_expr(col: Column, ctx: Context) -> tuple[str, str] | None:
    """(expression, guard) for array operators: an Array field, or an array held under an Object sub-key."""
    if col.kind == "Array":
        return col.expr, "TRUE"
    if col.kind == "Path":
        p = _path_expr(col, ctx)
        return p, f"jsonb_typeof({p}) = 'array'"
    return None


def _all(col: Column, value: Any, _all_ops: Any, ctx: Context) -> str:
    values = _list_arg("$all", value)
    target = _array_expr(col, ctx)
    if target is None or not values:
        return NOTHING
    expr, guard = target
    parts = [guard]
    plain = []
    for v in values:
        if isinstance(v, dict) and "$regex" in v:
            pattern, insensitive = regex.to_postgres(v["$regex"], v.get("$options", ""))
            op = "~*" if insensitive else "~"
            test = f"jsonb_typeof(e) = 'string' AND (e #>> '{{}}') {op} {ctx.params.add(pattern, '::text')}"
            parts.append(_has_element(expr, test))
        elif _scalar(v):
            check_value(v)
            plain.append(v)
        else:
            parts.append(_has_element(expr, f"e = {ctx.params.add(_json(v), '::jsonb')}"))
    if plain:
        parts.append(f"{expr} @> {ctx.params.add(_json(plain), '::jsonb')}")
    return _and(parts)


def _contained_by(col: Column, value: Any, _all: Any, ctx: Context) -> str:
    values = _list_arg("$containedBy", value)
    target = _array_expr(col, ctx)
    if target is None:
        return NOTHING
    expr, guard = target
    outside = _has_element(expr, f"NOT (e = ANY({_jsonb_list(values, ctx)}))") if values else _has_element(expr, "TRUE")
    return _and([guard, f"{expr} IS NOT NULL", _not(outside)])


def _regex(col: Column, value: Any, all_ops: Any, ctx: Context) -> str:
    pattern, insensitive = regex.to_postgres(value, all_ops.get("$options", ""))  # validates, on any column
    op = "~*" if insensitive else "~"
    if col.kind == "Path":
        p = _path_expr(col, ctx)
        return f"(jsonb_typeof({p}) = 'string' AND ({p} #>> '{{}}') {op} {ctx.params.add(pattern, '::text')})"
    if col.kind != "String":
        return NOTHING
    return f"{col.expr} {op} {ctx.params.add(pattern, '::text')}"


def _text(col: Column, value: Any, _all: Any, ctx: Context) -> str:
    search = value.get("$search") if isinstance(value, dict) else None
    if not isinstance(search, dict):
        raise ParseError(errors.INVALID_JSON, "bad $text: $search, should be object")
    term = search.get("$term")
    if not isinstance(term, str) or not term.strip():
        raise ParseError(errors.INVALID_JSON, "bad $text: $term, should be a non-empty string")
    language = search.get("$language", "english")
    if not isinstance(language, str) or not TEXT_LANGUAGE.match(language):
        raise ParseError(errors.INVALID_JSON, "bad $text: $language, should be a text search configuration name")
    for flag in ("$caseSensitive", "$diacriticSensitive"):
        if search.get(flag) not in (None, False):
            raise ParseError(errors.INVALID_JSON, f"bad $text: {flag} is not supported")
    if col.kind != "String":
        return NOTHING
    # Same expression as the text indexes (storage/schema.py index_sql), so PostgreSQL can use them.
    vector = f"to_tsvector('{language}', coalesce({col.expr}, ''))"
    query = f"websearch_to_tsquery('{language}', {ctx.params.add(term, '::text')})"
    if ctx.score is None:
        ctx.score = f"ts_rank({vector}, {query})"
    return f"{vector} @@ {query}"


def _subquery(spec: Any, op: str, ctx: Context, key: str = "objectId") -> tuple[str, ClassSchema, Column]:
    if not isinstance(spec, dict) or not isinstance(spec.get("className"), str):
        raise ParseError(errors.INVALID_QUERY, f"improper usage of {op}")
    sub = ctx.schemas.get(spec["className"])
    if sub is None:
        raise ParseError(errors.INVALID_CLASS_NAME, f"Class {spec['className'][:100]} does not exist.")
    alias = ctx.alias()
    cond = compile_where(spec.get("where", {}), sub, alias, ctx)
    security = ctx.read_filter(sub, alias, "find", ctx.params)
    guard(key, sub, ctx)
    col = resolve(key, sub, alias)
    if col.kind == "Unknown":
        return "SELECT NULL WHERE FALSE", sub, col
    where = _and([cond, security or EVERYTHING])
    return f"SELECT {col.expr} FROM {q(sub.name)} {alias} WHERE {where}", sub, col


def _in_query(col: Column, value: Any, _all: Any, ctx: Context) -> str:
    sql, sub, _key = _subquery(value, "$inQuery", ctx)
    if col.kind != "Pointer":
        return NOTHING
    assert col.field is not None
    if col.field.polymorphic:
        if sub.name not in col.field.targets:
            return NOTHING
        return f"{col.expr} IN (SELECT {ctx.params.add(sub.name + '$', '::text')} || x FROM ({sql}) s(x))"
    if sub.name != col.field.target:
        return NOTHING
    return f"{col.expr} IN ({sql})"


def _not_in_query(col: Column, value: Any, _all: Any, ctx: Context) -> str:
    return _not(_in_query(col, value, None, ctx))


def _select(col: Column, value: Any, _all: Any, ctx: Context) -> str:
    if not isinstance(value, dict) or not isinstance(value.get("key"), str):
        raise ParseError(errors.INVALID_QUERY, "improper usage of $select")
    sql, _sub, key = _subquery(value.get("query"), "$select", ctx, value["key"])
    if col.kind in ("Unknown", "Path", "Relation") or not _same_type(col, key):
        return NOTHING  # values of different types are never equal
    return f"{col.expr} IN ({sql})"


def _same_type(a: Column, b: Column) -> bool:
    if a.field is None or b.field is None or a.path or b.path:
        return False
    fa, fb = a.field, b.field
    return fa.type == fb.type and (fa.type != "Pointer" or (fa.target, fa.targets) == (fb.target, fb.targets))


def _dont_select(col: Column, value: Any, _all: Any, ctx: Context) -> str:
    return _not(_select(col, value, None, ctx))


def _logic(op: str, value: Any, schema: ClassSchema, alias: str, ctx: Context) -> str:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ParseError(errors.INVALID_QUERY, f"Bad {op} format - use an array of objects.")
    parts = [compile_where(v, schema, alias, ctx) for v in value]
    if op == "$and":
        return _and(parts)
    if op == "$or":
        return _or(parts)
    return _not(_or(parts))


def _related_to(value: Any, schema: ClassSchema, alias: str, ctx: Context) -> str:
    if not isinstance(value, dict) or not isinstance(value.get("key"), str):
        raise ParseError(errors.INVALID_QUERY, "improper usage of $relatedTo")
    owner = value.get("object")
    if (
        not isinstance(owner, dict)
        or not isinstance(owner.get("className"), str)
        or not isinstance(owner.get("objectId"), str)
    ):
        raise ParseError(errors.INVALID_QUERY, "$relatedTo needs an object pointer")
    owner_schema = ctx.schemas.get(owner["className"])
    key = value["key"]
    field = owner_schema.fields.get(key) if owner_schema else None
    if field is None or field.type != "Relation" or field.target != schema.name:
        return NOTHING
    table = q(f"_Join:{key}:{owner_schema.name}")  # type: ignore[union-attr]
    return (
        f'{alias}."objectId" IN (SELECT "relatedId" FROM {table} WHERE "owningId" = '
        f"{ctx.params.add(owner['objectId'], '::text')})"
    )


OPERATORS: dict[str, Callable[[Column, Any, Any, Context], str]] = {
    "$eq": _eq,
    "$ne": _ne,
    "$lt": _compare("<"),
    "$lte": _compare("<="),
    "$gt": _compare(">"),
    "$gte": _compare(">="),
    "$in": _in,
    "$nin": _nin,
    "$exists": _exists,
    "$all": _all,
    "$containedBy": _contained_by,
    "$regex": _regex,
    "$text": _text,
    "$inQuery": _in_query,
    "$notInQuery": _not_in_query,
    "$select": _select,
    "$dontSelect": _dont_select,
}
GEO_OPERATORS = {
    "$nearSphere",
    "$maxDistance",
    "$maxDistanceInRadians",
    "$maxDistanceInMiles",
    "$maxDistanceInKilometers",
    "$within",
    "$geoWithin",
    "$geoIntersects",
    "$box",
    "$polygon",
    "$centerSphere",
    "$near",
}
