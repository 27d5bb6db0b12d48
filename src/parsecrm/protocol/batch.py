"""/batch: many calls in one request. Always 200 with one `{"success"}` / `{"error"}` per sub-request.

All sub-requests share one database transaction (one commit instead of one per object), and each is routed by the
same router as an HTTP request. Without `transaction: true` a failing item is rolled back alone and the rest
commit; with `transaction: true` any failure rolls back all of them and the whole batch answers with that error.
An item's unexpected failure is logged with its traceback and the item's method and path (errors.reply_for).
An item may not be a page a mailed link opens (`Auth.LINK` routes: HTML for a browser): 107 for the whole batch.
"""

from __future__ import annotations

from typing import Any

import orjson

from .. import errors, objects
from ..backend import Backend
from ..errors import ParseError
from ..objects import Unit, in_unit
from .reply import Reply
from .router import Auth, Router
from .transport import Call, parse_query_string


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
    query: dict[str, Any] = {}
    if "?" in rel:
        rel, qs = rel.split("?", 1)
        query = parse_query_string(qs.encode(), backend.settings.max_json_depth)
    if rel == "batch":
        raise ParseError(errors.INVALID_JSON, "nested batch requests are not allowed")
    return Call(method, rel, query, body if body is not None else {}, outer.caller, None, outer.context)


def _success(reply: Reply) -> dict[str, Any]:
    return {"success": orjson.loads(reply.body) if isinstance(reply.body, bytes) else reply.body}


async def run(backend: Backend, call: Call, unit: Unit | None, router: Router) -> Reply:
    body = call.body if isinstance(call.body, dict) else {}
    requests = body.get("requests")
    if not isinstance(requests, list):
        raise ParseError(errors.INVALID_JSON, "requests must be an array")
    if not call.caller.master and len(requests) > backend.settings.batch_limit:
        raise ParseError(errors.INVALID_JSON, f"a batch may hold at most {backend.settings.batch_limit} requests")
    transactional = body.get("transaction") is True
    subs = [_sub_call(backend, call, raw) for raw in requests]  # a malformed item fails the whole batch (107)
    for sub in subs:  # the pages a mailed link opens answer HTML to a browser: not API calls (parse-server's
        found = router.match(sub.path)  # batch routes only the API, not its PublicAPIRouter)
        if found is not None and found.route.auth is Auth.LINK:
            raise ParseError(errors.INVALID_JSON, f"cannot route batch path /{sub.path[:100]}")
    bulk = [router.bulk_class(sub) for sub in subs]

    async def run_bulk(u: Unit) -> list[dict[str, Any]]:
        """Consecutive creates in one class go through objects.create_many: one pipelined INSERT for all."""
        results: list[dict[str, Any]] = []
        i = 0
        while i < len(subs):
            cls = bulk[i]
            j = i + 1
            while cls and j < len(subs) and bulk[j] == cls:
                j += 1
            if cls and j - i > 1:
                created = await objects.create_many(
                    backend, call.caller, cls, [s.body for s in subs[i:j]], unit=u, context=call.context
                )
                results += [{"success": r} for r in created]
            else:
                results.append(_success(await router.dispatch(backend, subs[i], u)))
            i = j
        return results

    async def run_isolated(u: Unit) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        for number, sub in enumerate(subs):
            try:
                async with u.conn.transaction():  # a savepoint: a failure undoes this sub-request only
                    reply = await router.dispatch(backend, sub, u)
            except Exception as exc:
                _status, error = errors.reply_for(exc, f"batch item {number}: {sub.method} /{sub.path}")
                results.append({"error": error})
                continue
            results.append(_success(reply))
        return results

    async def work(u: Unit) -> list[dict[str, Any]]:
        if transactional:
            return await run_bulk(u)
        # Optimistic: everything under one savepoint, creates bulked. Only if an item fails, undo it all and run
        # again with a savepoint per item, so the good items still commit (and a failure is reported per item).
        jobs, schemas, deferred = list(u.after_commit), dict(u.schemas), list(u.deferred)
        try:
            async with u.conn.transaction():
                results = await run_bulk(u)
                await objects.flush_deferred(backend, u)
                return results
        except Exception:
            u.after_commit[:], u.schemas, u.deferred = jobs, schemas, deferred  # forget the rolled-back attempt
        return await run_isolated(u)

    return Reply(await in_unit(backend, unit, work))
