"""/batch: many calls in one request. Always 200 with one `{"success"}` / `{"error"}` per sub-request.

All sub-requests share one database transaction (one commit instead of one per object). Without
`transaction: true` a failing item is rolled back alone and the rest commit; with `transaction: true` any failure
rolls back all of them and the whole batch answers with that error.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from .. import errors
from ..backend import Backend
from ..errors import ParseError
from ..objects import Unit, in_unit
from .reply import Reply
from .transport import Call


def _sub_call(backend: Backend, outer: Call, raw: Any) -> Call:
    if not isinstance(raw, dict):
        raise ParseError(errors.INVALID_JSON, "each batch request must be an object")
    method, path, body = raw.get("method"), raw.get("path"), raw.get("body", {})
    if method not in ("GET", "POST", "PUT", "DELETE") or not isinstance(path, str):
        raise ParseError(errors.INVALID_JSON, "batch requests need a method and a path")
    mount = backend.settings.mount_path.rstrip("/") + "/"
    if not path.startswith(mount):
        raise ParseError(errors.INVALID_JSON, f"cannot route batch path {path[:100]}")
    rel = path[len(mount) :].strip("/")
    if rel == "batch":
        raise ParseError(errors.INVALID_JSON, "nested batch requests are not allowed")
    query: dict[str, Any] = {}
    if "?" in rel:
        from .transport import parse_query_string

        rel, qs = rel.split("?", 1)
        query = parse_query_string(qs.encode())
    return Call(method, rel, query, body if body is not None else {}, outer.caller, None, outer.context)


async def run(backend: Backend, call: Call, unit: Unit | None) -> Reply:
    from .router import dispatch

    body = call.body if isinstance(call.body, dict) else {}
    requests = body.get("requests")
    if not isinstance(requests, list):
        raise ParseError(errors.INVALID_JSON, "requests must be an array")
    if not call.caller.master and len(requests) > backend.settings.batch_limit:
        raise ParseError(errors.INVALID_JSON, f"a batch may hold at most {backend.settings.batch_limit} requests")
    transactional = body.get("transaction") is True
    subs = [_sub_call(backend, call, raw) for raw in requests]  # a malformed item fails the whole batch (107)

    async def run_all(u: Unit, isolate: bool) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        for sub in subs:
            try:
                if isolate:
                    async with u.conn.transaction():  # a savepoint: a failure undoes this sub-request only
                        reply = await dispatch(backend, sub, u)
                else:
                    reply = await dispatch(backend, sub, u)
            except (ParseError, asyncpg.PostgresError) as exc:
                if not isolate:
                    raise
                results.append({"error": _as_parse_error(exc).body()})
                continue
            results.append({"success": _decode(reply.body) if isinstance(reply.body, bytes) else reply.body})
        return results

    async def work(u: Unit) -> list[dict[str, Any]]:
        if transactional:
            return await run_all(u, isolate=False)
        # Optimistic: run everything under one savepoint (two round trips for the whole batch). Only if an item
        # fails, undo it all and run again with a savepoint per item, so the good items still commit.
        jobs, schemas = list(u.after_commit), dict(u.schemas)
        try:
            async with u.conn.transaction():
                return await run_all(u, isolate=False)
        except (ParseError, asyncpg.PostgresError):
            u.after_commit[:], u.schemas = jobs, schemas  # forget what the rolled-back attempt queued
        return await run_all(u, isolate=True)

    return Reply(await in_unit(backend, unit, work))


def _as_parse_error(exc: Exception) -> ParseError:
    if isinstance(exc, ParseError):
        return exc
    return errors.from_sqlstate(getattr(exc, "sqlstate", None)) or ParseError(
        errors.INTERNAL_SERVER_ERROR, "Internal server error."
    )


def _decode(body: bytes) -> Any:
    import orjson

    return orjson.loads(body)
