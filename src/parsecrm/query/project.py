"""The SELECT list: each row becomes its Parse JSON *inside PostgreSQL*, included pointers as nested subqueries.

The server then splices row texts into the response without decoding them, and `include` costs no extra round
trip: an included pointer is a primary-key lookup in the same statement, filtered by the same read rules.
Missing (NULL) fields are left out, as Parse does: `coalesce(',"f":' || value, '')` drops a NULL value's piece.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .. import errors
from ..errors import ParseError
from ..storage.model import ClassSchema, Field, q
from .sql import Context

DATE_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'
ALWAYS = ("objectId", "createdAt", "updatedAt", "ACL")


# The URL a File field's name is appended to (`<server URL>/files/<app id>/`), as an SQL literal. Set once at
# start-up by the Backend: a process serves exactly one app, so this is per-process configuration, not state.
_FILE_URL = ["''"]


def set_file_url_prefix(prefix: str) -> None:
    _FILE_URL[0] = "'" + prefix.replace("'", "''") + "'"


def file_json(col: str) -> str:
    """A File column (its stored name) as `{"__type":"File","name":…,"url":…}`; the name is percent-encoded in the
    URL the way encodeURIComponent would (names hold only letters, digits, `@ . ~ _ -` and spaces)."""
    encoded = f"replace(replace({col}, ' ', '%20'), '@', '%40')"
    return (
        f'\'{{"__type":"File","name":\' || to_json({col})::text || \',"url":\' || '
        f"to_json({_FILE_URL[0]} || {encoded})::text || '}}'"
    )


def date_text(expr: str) -> str:
    return f"to_char({expr} AT TIME ZONE 'UTC', '{DATE_FORMAT}')"


@dataclass
class Shape:
    """What to output for one class: which keys (None = all), which to drop, and what to include beneath."""

    keys: set[str] | None = None
    exclude: set[str] = field(default_factory=set)
    include: dict[str, Shape] = field(default_factory=dict)
    include_all: bool = False
    score: bool = False  # keys=$score: output the text-search rank as "score"


def parse_shape(keys: Any, exclude: Any, include: Any) -> Shape:
    shape = Shape()
    for path in _split("include", include):
        if path == "*":
            shape.include_all = True
            continue
        node = shape
        for part in path.split("."):
            node = node.include.setdefault(part, Shape())
    key_list = _split("keys", keys)
    if keys is not None:
        shape.keys = set()
    for path in key_list:
        if path == "$score":
            shape.score = True
            continue
        parts = path.split(".")
        node = shape
        for i, part in enumerate(parts):
            if node.keys is not None or i == 0:
                if node.keys is None:
                    node.keys = set()
                node.keys.add(part)
            if i < len(parts) - 1:
                child = node.include.setdefault(part, Shape())
                if child.keys is None:
                    child.keys = set()
                node = child
    for path in _split("excludeKeys", exclude):
        shape.exclude.add(path.split(".")[0])
    return shape


def _split(name: str, value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, list):
        items = value
    elif isinstance(value, str):
        items = value.split(",")
    else:
        raise ParseError(errors.INVALID_QUERY, f"{name} must be a comma-separated string")
    out = []
    for item in items:
        if not isinstance(item, str):
            raise ParseError(errors.INVALID_QUERY, f"{name} must be a list of strings")
        item = item.strip()
        if item:
            out.append(item)
    return out


def row_json(
    schema: ClassSchema, alias: str, shape: Shape, ctx: Context, *, as_object: bool = False, depth: int = 0
) -> str:
    """An SQL expression of type text: the row at `alias` as Parse JSON, without the fields hidden from the caller
    (ctx.rules.hidden_sql: a field hidden unless a condition holds becomes a CASE)."""
    hidden = ctx.rules.hidden_sql(schema, alias, ctx.params)
    head = '{"__type":"Object","className":' + _lit_json(schema.name) + "," if as_object else "{"
    oid, created, updated = (f'{alias}."{c}"' for c in ("objectId", "createdAt", "updatedAt"))
    pieces = [
        "'" + head + '"objectId":\' || to_json(' + oid + ")::text",
        """',"createdAt":"' || """ + date_text(created) + """ || '"'""",
        """',"updatedAt":"' || """ + date_text(updated) + """ || '"'""",
    ]
    for name, f in schema.fields.items():
        if name in ALWAYS or (name == "password" and schema.name == "_User"):
            continue
        if (shape.keys is not None and name not in shape.keys) or name in shape.exclude:
            if hidden.get(name):  # its condition added parameters: PostgreSQL must still see (and type) them
                pieces.append(f"coalesce(CASE WHEN {hidden[name]} THEN '' END, '')")
            continue
        piece = _field_piece(schema, alias, name, f, shape, ctx, depth)
        if name in hidden:
            cond = hidden[name]
            if cond is None:
                continue
            piece = f"CASE WHEN {cond} THEN {piece} END"
        pieces.append(f"coalesce({piece}, '')")
    if shape.score and ctx.score and depth == 0:
        pieces.append(f"',\"score\":' || to_json({ctx.score(ctx.params)})::text")
    pieces.append(f"coalesce(',\"ACL\":' || {alias}.\"_acl\"::text, '')")
    pieces.append("'}'")
    return "(" + " || ".join(pieces) + ")"


def _lit(text: str) -> str:
    """An SQL string literal for a schema-validated name (letters, digits, `_`, `:`)."""
    assert "'" not in text and "\\" not in text
    return "'" + text + "'"


def _lit_json(text: str) -> str:
    assert '"' not in text and "'" not in text and "\\" not in text
    return '"' + text + '"'


def _field_piece(schema: ClassSchema, alias: str, name: str, f: Field, shape: Shape, ctx: Context, depth: int) -> str:
    col = f"{alias}.{q(name)}"
    key = "',\"" + name + "\":'"
    if f.type == "Relation":
        return f'\'{"," + _lit_json(name)}:{{"__type":"Relation","className":{_lit_json(f.target or "")}}}\''
    if f.type == "Date":
        return f'\',{_lit_json(name)}:{{"__type":"Date","iso":"\' || {date_text(col)} || \'"}}\''
    if f.type == "Array":
        sub = shape.include.get(name)
        if sub is not None and depth < 4:
            return f"{key} || {_array_include(col, sub, ctx, depth)}"
        return f"{key} || {col}::text"
    if f.type == "Object":
        return f"{key} || {col}::text"
    if f.type == "File":
        return f"{key} || {file_json(col)}"
    if f.type == "GeoPoint":  # float8 text is its shortest exact form, valid JSON (no Infinity is ever stored)
        return (
            f'{key} || \'{{"__type":"GeoPoint","latitude":\' || ({col})[1]::text || '
            f"',\"longitude\":' || ({col})[0]::text || '}}'"
        )
    if f.type == "Polygon":
        return f'{key} || \'{{"__type":"Polygon","coordinates":\' || {col}::text || \'}}\''
    if f.type == "Bytes":
        return f'{key} || \'{{"__type":"Bytes","base64":\' || to_json({col})::text || \'}}\''
    if f.type == "Pointer":
        sub = shape.include.get(name)
        if sub is None and shape.include_all:
            sub = Shape()
        if f.polymorphic:
            pointer = (
                '\'{"__type":"Pointer","className":\' || to_json(split_part(' + col + ", '$', 1))::text || "
                "',\"objectId\":' || to_json(split_part(" + col + ", '$', 2))::text || '}'"
            )
            if sub is not None and depth < 4:
                cases = []
                for target in f.targets:
                    inc = _include(target, f"split_part({col}, '$', 2)", sub, ctx, depth)
                    if inc:
                        cases.append(f"WHEN {_lit(target)} THEN {inc}")
                if cases:
                    pointer = f"coalesce(CASE split_part({col}, '$', 1) {' '.join(cases)} END, {pointer})"
            return f"{key} || {pointer}"
        pointer = (
            '\'{"__type":"Pointer","className":' + _lit_json(f.target or "") + ',"objectId":\' || '
            f"to_json({col})::text || '}}'"
        )
        if sub is not None and depth < 4 and f.target:
            inc = _include(f.target, col, sub, ctx, depth)
            if inc:
                pointer = f"coalesce({inc}, {pointer})"
        return f"{key} || {pointer}"
    return f"{key} || to_json({col})::text"


def _array_include(col: str, shape: Shape, ctx: Context, depth: int) -> str:
    """An Array field whose pointer elements are replaced by the objects they point at (when readable)."""
    branches = []
    for target in sorted(ctx.schemas):
        if target.startswith("_Session"):
            continue
        inc = _include(target, "(e ->> 'objectId')", shape, ctx, depth)
        if inc:
            branches.append(f"WHEN {_lit(target)} THEN {inc}")
    element = (
        (
            f"coalesce(CASE WHEN e ->> '__type' = 'Pointer' THEN CASE e ->> 'className' {' '.join(branches)} END END, "
            "e::text)"
        )
        if branches
        else "e::text"
    )
    return (
        f"coalesce((SELECT '[' || string_agg({element}, ',' ORDER BY i) || ']' "
        f"FROM jsonb_array_elements({col}) WITH ORDINALITY x(e, i)), {col}::text)"
    )


def _include(target: str, id_expr: str, shape: Shape, ctx: Context, depth: int) -> str | None:
    schema = ctx.schemas.get(target)
    if schema is None:
        return None
    alias = ctx.alias()
    try:
        security = ctx.rules.read_sql(schema, alias, "get", ctx.params)
    except ParseError:
        return None  # the caller may not read that class: the pointer stays a pointer
    body = row_json(schema, alias, shape, ctx, as_object=True, depth=depth + 1)
    cond = f'{alias}."objectId" = {id_expr}'
    if security:
        cond += f" AND {security}"
    return f"(SELECT {body} FROM {q(schema.name)} {alias} WHERE {cond})"


# Parse.com's internal names for the two dates, which parse-server still accepts in `order`.
_INTERNAL_DATES = {"_created_at": "createdAt", "_updated_at": "updatedAt"}


def order_sql(
    order: Any,
    schema: ClassSchema,
    alias: str,
    protected: set[str] | frozenset[str] = frozenset(),
    score: Callable[[], str] | None = None,
) -> str:
    """ORDER BY for Parse's `order`; `score()` renders the text-search rank when `$score` is asked for."""
    if order is None or order == "":
        return ""
    keys = _split("order", order)
    parts: list[str] = []
    seen_id = False
    for key in keys:
        desc = key.startswith("-")
        name = key[1:] if desc else key
        name = _INTERNAL_DATES.get(name, name)
        if name == "$score":
            if score:
                parts.append(f"{score()} DESC")  # best match first, whichever way the SDK asked
            continue
        if name in ("_rperm", "_wperm", "_acl", "_hashed_password") or name.startswith("_"):
            raise ParseError(errors.INVALID_KEY_NAME, f"Cannot sort by {name[:40]}")
        head, *rest = name.split(".")
        if head in protected:
            raise ParseError(errors.OPERATION_FORBIDDEN, "Permission denied")
        f = schema.fields.get(head)
        if f is None or f.type in ("Relation", "ACL") or (schema.name == "_User" and head == "password"):
            continue
        if f.type == "GeoPoint" and not rest:  # a point has no order in PostgreSQL: by latitude, then longitude
            parts.append(f"({alias}.{q(head)})[1]{' DESC' if desc else ''}")
            parts.append(f"({alias}.{q(head)})[0]{' DESC' if desc else ''}")
            continue
        expr = f"{alias}.{q(head)}"
        if rest:
            if f.type != "Object" or not all(p.replace("_", "").isalnum() for p in rest):
                continue
            expr = f"({expr} #> '{{{','.join(rest)}}}')"
        if head == "objectId":
            seen_id = True
        parts.append(expr + (" DESC" if desc else ""))
    if not parts:
        return ""
    if not seen_id:  # a tiebreaker: pages never repeat or skip objects; same direction as the last key, so an
        # index on (…, key, objectId) serves the whole ORDER BY, forwards or backwards
        parts.append(f'{alias}."objectId"' + (" DESC" if parts[-1].endswith(" DESC") else ""))
    return " ORDER BY " + ", ".join(parts)
