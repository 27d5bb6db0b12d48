"""Aggregation pipelines and `distinct` → one SQL statement over the same WHERE (and read rules) as a find.

Supported stages: `$match` (before any `$group`), `$group` with `$sum`/`$avg`/`$min`/`$max`/`$count`, `$sort`,
`$skip`, `$limit`, `$project`, `$count`. Parse's output renames the group key `_id` to `objectId`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import errors
from ..errors import ParseError
from ..storage.model import ClassSchema, q
from ..values import FIELD_NAME
from . import tree
from .parse import parse_where
from .sql import Context, and_, render
from .where import compile_tree

MAX_BIGINT = 2**63 - 1

ACCUMULATORS = {"$sum": "sum", "$avg": "avg", "$min": "min", "$max": "max"}


@dataclass
class Plan:
    sql: str
    columns: list[tuple[str, str]] = field(default_factory=list)  # (output key, schema type or "")


def _field_ref(ref: Any, schema: ClassSchema, alias: str, ctx: Context) -> tuple[str, str]:
    if not isinstance(ref, str) or not ref.startswith("$"):
        raise ParseError(errors.INVALID_QUERY, f'expected a field reference like "$amount", got {str(ref)[:40]}')
    name = ref[1:]
    if name.startswith("_p_"):
        name = name[3:]
    if name == "_id":
        name = "objectId"
    f = schema.fields.get(name)
    if name in ctx.rules.protected(schema):
        raise ParseError(errors.OPERATION_FORBIDDEN, "Permission denied")
    if not FIELD_NAME.match(name) or f is None or f.type in ("Relation", "ACL"):
        raise ParseError(errors.INVALID_QUERY, f"Invalid field in aggregate: {name[:40]}")
    if f.polymorphic:
        return f"{alias}.{q(name)}", "String"
    if f.type == "GeoPoint":  # a point has no equality or order in PostgreSQL: group and sort [lat, lng] arrays
        col = f"{alias}.{q(name)}"
        return f"(CASE WHEN {col} IS NOT NULL THEN ARRAY[({col})[1], ({col})[0]] END)", "GeoPoint"
    return f"{alias}.{q(name)}", f.type


def compile_pipeline(pipeline: Any, schema: ClassSchema, security: str | None, ctx: Context) -> Plan:
    if isinstance(pipeline, dict):
        pipeline = [{k: v} for k, v in pipeline.items()]
    if not isinstance(pipeline, list):
        raise ParseError(errors.INVALID_QUERY, "pipeline must be an array of stages")
    alias = "t"
    where: list[str] = [security] if security else []
    group: dict[str, Any] | None = None
    select: list[tuple[str, str, str]] = []  # (output key, sql, type)
    order: list[str] = []
    limit = offset = None
    project: dict[str, Any] | None = None
    count_name: str | None = None
    for stage in pipeline:
        if not isinstance(stage, dict) or len(stage) != 1:
            raise ParseError(errors.INVALID_QUERY, "each pipeline stage must be an object with one key")
        ((name, arg),) = stage.items()
        if not isinstance(name, str) or not name.startswith("$"):
            raise ParseError(errors.INVALID_QUERY, f"Invalid aggregate stage '{str(name)[:40]}'.")
        if name == "$match":
            if group is not None:
                raise ParseError(errors.INVALID_QUERY, "$match after $group is not supported")
            where.append(render(compile_tree(parse_where(arg, ctx.limits), schema, alias, ctx), ctx.params))
        elif name == "$group":
            if group is not None or not isinstance(arg, dict) or "_id" not in arg:
                raise ParseError(errors.INVALID_QUERY, "Invalid aggregate $group: it needs an _id")
            group = arg
            select = _group_columns(arg, schema, alias, ctx)
        elif name == "$sort":
            if not isinstance(arg, dict):
                raise ParseError(errors.INVALID_QUERY, "$sort needs an object")
            for key, direction in arg.items():
                if direction not in (1, -1):
                    raise ParseError(errors.INVALID_QUERY, "$sort directions are 1 or -1")
                expr = _sort_expr(key, select, schema, alias, group is not None, ctx)
                order.append(expr + (" DESC" if direction == -1 else ""))
        elif name in ("$limit", "$skip"):
            if not isinstance(arg, int) or isinstance(arg, bool) or not 0 <= arg <= MAX_BIGINT:
                raise ParseError(errors.INVALID_QUERY, f"{name} needs an integer from 0 to {MAX_BIGINT}")
            if name == "$limit":
                limit = arg
            else:
                offset = arg
        elif name == "$project":
            if not isinstance(arg, dict):
                raise ParseError(errors.INVALID_QUERY, "$project needs an object")
            project = arg
        elif name == "$count":
            if not isinstance(arg, str) or not FIELD_NAME.match(arg):
                raise ParseError(errors.INVALID_QUERY, "$count needs a field name")
            count_name = arg
        else:
            raise ParseError(errors.INVALID_QUERY, f"Invalid aggregate stage '{name[:40]}'.")
    cond = " AND ".join(f"({w})" for w in where) or "TRUE"
    if count_name:
        return Plan(
            f"SELECT count(*) AS {q(count_name)} FROM {q(schema.name)} {alias} WHERE {cond}", [(count_name, "Number")]
        )
    if group is None:
        hidden = ctx.rules.protected(schema)
        keys = [k for k in schema.column_fields() if k not in hidden]
        if project:
            keys = [k for k in keys if project.get(k) or k == "objectId"]
        select = [(k, f"{alias}.{q(k)}", schema.fields[k].type) for k in keys]
    elif project:
        select = [s for s in select if s[0] == "objectId" or project.get(s[0])]
    cols = ", ".join(f"{expr} AS {q(key)}" for key, expr, _ in select)
    sql = f"SELECT {cols} FROM {q(schema.name)} {alias} WHERE {cond}"
    if group is not None and select and select[0][0] == "objectId" and group["_id"] is not None:
        sql += " GROUP BY 1"
    if order:
        sql += " ORDER BY " + ", ".join(order)
    if limit is not None:
        sql += f" LIMIT {ctx.params.add(limit, '::bigint')}"
    if offset is not None:
        sql += f" OFFSET {ctx.params.add(offset, '::bigint')}"
    return Plan(sql, [(k, t) for k, _, t in select])


def _group_columns(spec: dict[str, Any], schema: ClassSchema, alias: str, ctx: Context) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    key = spec["_id"]
    if key is not None:
        expr, kind = _field_ref(key, schema, alias, ctx)
        out.append(("objectId", expr, kind))
    for name, acc in spec.items():
        if name == "_id":
            continue
        if not isinstance(name, str) or not FIELD_NAME.match(name):
            raise ParseError(errors.INVALID_QUERY, f"Invalid output field {str(name)[:40]}")
        if not isinstance(acc, dict) or len(acc) != 1:
            raise ParseError(errors.INVALID_QUERY, f"{name} needs one accumulator")
        ((op, arg),) = acc.items()
        if op == "$count":
            out.append((name, "count(*)", "Number"))
        elif op in ACCUMULATORS:
            if op == "$sum" and isinstance(arg, (int, float)) and not isinstance(arg, bool):
                out.append((name, f"count(*)::float8 * {float(arg)!r}", "Number"))
                continue
            expr, kind = _field_ref(arg, schema, alias, ctx)
            if op in ("$sum", "$avg") and kind != "Number":
                raise ParseError(errors.INVALID_QUERY, f"{op} needs a Number field")
            fn = ACCUMULATORS[op]
            out.append((name, f"coalesce({fn}({expr}), 0)" if op == "$sum" else f"{fn}({expr})", kind))
        else:
            raise ParseError(errors.INVALID_QUERY, f"Invalid accumulator {str(op)[:40]}")
    return out


def _sort_expr(
    key: Any, select: list[tuple[str, str, str]], schema: ClassSchema, alias: str, grouped: bool, ctx: Context
) -> str:
    if not isinstance(key, str):
        raise ParseError(errors.INVALID_QUERY, "bad $sort key")
    name = "objectId" if key == "_id" else key
    for out_key, _expr, _t in select:
        if out_key == name:
            return q(out_key)
    if grouped:
        raise ParseError(errors.INVALID_QUERY, f"cannot sort by {name[:40]} after $group")
    return _field_ref("$" + name, schema, alias, ctx)[0]


def compile_distinct(key: Any, where: tree.Node, schema: ClassSchema, security: str | None, ctx: Context) -> Plan:
    if not isinstance(key, str):
        raise ParseError(errors.INVALID_QUERY, "distinct needs a field name")
    expr, kind = _field_ref("$" + key, schema, "t", ctx)
    cond = render(and_([compile_tree(where, schema, "t", ctx)]), ctx.params)
    if security:
        cond = f"({cond}) AND {security}"
    return Plan(
        f"SELECT DISTINCT {expr} AS v FROM {q(schema.name)} t WHERE {cond} AND {expr} IS NOT NULL", [("v", kind)]
    )
