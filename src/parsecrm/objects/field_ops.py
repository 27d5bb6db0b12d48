"""Field operations as SQL: the SET clause of an update (Increment, Add, AddUnique, Remove, sub-key edits of Object
fields) and the relation rows of AddRelation/RemoveRelation. Operations run inside the UPDATE, so concurrent
increments and array edits never lose each other's work."""

from __future__ import annotations

from typing import Any

from ..changes import Change, PathEdit, column_value, finite, has_increment
from ..errors import ErrorCode, ParseError
from ..query.sql import Params
from ..storage.model import ClassSchema, Field, join_table, q
from ..storage.pool import Connection
from ..values import decode, encode


def set_clause(schema: ClassSchema, changes: dict[str, Change], params: Params) -> tuple[list[str], list[str]]:
    """(`col = expr` items, fields whose new value the database computes and RETURNING must give back)."""
    sets: list[str] = []
    returning: list[str] = []
    column_fields = set(schema.column_fields())
    for key, change in changes.items():
        f = schema.fields.get(key)
        if f is None or key not in column_fields or change.kind == "relation":
            continue
        col = q(key)
        if change.kind == "set":
            sets.append(f"{col} = {params.add(column_value(f, change.value))}")
        elif change.kind == "path":
            sets.append(f"{col} = {_path_sql(col, change.value, params)}")
            if has_increment(change):
                returning.append(key)  # the whole object goes back: the SDK merges it over its copy
        else:
            returning.append(key)
            sets.append(f"{col} = {_OPERATIONS[change.kind](col, f, change.value, params)}")
    return sets, returning


def _increment(col: str, f: Field, amount: Any, params: Params) -> str:
    return f"coalesce({col}, 0) + {params.add(float(amount), '::float8')}"


def _add(col: str, f: Field, values: Any, params: Params) -> str:
    return f"coalesce({col}, '[]'::jsonb) || {params.add(column_value(f, values), '::jsonb')}"


def _add_unique(col: str, f: Field, values: Any, params: Params) -> str:
    new = params.add(column_value(f, _dedupe(values)), "::jsonb")
    return (
        f"coalesce({col}, '[]'::jsonb) || coalesce((SELECT jsonb_agg(e ORDER BY i) FROM "
        f"jsonb_array_elements({new}) WITH ORDINALITY x(e, i) WHERE NOT coalesce({col}, '[]'::jsonb) "
        f"@> jsonb_build_array(e)), '[]'::jsonb)"
    )


def _remove(col: str, f: Field, values: Any, params: Params) -> str:
    gone = params.add(column_value(f, values), "::jsonb")
    return (
        f"coalesce((SELECT jsonb_agg(e ORDER BY i) FROM jsonb_array_elements(coalesce({col}, "
        f"'[]'::jsonb)) WITH ORDINALITY x(e, i) WHERE NOT (e IN (SELECT jsonb_array_elements({gone})))),"
        f" '[]'::jsonb)"
    )


_OPERATIONS = {"inc": _increment, "add": _add, "addu": _add_unique, "remove": _remove}


def _path_sql(col: str, edits: list[PathEdit], params: Params) -> str:
    """Sub-key edits of an Object column as nested jsonb_set / #- calls (intermediate objects created). An
    Increment reads the sub-key inside the same UPDATE, so concurrent increments never lose each other's work."""
    expr = f"coalesce({col}, '{{}}'::jsonb)"
    for edit in edits:
        path = params.add(list(edit.path), "::text[]")
        if edit.op == "delete":
            expr = f"({expr} #- {path})"
            continue
        for depth in range(1, len(edit.path)):  # make sure every intermediate key holds an object
            prefix = params.add(list(edit.path[:depth]), "::text[]")
            current = f"({expr} #> {prefix})"
            ensured = f"CASE WHEN jsonb_typeof({current}) = 'object' THEN {current} ELSE '{{}}'::jsonb END"
            expr = f"jsonb_set({expr}, {prefix}, {ensured}, true)"
        if edit.op == "inc":
            old = f"({expr} #> {path})"
            number = f"CASE WHEN jsonb_typeof({old}) = 'number' THEN ({old} #>> '{{}}')::float8 ELSE 0 END"
            value = f"to_jsonb({number} + {params.add(finite(edit.value), '::float8')})"
        else:
            value = params.add(encode(edit.value), "::jsonb")
        expr = f"jsonb_set({expr}, {path}, {value}, true)"
    return expr


def _dedupe(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if v not in out:
            out.append(v)
    return out


def from_column(f: Field, value: Any) -> Any:
    """A value RETURNING gave back, as the decoded value hooks and responses use."""
    if value is None:
        return None
    if f.type in ("Object", "Array"):
        return decode(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


async def write_relations(conn: Connection, schema: ClassSchema, owner: str, changes: dict[str, Change]) -> None:
    for key, change in changes.items():
        if change.kind != "relation":
            continue
        f = schema.fields.get(key)
        if f is None or f.type != "Relation":
            continue
        table = q(join_table(schema.name, key))
        for p in change.adds + change.removes:
            if p.class_name != f.target:
                raise ParseError(ErrorCode.INCORRECT_TYPE, f"schema mismatch for {schema.name}.{key}")
        if change.adds:
            await conn.execute(
                f'INSERT INTO {table} ("owningId", "relatedId") SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING',
                owner,
                [p.object_id for p in change.adds],
            )
        if change.removes:
            await conn.execute(
                f'DELETE FROM {table} WHERE "owningId" = $1 AND "relatedId" = ANY($2::text[])',
                owner,
                [p.object_id for p in change.removes],
            )
