"""/batch: many calls in one request. Always 200 with one `{"success"}` / `{"error"}` per sub-request.

All sub-requests share one database transaction (one commit instead of one per object). Without
`transaction: true` a failing item is rolled back alone and the rest commit; with `transaction: true` any failure
rolls back all of them and the whole batch answers with that error.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from .. import errors, objects
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

    async def run_bulk(u: Unit) -> list[dict[str, Any]]:
        """Consecutive creates in one class go through objects.create_many: one pipelined INSERT for all."""
        results: list[dict[str, Any]] = []
        i = 0
        while i < len(subs):
            cls = _plain_create(subs[i])
            j = i + 1
            while cls and j < len(subs) and _plain_create(subs[j]) == cls:
                j += 1
            if cls and j - i > 1:
                created = await objects.create_many(
                    backend, call.caller, cls, [s.body for s in subs[i:j]], unit=u, context=call.context
                )
                results += [{"success": r} for r in created]
            else:
                reply = await dispatch(backend, subs[i], u)
                results.append({"success": _decode(reply.body) if isinstance(reply.body, bytes) else reply.body})
            i = j
        return results

    async def run_isolated(u: Unit) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        for sub in subs:
            try:
                async with u.conn.transaction():  # a savepoint: a failure undoes this sub-request only
                    reply = await dispatch(backend, sub, u)
            except (ParseError, asyncpg.PostgresError) as exc:
                results.append({"error": _as_parse_error(exc).body()})
                continue
            results.append({"success": _decode(reply.body) if isinstance(reply.body, bytes) else reply.body})
        return results

    async def work(u: Unit) -> list[dict[str, Any]]:
        if transactional:
            return await run_bulk(u)
        # Optimistic: everything under one savepoint, creates bulked. Only if an item fails, undo it all and run
        # again with a savepoint per item, so the good items still commit.
        jobs, schemas, deferred = list(u.after_commit), dict(u.schemas), list(u.deferred)
        try:
            async with u.conn.transaction():
                results = await run_bulk(u)
                await objects.flush_deferred(backend, u)
                return results
        except (ParseError, asyncpg.PostgresError):
            u.after_commit[:], u.schemas, u.deferred = jobs, schemas, deferred  # forget the rolled-back attempt
        return await run_isolated(u)

    return Reply(await in_unit(backend, unit, work))


def _plain_create(sub: Call) -> str | None:
    """The class of a plain object create (users go through sign-up, so they are never bulked)."""
    if sub.method != "POST" or not sub.path.startswith("classes/") or sub.path.count("/") != 1:
        return None
    cls = sub.path.split("/", 1)[1]
    return None if cls.startswith("_") else cls


def _as_parse_error(exc: Exception) -> ParseError:
    if isinstance(exc, ParseError):
        return exc
    return errors.from_sqlstate(getattr(exc, "sqlstate", None)) or ParseError(
        errors.INTERNAL_SERVER_ERROR, "Internal server error."
    )


def _decode(body: bytes) -> Any:
    import orjson

    return orjson.loads(body)
