"""/aggregate/{className}: pipelines and `distinct`, under the caller's read rules (the master key sees all)."""

from __future__ import annotations

from typing import Any

import orjson

from .. import errors
from ..backend import Backend
from ..errors import ParseError
from ..objects import Unit
from ..query.aggregate import compile_distinct, compile_pipeline
from ..query.sql import Context
from ..security import policy
from ..storage.schema import ClassSchema
from ..values import Pointer, encode
from .reply import Reply
from .transport import Call


def _value(schema: ClassSchema, kind: str, key: str, value: Any) -> Any:
    if value is None:
        return None
    if kind in ("Object", "Array"):
        return value
    return encode(value) if not isinstance(value, Pointer) else value.object_id


async def run(backend: Backend, call: Call, unit: Unit | None, cls: str) -> Reply:
    params = call.params()
    schema = await backend.schemas.require(cls)
    ctx = Context(
        await backend.schemas.all(), policy.read_filter(call.caller), protected=policy.protected_for(call.caller)
    )
    security = ctx.read_filter(schema, "t", "find", ctx.params)
    if "distinct" in params:
        where = params.get("where")
        if isinstance(where, str):
            where = orjson.loads(where)
        plan = compile_distinct(params["distinct"], where, schema, security, ctx)
        rows = await backend.pool.fetch(plan.sql, *ctx.params.values)
        kind = plan.columns[0][1]
        return Reply({"results": [_value(schema, kind, "v", r["v"]) for r in rows]})
    pipeline = params.get("pipeline")
    if pipeline is None:
        stages = {k: v for k, v in params.items() if k.startswith("$") or k in ("match", "group", "sort", "limit")}
        pipeline = [{(k if k.startswith("$") else "$" + k): v} for k, v in stages.items()]
    if isinstance(pipeline, str):
        try:
            pipeline = orjson.loads(pipeline)
        except orjson.JSONDecodeError as exc:
            raise ParseError(errors.INVALID_JSON, "pipeline is not valid JSON") from exc
    plan = compile_pipeline(pipeline, schema, security, ctx)
    rows = await backend.pool.fetch(plan.sql, *ctx.params.values)
    results = [
        {key: _value(schema, kind, key, r[key]) for key, kind in plan.columns if r[key] is not None} for r in rows
    ]
    return Reply({"results": results})
