"""Reads: the read plan every find, get, count and Cloud Code query goes through.

    parse_params(raw)          find parameters → FindParams (where parsed into a condition tree; 102 on nonsense)
    before_find hooks          may rewrite the raw parameters (then they are parsed again)
    plan(...)                  → ReadPlan: class, condition tree, order, shape, limit/skip/count, the caller's Policy
                                 and whether the ACL-scoped index applies (Policy.scope)
    to_sql(plan)               → ReadSql: the count and rows statements, with the read rule inside their WHERE
    execute(db, sql)           one round trip per statement; rows arrive as Parse JSON built by PostgreSQL
    after_find hooks

Each stage is timed into `Server-Timing` when CRM_DEBUG is on (timing.py). The entry points say what they return:
`find_response`/`get_response` give response bytes (rows spliced, never decoded), `query_json`/`fetch_json` decoded
objects. Every one takes `unit` (None: the pool), so a read inside a batch sees the batch's own writes and schemas.
Custom SQL under the same rules (aggregates, analytics) starts from `rules_for` (a RuleScope).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from ..backend import Backend
from ..cloud.objects import ParseObject
from ..errors import ErrorCode, ParseError, not_found
from ..query import regex, tree
from ..query.parse import parse_where
from ..query.project import Shape, order_sql, parse_shape, row_json
from ..query.sql import Context, Params, and_, render
from ..query.where import compile_tree
from ..security.caller import Caller
from ..security.policy import Policy, Scope
from ..settings import Settings
from ..storage.model import ClassSchema, default_fields, q
from ..timing import timed
from ..values import check_class_name, iso
from . import hooks
from .unit import Unit, connection, schema_for, schemas_for

FIND_PARAMS = frozenset(
    {
        "where",
        "limit",
        "skip",
        "order",
        "count",
        "keys",
        "excludeKeys",
        "include",
        "includeAll",
        "redirectClassNameForKey",
        "readPreference",
        "includeReadPreference",
        "subqueryReadPreference",
        "hint",
        "explain",
        "comment",
    }
)
GET_PARAMS = frozenset(
    {"keys", "include", "excludeKeys", "readPreference", "includeReadPreference", "subqueryReadPreference"}
)
MAX_BIGINT = 2**63 - 1


_LIMITS: dict[int, tuple[Settings, tree.Limits]] = {}


def limits(settings: Settings) -> tree.Limits:
    """The query bounds the settings ask for (made once per Settings object: hashing one costs more than a read)."""
    found = _LIMITS.get(id(settings))
    if found is None or found[0] is not settings:
        bounds = tree.Limits(
            settings.max_where_depth,
            settings.max_where_clauses,
            regex.RegexLimits(settings.max_regex_length),
            settings.max_query_params,
        )
        found = _LIMITS[id(settings)] = (settings, bounds)
    return found[1]


# -- parse -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FindParams:
    where: tree.Node
    limit: int
    skip: int
    count: bool
    order: Any
    shape: Shape
    explain: bool


def _int_param(name: str, value: Any, default: int) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, str):
        try:
            value = int(value)
        except ValueError as exc:
            raise ParseError(ErrorCode.INVALID_QUERY, f"{name} must be an integer") from exc
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_BIGINT:
        raise ParseError(ErrorCode.INVALID_QUERY, f"{name} must be an integer from 0 to {MAX_BIGINT}")
    return value


def where_json(value: Any) -> Any:
    """The `where` parameter as JSON (it arrives as a string in query strings)."""
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise ParseError(ErrorCode.INVALID_JSON, "where parameter is not valid JSON") from exc
    if value is not None and not isinstance(value, dict):
        raise ParseError(ErrorCode.INVALID_JSON, "where parameter must be a JSON object")
    return value


def _truthy(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True")


def parse_params(raw: Mapping[str, Any], bounds: tree.Limits, max_limit: int | None) -> FindParams:
    """Validate and parse find parameters; `max_limit` caps `limit` (None: the master key, no cap)."""
    with timed("parse"):
        limit = _int_param("limit", raw.get("limit"), 100)
        include = "*" if _truthy(raw.get("includeAll")) else raw.get("include")
        return FindParams(
            where=parse_where(where_json(raw.get("where")), bounds),
            limit=min(limit, max_limit) if max_limit is not None else limit,
            skip=_int_param("skip", raw.get("skip"), 0),
            count=_truthy(raw.get("count")),
            order=raw.get("order"),
            shape=parse_shape(raw.get("keys"), raw.get("excludeKeys"), include),
            explain=_truthy(raw.get("explain")),
        )


# -- plan and SQL --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadPlan:
    schema: ClassSchema
    policy: Policy
    params: FindParams
    where: tree.Node  # without the condition the scope already applies
    scope: Scope | None
    op: str  # "find" | "get" | "count": the CLP operation checked


def plan(schema: ClassSchema, policy: Policy, params: FindParams, op: str) -> ReadPlan:
    with timed("plan"):
        if params.count and params.limit == 0:
            op = "count"
        policy.check(schema, op)
        scope = policy.scope(schema, params.where)
        where = tree.without(params.where, scope.test) if scope is not None else params.where
        return ReadPlan(schema, policy, params, where, scope, op)


@dataclass(frozen=True)
class ReadSql:
    count: tuple[str, list[Any]] | None
    rows: tuple[str, list[Any]] | None


def to_sql(plan: ReadPlan, schemas: Mapping[str, ClassSchema], bounds: tree.Limits) -> ReadSql:
    """The statements of a read. The read rule and the where share one WHERE, so counts and pages are exact."""
    with timed("sql"):
        alias = "t"
        ctx = Context(schemas, plan.policy, limits=bounds, sort_alias=alias)
        params = ctx.params
        cond = compile_tree(plan.where, plan.schema, alias, ctx)
        policy, schema, op, scope = plan.policy, plan.schema, plan.op, plan.scope
        rule = policy.read_sql if not policy.caller.can_read_all else None
        # the read rule is rendered only if the where can match at all: a parameter must never go unused
        where = render(and_([cond, (lambda p: rule(schema, alias, op, p, scope) or "TRUE") if rule else True]), params)
        table = f"{q(plan.schema.name)} {alias}"
        count = None
        if plan.params.count:
            count = (f"SELECT count(*) FROM {table} WHERE {where}", list(params.values))
        rows = None
        if plan.params.limit > 0:
            select = row_json(plan.schema, alias, plan.params.shape, ctx)
            rank = ctx.score
            score = (lambda: rank(params)) if rank is not None else None
            order = order_sql(plan.params.order, plan.schema, alias, plan.policy.protected(plan.schema), score)
            if not order and ctx.near is not None:  # `$nearSphere` without an order: nearest first, as Parse
                order = f' ORDER BY {ctx.near(params)}, {alias}."objectId"'

            lim = params.add(plan.params.limit, "::bigint")
            off = params.add(plan.params.skip, "::bigint")
            rows = (f"SELECT {select} FROM {table} WHERE {where}{order} LIMIT {lim} OFFSET {off}", params.values)
        if len(params.values) > bounds.max_params:
            raise ParseError(
                ErrorCode.INVALID_QUERY,
                f"The query needs more than {bounds.max_params} SQL parameters (PARSE_MAX_QUERY_PARAMS); simplify it.",
            )
        return ReadSql(count, rows)


async def execute(db: Any, sql: ReadSql, explain: bool) -> tuple[list[bytes], int | None]:
    with timed("db"):
        count = await db.fetchval(sql.count[0], *sql.count[1]) if sql.count else None
        if sql.rows is None or count == 0:
            return [], count
        if explain:
            lines = await db.fetch("EXPLAIN " + sql.rows[0], *sql.rows[1])
            return [orjson.dumps({"QUERY PLAN": "\n".join(r[0] for r in lines)})], count
        records = await db.fetch(sql.rows[0], *sql.rows[1])
        return [r[0].encode() for r in records], count


# -- the whole read ------------------------------------------------------------------------------------------------


async def _class_for_read(backend: Backend, caller: Caller, class_name: str, unit: Unit | None) -> ClassSchema | None:
    check_class_name(class_name, ErrorCode.INVALID_JSON)
    schema = await schema_for(backend, unit, class_name)
    if schema is None and not caller.master and not backend.settings.allow_client_class_creation:
        raise ParseError(
            ErrorCode.OPERATION_FORBIDDEN, f"This user is not allowed to access non-existent class: {class_name}"
        )
    return schema


async def run(
    backend: Backend, caller: Caller, class_name: str, raw: Mapping[str, Any], *, op: str, unit: Unit | None
) -> tuple[list[bytes], int | None]:
    """Rows (Parse JSON bytes) and the count (when asked for) of a find."""
    settings = backend.settings
    bounds = limits(settings)
    max_limit = None if caller.master else settings.max_limit
    schema = await _class_for_read(backend, caller, class_name, unit)
    if schema is None:  # nothing to find, but a malformed query is still an error
        params = parse_params(raw, bounds, max_limit)
        empty = ClassSchema(class_name, default_fields(class_name))
        compile_tree(params.where, empty, "t", Context({}, Policy.MASTER))
        return [], (0 if params.count else None)
    if backend.cloud.has("beforeFind", class_name):
        with timed("beforeFind"):
            raw = {**raw, "where": where_json(raw.get("where")) or {}}
            raw = await hooks.before_find(backend, caller, class_name, raw, unit)
    params = parse_params(raw, bounds, max_limit)
    if params.explain and not caller.master:
        raise ParseError(ErrorCode.OPERATION_FORBIDDEN, "explain requires the master key")
    read_plan = plan(schema, Policy(caller), params, op)
    sql = to_sql(read_plan, await schemas_for(backend, unit), bounds)
    rows, count = await execute(connection(backend, unit), sql, params.explain)
    if rows and backend.cloud.has("afterFind", class_name):
        with timed("afterFind"):
            objs = [ParseObject.from_json(class_name, orjson.loads(r)) for r in rows]
            objs = await hooks.after_find(backend, caller, class_name, dict(raw), objs, unit)
            rows = [orjson.dumps(_object_json(o)) for o in objs]
    return rows, count


def _object_json(obj: ParseObject) -> dict[str, Any]:
    out = obj.to_json()
    out.pop("className", None)
    if obj.created_at:
        out["createdAt"] = iso(obj.created_at)
    if obj.updated_at:
        out["updatedAt"] = iso(obj.updated_at)
    return out


def _check_names(raw: Mapping[str, Any], allowed: frozenset[str], message: str | None = None) -> None:
    for key in raw:
        if key not in allowed:
            raise ParseError(ErrorCode.INVALID_QUERY, message or f"Invalid parameter for query: {str(key)[:40]}")


async def find_response(
    backend: Backend, caller: Caller, class_name: str, raw: Mapping[str, Any], *, unit: Unit | None = None
) -> bytes:
    """A find as the response body: `{"results":[…]}` (+ `"count"`), rows spliced as PostgreSQL built them."""
    _check_names(raw, FIND_PARAMS)
    redirect = raw.get("redirectClassNameForKey")
    target = await _redirect_class(backend, unit, class_name, redirect) if isinstance(redirect, str) else None
    if target:  # relation.query() on an owner whose relation's target class the SDK does not know yet
        raw = {k: v for k, v in raw.items() if k != "redirectClassNameForKey"}
        class_name = target
    rows, count = await run(backend, caller, class_name, raw, op="find", unit=unit)
    body = b'{"results":[' + b",".join(rows) + b"]"
    if count is not None:
        body += b',"count":' + str(count).encode()
    if target:
        body += b',"className":' + orjson.dumps(target)
    return body + b"}"


async def _redirect_class(backend: Backend, unit: Unit | None, class_name: str, key: str) -> str | None:
    schema = await schema_for(backend, unit, class_name)
    f = schema.fields.get(key) if schema else None
    return f.target if f is not None and f.type == "Relation" else None


async def get_response(
    backend: Backend,
    caller: Caller,
    class_name: str,
    object_id: str,
    raw: Mapping[str, Any],
    *,
    unit: Unit | None = None,
) -> bytes:
    """One object as the response body, or 101."""
    _check_names(raw, GET_PARAMS, "Improper encode of parameter")
    query = {k: v for k, v in raw.items() if k in ("keys", "include", "excludeKeys")}
    rows, _ = await run(
        backend, caller, class_name, {**query, "where": {"objectId": object_id}, "limit": 1}, op="get", unit=unit
    )
    if not rows:
        raise not_found()
    return rows[0]


async def query_json(
    backend: Backend, caller: Caller, class_name: str, raw: Mapping[str, Any], *, unit: Unit | None = None
) -> list[dict[str, Any]]:
    """A find as decoded Parse-JSON objects (for Cloud Code and the server's own reads); same rules as REST."""
    rows, _ = await run(backend, caller, class_name, raw, op="find", unit=unit)
    return [orjson.loads(r) for r in rows]


async def count(backend: Backend, caller: Caller, class_name: str, where: Any, *, unit: Unit | None = None) -> int:
    """How many objects match `where` that the caller may read."""
    _rows, found = await run(
        backend, caller, class_name, {"where": where, "count": 1, "limit": 0}, op="find", unit=unit
    )
    return found or 0


async def fetch_json(
    backend: Backend, caller: Caller, class_name: str, object_id: str, *, unit: Unit | None = None
) -> dict[str, Any] | None:
    """One object as decoded Parse JSON, or None (not there, or not readable by the caller)."""
    rows, _ = await run(
        backend, caller, class_name, {"where": {"objectId": object_id}, "limit": 1}, op="get", unit=unit
    )
    found: dict[str, Any] | None = orjson.loads(rows[0]) if rows else None
    return found


# -- custom SQL under the same rules -----------------------------------------------------------------------------


class RuleScope:
    """For SQL the read plan does not write (aggregates, analytics): the caller's read rule per class and `where`
    conditions, all sharing one parameter list (`params.values` go with the statement)."""

    def __init__(self, policy: Policy, schemas: Mapping[str, ClassSchema], bounds: tree.Limits) -> None:
        self.policy = policy
        self.schemas = schemas
        self.ctx = Context(schemas, policy, limits=bounds)

    @property
    def params(self) -> Params:
        return self.ctx.params

    def schema(self, class_name: str) -> ClassSchema:
        found = self.schemas.get(class_name)
        if found is None:
            raise ParseError(ErrorCode.INVALID_CLASS_NAME, f"Class {class_name[:100]} does not exist.")
        return found

    def rule(self, class_name: str, alias: str, op: str = "find") -> str:
        """The rows of `class_name` at `alias` the caller may read ("TRUE" for all); raises on a CLP denial."""
        return self.policy.read_sql(self.schema(class_name), alias, op, self.params) or "TRUE"

    def where(self, class_name: str, alias: str, where: Any) -> str:
        """A `where` (JSON or a parsed tree) on `class_name` at `alias`, as SQL."""
        node = where if isinstance(where, (tree.And, tree.Or, tree.Nor, tree.Test, tree.RelatedTo)) else None
        if node is None:
            node = parse_where(where_json(where), self.ctx.limits)
        return render(compile_tree(node, self.schema(class_name), alias, self.ctx), self.params)


async def rules_for(backend: Backend, caller: Caller, unit: Unit | None = None) -> RuleScope:
    return RuleScope(Policy(caller), await schemas_for(backend, unit), limits(backend.settings))
