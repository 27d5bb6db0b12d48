"""/aggregate/{className}: pipelines and `distinct`, under the caller's read rules (the master key sees all)."""

from __future__ import annotations

from typing import Any

import orjson

from .. import objects
from ..backend import Backend
from ..errors import ErrorCode, ParseError
from ..objects import Unit
from ..objects.read import where_json
from ..query.aggregate import compile_distinct, compile_pipeline
from ..query.parse import parse_where
from ..values import Pointer, encode
from .reply import Reply
from .transport import Call


def _value(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind in ("Object", "Array"):
        return value
    if kind == "GeoPoint":  # query/aggregate.py reads a point as [latitude, longitude]
        return {"__type": "GeoPoint", "latitude": value[0], "longitude": value[1]}
    if kind == "Polygon":
        return {"__type": "Polygon", "coordinates": value}
    if kind == "Bytes":
        return {"__type": "Bytes", "base64": value}
    return encode(value) if not isinstance(value, Pointer) else value.object_id


def _pipeline(params: dict[str, Any]) -> Any:
    pipeline = params.get("pipeline")
    if pipeline is None:
        stages = {k: v for k, v in params.items() if k.startswith("$") or k in ("match", "group", "sort", "limit")}
        pipeline = [{(k if k.startswith("$") else "$" + k): v} for k, v in stages.items()]
    if isinstance(pipeline, str):
        try:
            pipeline = orjson.loads(pipeline)
        except orjson.JSONDecodeError as exc:
            raise ParseError(ErrorCode.INVALID_JSON, "pipeline is not valid JSON") from exc
    return pipeline


async def run(backend: Backend, call: Call, unit: Unit | None, cls: str) -> Reply:
    params = call.params()
    rules = await objects.rules_for(backend, call.caller, unit)
    schema = rules.schema(cls)
    security = rules.policy.read_sql(schema, "t", "find", rules.params)
    db = objects.connection(backend, unit)
    if "distinct" in params:
        where = parse_where(where_json(params.get("where")), rules.ctx.limits)
        plan = compile_distinct(params["distinct"], where, schema, security, rules.ctx)
        rows = await db.fetch(plan.sql, *rules.params.values)
        kind = plan.columns[0][1]
        return Reply({"results": [_value(kind, r["v"]) for r in rows]})
    plan = compile_pipeline(_pipeline(params), schema, security, rules.ctx)
    rows = await db.fetch(plan.sql, *rules.params.values)
    results = [{key: _value(kind, r[key]) for key, kind in plan.columns if r[key] is not None} for r in rows]
    return Reply({"results": results})
