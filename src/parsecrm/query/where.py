"""The SQL compiler of the condition tree (tree.py): one function per operator, looked up by the node's type.

Semantics are the evaluator's (evaluate.py), which the property tests hold it to: a missing field is NULL; `$ne` and
`$nin` match it; comparisons against values of another type match nothing; equality with a scalar on an Array
field means "contains". What the schema makes impossible folds to FALSE at compile time (a String column never
equals a number). Values always travel as parameters; keys are validated by the parser and checked against the
schema here. Compiling is linear: conditions fold as booleans, and parameters are added when the surviving SQL is
rendered (sql.render), never searched for afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import ErrorCode, ParseError
from ..storage.model import ClassSchema, Field, q
from ..values import iso
from . import geo, regex, tree
from .columns import (
    MISMATCH,
    PG_TYPES,
    Column,
    array_eq,
    coerce,
    has_element,
    jsonb_list,
    path_expr,
    resolve,
    scalar,
)
from .sql import Cond, Context, Params, Sql, and_, not_, or_, render


def compile_tree(node: tree.Node, schema: ClassSchema, alias: str, ctx: Context) -> Cond:
    """The condition `node` puts on the rows of `schema` at `alias`."""
    if isinstance(node, tree.Test):
        guard(node.key, schema, ctx)
        return _OPERATORS[type(node.op)](resolve(node.key, schema, alias), node.op, ctx)
    if isinstance(node, tree.RelatedTo):
        return _related_to(node, schema, alias, ctx)
    parts = [compile_tree(child, schema, alias, ctx) for child in node.children]
    if isinstance(node, tree.And):
        return and_(parts)
    if isinstance(node, tree.Or):
        return or_(parts)
    return not_(or_(parts))


def guard(key: tree.Key, schema: ClassSchema, ctx: Context) -> None:
    """Refuse keys the caller may not see: filtering on them would reveal them."""
    if key.head in ctx.rules.protected(schema):
        raise ParseError(ErrorCode.OPERATION_FORBIDDEN, "Permission denied")


# -- operators -----------------------------------------------------------------------------------------------------


def _is_null(col: Column) -> Cond:
    if col.path:
        return lambda p: f"coalesce(jsonb_typeof({path_expr(col, p)}), 'null') = 'null'"
    return True if col.kind == "Unknown" else (lambda p: f"{col.expr} IS NULL")


def _equals(col: Column, value: Any, ctx: Context) -> Cond:
    if value is None:
        return _is_null(col)
    kind = col.kind
    if kind == "Path":  # a sub-key of an Object field: equal, or an element of an array held there

        def path_eq(p: Params) -> str:
            path = path_expr(col, p)
            contains = array_eq(lambda _p: path, value, guard=True)(p)
            return f"({path} = {p.add(value, '::jsonb')} OR {contains})"

        return path_eq
    if kind == "Array":
        return array_eq(lambda _p: col.expr, value)
    if kind == "Object":
        return lambda p: f"{col.expr} = {p.add(value, '::jsonb')}"
    if kind == "GeoPoint":
        return geo.equals(col.expr, value)
    if kind == "Polygon":
        return geo.polygon_equals(col.expr, value)
    v = coerce(col, value, ctx)
    if v is MISMATCH:
        return False
    if kind == "Relation":
        return lambda p: f'{col.expr} IN (SELECT "owningId" FROM {col.join} WHERE "relatedId" = {p.add(v, "::text")})'
    cast = "::" + PG_TYPES[kind]
    return lambda p: f"{col.expr} = {p.add(v, cast)}"


def _eq(col: Column, op: tree.Eq, ctx: Context) -> Cond:
    return _equals(col, op.value, ctx)


def _ne(col: Column, op: tree.Ne, ctx: Context) -> Cond:
    value = op.value
    if value is None or col.kind in ("Path", "Array", "Object", "GeoPoint", "Polygon"):
        return not_(_equals(col, value, ctx))
    v = coerce(col, value, ctx)
    if v is MISMATCH:
        return True
    cast = "::" + PG_TYPES[col.kind]
    return lambda p: f"{col.expr} IS DISTINCT FROM {p.add(v, cast)}"


_SQL_ORDER = {"$lt": "<", "$lte": "<=", "$gt": ">", "$gte": ">="}


def _compare(col: Column, op: tree.Compare, ctx: Context) -> Cond:
    sql_op, value = _SQL_ORDER[op.op], op.value
    if col.kind == "Path":
        if isinstance(value, tree.RelativeTime):
            value = {"__type": "Date", "iso": iso(value.at(ctx.now))}
        if isinstance(value, dict) and value.get("__type") == "Date":
            # Dates inside Object fields are stored as their wire JSON; ISO strings sort as instants.
            when = str(value["iso"])
            return lambda p: f"({path_expr(col, p)} ->> 'iso') {sql_op} {p.add(when, '::text')}"
        if not isinstance(value, (int, float, str)) or isinstance(value, bool):
            return False
        jtype = "number" if not isinstance(value, str) else "string"

        def path_compare(p: Params) -> str:
            path = path_expr(col, p)
            return f"(jsonb_typeof({path}) = '{jtype}' AND {path} {sql_op} {p.add(value, '::jsonb')})"

        return path_compare
    if col.kind in ("Array", "Object", "Relation", "Unknown", "Boolean", "Pointer", "GeoPoint", "Bytes", "Polygon"):
        return False
    v = coerce(col, value, ctx)
    if v is MISMATCH:
        return False
    cast = "::" + PG_TYPES[col.kind]
    return lambda p: f"{col.expr} {sql_op} {p.add(v, cast)}"


def _in(col: Column, op: tree.In, ctx: Context) -> Cond:
    cond = _in_values(col, op.values, ctx)
    return not_(cond) if op.negate else cond


def _in_values(col: Column, all_values: tuple[Any, ...], ctx: Context) -> Cond:
    null_part: Cond = _is_null(col) if any(v is None for v in all_values) else False
    values = [v for v in all_values if v is not None]
    if not values:
        return null_part
    kind = col.kind
    if kind == "Object":
        return or_([lambda p: f"{col.expr} = ANY({jsonb_list(values, p)})", null_part])
    if kind in ("Array", "Path"):
        whole_too = kind == "Path" or any(isinstance(v, list) for v in values)

        def listed(p: Params) -> str:
            expr = path_expr(col, p) if kind == "Path" else col.expr
            items = jsonb_list(values, p)
            element = has_element(expr, f"e = ANY({items})")
            if kind == "Path":
                element = f"(jsonb_typeof({expr}) = 'array' AND {element})"
            return f"({expr} = ANY({items}) OR {element})" if whole_too else element

        return or_([listed, null_part])
    if kind == "GeoPoint":
        return or_([*(geo.equals(col.expr, v) for v in values), null_part])
    if kind == "Polygon":
        return or_([*(geo.polygon_equals(col.expr, v) for v in values), null_part])
    coerced = [c for c in (coerce(col, v, ctx) for v in values) if c is not MISMATCH]
    if not coerced:
        return null_part
    if kind == "Relation":
        return or_(
            [
                lambda p: (
                    f'{col.expr} IN (SELECT "owningId" FROM {col.join} WHERE "relatedId" = '
                    f"ANY({p.add(coerced, '::text[]')}))"
                ),
                null_part,
            ]
        )
    cast = "::" + PG_TYPES[kind] + "[]"
    return or_([lambda p: f"{col.expr} = ANY({p.add(coerced, cast)})", null_part])


def _exists(col: Column, op: tree.Exists, ctx: Context) -> Cond:
    present = not_(_is_null(col))
    return present if op.present else not_(present)


def _array_target(col: Column) -> Callable[[Params], tuple[str, str]] | None:
    """(expression, guard) for array operators: an Array field, or an array held under an Object sub-key."""
    if col.kind == "Array":
        return lambda _p: (col.expr, "TRUE")
    if col.kind == "Path":

        def path(p: Params) -> tuple[str, str]:
            expr = path_expr(col, p)
            return expr, f"jsonb_typeof({expr}) = 'array'"

        return path
    return None


def _all(col: Column, op: tree.All, ctx: Context) -> Cond:
    target = _array_target(col)
    if target is None or not op.values:
        return False
    plain = [v for v in op.values if scalar(v)]
    nested = [v for v in op.values if not scalar(v)]

    def emit(p: Params) -> str:
        expr, guard_sql = target(p)
        parts = [guard_sql] + [has_element(expr, f"e = {p.add(v, '::jsonb')}") for v in nested]
        if plain:
            parts.append(f"{expr} @> {p.add(plain, '::jsonb')}")
        return "(" + " AND ".join(parts) + ")"

    return emit


def _all_regex(col: Column, op: tree.AllRegex, ctx: Context) -> Cond:
    target = _array_target(col)
    if target is None or not op.regexes:
        return False
    compiled = [regex.to_postgres(r.pattern, r.options) for r in op.regexes]

    def emit(p: Params) -> str:
        expr, guard_sql = target(p)
        parts = [guard_sql]
        for pattern, insensitive in compiled:
            match = "~*" if insensitive else "~"
            test = f"jsonb_typeof(e) = 'string' AND (e #>> '{{}}') {match} {p.add(pattern, '::text')}"
            parts.append(has_element(expr, test))
        return "(" + " AND ".join(parts) + ")"

    return emit


def _contained_by(col: Column, op: tree.ContainedBy, ctx: Context) -> Cond:
    target = _array_target(col)
    if target is None:
        return False
    values = list(op.values)

    def emit(p: Params) -> str:
        expr, guard_sql = target(p)
        test = f"NOT (e = ANY({jsonb_list(values, p)}))" if values else "TRUE"
        outside = has_element(expr, test)
        return f"({guard_sql} AND {expr} IS NOT NULL AND NOT coalesce({outside}, false))"

    return emit


def _regex(col: Column, op: tree.Regex, ctx: Context) -> Cond:
    pattern, insensitive = regex.to_postgres(op.pattern, op.options)
    match = "~*" if insensitive else "~"
    if col.kind == "Path":

        def path_regex(p: Params) -> str:
            path = path_expr(col, p)
            return f"(jsonb_typeof({path}) = 'string' AND ({path} #>> '{{}}') {match} {p.add(pattern, '::text')})"

        return path_regex
    if col.kind != "String":
        return False
    return lambda p: f"{col.expr} {match} {p.add(pattern, '::text')}"


def _text(col: Column, op: tree.Text, ctx: Context) -> Cond:
    # PostgreSQL's text search folds case and keeps accents: `$caseSensitive: true` and `$diacriticSensitive:
    # false` cannot be honoured, so they are refused (parse-server's codes and words), never silently ignored.
    if op.case_sensitive:
        raise ParseError(
            ErrorCode.INVALID_JSON,
            "bad $text: $caseSensitive not supported, please use $regex or create a separate lower case column.",
        )
    if op.search.get("$diacriticSensitive") is False:
        raise ParseError(
            ErrorCode.INVALID_JSON, "bad $text: $diacriticSensitive - false not supported, accents always count"
        )
    if col.kind != "String":
        return False
    # Same expression as the text indexes (storage/ddl.py index_sql), so PostgreSQL can use them. The language is
    # one of parse.TEXT_LANGUAGES, never client text.
    vector = f"to_tsvector('{op.language}', coalesce({col.expr}, ''))"

    def query(p: Params) -> str:
        return f"websearch_to_tsquery('{op.language}', {p.add(op.term, '::text')})"

    if ctx.score is None:
        ctx.score = lambda p: f"ts_rank({vector}, {query(p)})"
    return lambda p: f"{vector} @@ {query(p)}"


def _subquery(ctx: Context, class_name: str, where: tree.Node, key: tree.Key | None) -> tuple[Sql, ClassSchema, Column]:
    """SELECT <key> FROM <class> WHERE <where> AND <the caller's read rule>."""
    sub = ctx.schemas.get(class_name)
    if sub is None:
        raise ParseError(ErrorCode.INVALID_CLASS_NAME, f"Class {class_name[:100]} does not exist.")
    ctx.rules.check(sub, "find")
    alias = ctx.alias()
    cond = compile_tree(where, sub, alias, ctx)
    key = key or tree.Key("objectId", "objectId", ())
    guard(key, sub, ctx)
    col = _pointer_id(key, sub, alias) or resolve(key, sub, alias)

    def select(p: Params) -> str:
        if col.kind == "Unknown":
            return "SELECT NULL WHERE FALSE"
        if cond is False:  # still typed by its column: `x IN (SELECT NULL)` would compare x with text
            return f"SELECT {col.expr} FROM {q(sub.name)} {alias} WHERE FALSE"
        security = ctx.rules.read_sql(sub, alias, "find", p)
        return f"SELECT {col.expr} FROM {q(sub.name)} {alias} WHERE {render(cond, p)}" + (
            f" AND {security}" if security else ""
        )

    return select, sub, col


def _in_query(col: Column, op: tree.InQuery, ctx: Context) -> Cond:
    """A pointer to a match of the subquery; on a Relation, as parse-server's reduceInRelation: an object whose
    relation holds at least one match (`$notInQuery`: none)."""
    select, sub, _key = _subquery(ctx, op.class_name, op.where, None)
    cond: Cond
    if col.kind == "Relation":
        assert col.field is not None
        if sub.name != col.field.target:
            cond = False
        else:
            cond = lambda p: (  # noqa: E731
                f'{col.expr} IN (SELECT "owningId" FROM {col.join} WHERE "relatedId" IN ({select(p)}))'
            )
    elif col.kind != "Pointer":
        cond = False
    else:
        assert col.field is not None
        if col.field.polymorphic:
            if sub.name not in col.field.targets:
                cond = False
            else:
                prefix = sub.name + "$"
                cond = lambda p: f"{col.expr} IN (SELECT {p.add(prefix, '::text')} || x FROM ({select(p)}) s(x))"  # noqa: E731
        elif sub.name != col.field.target:
            cond = False
        else:
            cond = lambda p: f"{col.expr} IN ({select(p)})"  # noqa: E731
    return not_(cond) if op.negate else cond


def _select(col: Column, op: tree.Select, ctx: Context) -> Cond:
    select, _sub, key = _subquery(ctx, op.class_name, op.where, op.key)
    cond: Cond
    if col.kind in ("Unknown", "Path", "Relation") or not _same_type(col, key):
        cond = False  # values of different types are never equal
    else:
        cond = lambda p: f"{col.expr} IN ({select(p)})"  # noqa: E731
    return not_(cond) if op.negate else cond


def _pointer_id(key: tree.Key, schema: ClassSchema, alias: str) -> Column | None:
    """`pointer.objectId` as the key of a `$select` (parse-server reads it off each pointer): the target's id, a
    String. A polymorphic pointer column holds `Class$id`."""
    f = schema.fields.get(key.head)
    if f is None or f.type != "Pointer" or key.path != ("objectId",):
        return None
    expr = f"{alias}.{q(key.head)}"
    return Column(f"split_part({expr}, '$', 2)" if f.polymorphic else expr, Field("String"))


def _same_type(a: Column, b: Column) -> bool:
    if a.field is None or b.field is None or a.path or b.path:
        return False
    fa, fb = a.field, b.field
    return fa.type == fb.type and (fa.type != "Pointer" or (fa.target, fa.targets) == (fb.target, fb.targets))


def _related_to(node: tree.RelatedTo, schema: ClassSchema, alias: str, ctx: Context) -> Cond:
    owner_schema = ctx.schemas.get(node.class_name)
    field = owner_schema.fields.get(node.key) if owner_schema else None
    if owner_schema is None or field is None or field.type != "Relation" or field.target != schema.name:
        return False
    table = q(f"_Join:{node.key}:{owner_schema.name}")
    owner = node.object_id
    return lambda p: (
        f'{alias}."objectId" IN (SELECT "relatedId" FROM {table} WHERE "owningId" = {p.add(owner, "::text")})'
    )


def _geo_column(col: Column) -> str | None:
    return col.expr if col.kind == "GeoPoint" else None


def _near(col: Column, op: tree.Near, ctx: Context) -> Cond:
    expr = _geo_column(col)
    if expr is None:
        return False
    if op.sort and ctx.near is None and ctx.sort_alias and expr.startswith(ctx.sort_alias + "."):
        ctx.near = lambda p: geo.distance_sql(expr, op.latitude, op.longitude, p)
    return geo.near_sql(expr, op)


def _within_box(col: Column, op: tree.WithinBox, ctx: Context) -> Cond:
    expr = _geo_column(col)
    return False if expr is None else geo.box_sql(expr, op)


def _within_polygon(col: Column, op: tree.WithinPolygon, ctx: Context) -> Cond:
    expr = _geo_column(col)
    return False if expr is None else geo.polygon_sql(expr, op)


def _polygon_contains(col: Column, op: tree.PolygonContains, ctx: Context) -> Cond:
    return geo.contains_sql(col.expr, op) if col.kind == "Polygon" else False


_OPERATORS: dict[type, Callable[[Column, Any, Context], Cond]] = {
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
    tree.Near: _near,
    tree.WithinBox: _within_box,
    tree.WithinPolygon: _within_polygon,
    tree.PolygonContains: _polygon_contains,
}
