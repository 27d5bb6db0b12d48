"""The raw-SQL floor: what a perfect server would send to PostgreSQL for each read scenario, run through asyncpg
(the driver our server uses) with the same concurrency, warm-up and duration as the HTTP scenarios.

All SQL lives in FLOOR_SQL below, one entry per (layout, scenario): (sql, parameter names). The parameters are
taken by name from a per-request context built by `contexts()`:
  user_id   the rep's _User objectId            perms  ['*', user_id, 'role:<name>'...] (text[])
  roles     the rep's role names (list)          stage  a deal stage
  deal_id   one of the rep's deal objectIds      term   a full-text search term (a first or last name)
Set an entry to None to skip that scenario for that layout. The "ours" column is to be filled in with our
server's layout; "parse-server" is the best SQL for parse-server's layout (protocol reference §11), which the
harness can run against the peer's database to validate the floor machinery.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

from bench.dataset import FIRST, LAST, STAGES, Dataset
from bench.load import summarize

HERE = os.path.dirname(os.path.abspath(__file__))

_PS_ACL = '("_rperm" IS NULL OR "_rperm" && $%d::text[])'
# our ACL-scoped index (storage/model.py ClassSchema.acl_index_fields): (stage, principal) pairs in one GIN index
_SCOPED = (
    'parsecrm_scoped("stage", "_rperm") && (SELECT array_agg($1 || chr(31) || p) FROM unnest($2::text[]) p)'
)

FLOOR_SQL: dict[str, dict[str, tuple[str, tuple[str, ...]] | None]] = {
    # parse-server's layout: one table per class, pointers as objectId text, ACL as _rperm text[].
    "parse-server": {
        "pipeline": (
            'SELECT * FROM "Deal" WHERE "stage" = $1 AND ' + _PS_ACL % 2 + ' ORDER BY "expectedCloseDate" LIMIT 50',
            ("stage", "perms"),
        ),
        "get_include": (
            'SELECT d.*, row_to_json(c.*) AS contact_obj, row_to_json(co.*) AS company_obj FROM "Deal" d '
            'LEFT JOIN "Contact" c ON c."objectId" = d."contact" AND (c."_rperm" IS NULL OR c."_rperm" && $2::text[]) '
            'LEFT JOIN "Company" co ON co."objectId" = d."company" '
            'AND (co."_rperm" IS NULL OR co."_rperm" && $2::text[]) '
            'WHERE d."objectId" = $1 AND (d."_rperm" IS NULL OR d."_rperm" && $2::text[])',
            ("deal_id", "perms"),
        ),
        "activities": (
            'SELECT * FROM "Activity" WHERE "relatedTo" = $1 AND ' + _PS_ACL % 2 + ' ORDER BY "dueDate" DESC LIMIT 20',
            ("deal_id", "perms"),
        ),
        "count_stage": (
            'SELECT count(*) FROM "Deal" WHERE "stage" = $1 AND ' + _PS_ACL % 2,
            ("stage", "perms"),
        ),
        "search": (
            'SELECT * FROM "Contact" WHERE to_tsvector(\'english\'::regconfig, "name") @@ '
            "to_tsquery('english'::regconfig, $1) AND " + _PS_ACL % 2 + " LIMIT 20",
            ("term", "perms"),
        ),
    },
    # Our layout: one table per class, pointers as objectId text (a polymorphic pointer as "Class$objectId"),
    # `_rperm text[]` never NULL (a public row holds '*') with a GIN index, ORDER BY tie-broken by objectId.
    # The floor returns plain rows; our server has PostgreSQL build each row's Parse JSON in the same statement.
    "ours": {
        # A rep holds no roles, so (as our server does) the ACL-scoped index answers "stage X that I may read".
        "pipeline": (
            'SELECT * FROM "Deal" WHERE ' + _SCOPED + ' ORDER BY "expectedCloseDate", "objectId" LIMIT 50',
            ("stage", "perms"),
        ),
        "get_include": (
            'SELECT d.*, (SELECT row_to_json(c.*) FROM "Contact" c WHERE c."objectId" = d."contact" '
            'AND c."_rperm" && $2::text[]) AS contact_obj, (SELECT row_to_json(co.*) FROM "Company" co '
            'WHERE co."objectId" = d."company" AND co."_rperm" && $2::text[]) AS company_obj '
            'FROM "Deal" d WHERE d."objectId" = $1 AND d."_rperm" && $2::text[]',
            ("deal_id", "perms"),
        ),
        "activities": (
            'SELECT * FROM "Activity" WHERE "relatedTo" = \'Deal$\' || $1 AND "_rperm" && $2::text[] '
            'ORDER BY "dueDate" DESC, "objectId" DESC LIMIT 20',
            ("deal_id", "perms"),
        ),
        "count_stage": ('SELECT count(*) FROM "Deal" WHERE ' + _SCOPED, ("stage", "perms")),
        "search": (
            'SELECT * FROM "Contact" WHERE to_tsvector(\'english\', coalesce("name", \'\')) @@ '
            "websearch_to_tsquery('english', $1) AND \"_rperm\" && $2::text[] LIMIT 20",
            ("term", "perms"),
        ),
    },
}


def contexts(ds: Dataset, connections: int, per_connection: int = 1000, seed: int = 7) -> list[list[dict]]:
    """Per connection, the rep it acts as and a shuffled list of request contexts (same mix as the HTTP runs)."""
    from bench.scenarios import conn_users

    out = []
    for i, u in enumerate(conn_users(ds, connections)):
        rng = random.Random(f"{seed}-floor-{i}")
        deals = ds.deals[u.objectId]
        ctxs = []
        for _ in range(per_connection):
            ctxs.append(
                {
                    "user_id": u.objectId,
                    "perms": ["*", u.objectId],
                    "roles": [],
                    "stage": rng.choice(STAGES),
                    "deal_id": rng.choice(deals),
                    "term": rng.choice(LAST) if rng.random() < 0.7 else rng.choice(FIRST),
                }
            )
        out.append(ctxs)
    return out


@dataclass
class FloorSpec:
    dsn: str
    sql: str
    params: tuple[str, ...]
    duration: float
    warmup: float
    args: list[list[tuple]] = field(default_factory=list)  # per connection, per request


def spec_for(
    layout: str, scenario: str, dsn: str, ds: Dataset, connections: int, duration: float, warmup: float
) -> FloorSpec | None:
    entry = FLOOR_SQL.get(layout, {}).get(scenario)
    if entry is None:
        return None
    sql, names = entry
    args = [[tuple(c[n] for n in names) for c in conn] for conn in contexts(ds, connections)]
    return FloorSpec(dsn, sql, names, duration, warmup, args)


async def _run(spec: FloorSpec) -> dict:
    import asyncpg

    loop = asyncio.get_running_loop()
    conns = [await asyncpg.connect(spec.dsn) for _ in spec.args]
    stmts = [await c.prepare(spec.sql) for c in conns]
    t_measure = loop.time() + spec.warmup
    t_end = t_measure + spec.duration
    lats: list[list[float]] = [[] for _ in conns]
    rows_seen = [0] * len(conns)
    errors = {"sql": 0}
    samples: list[str] = []
    perf = time.perf_counter

    async def vu(i: int) -> None:
        stmt, args, lat = stmts[i], spec.args[i], lats[i]
        k = 0
        while True:
            now = loop.time()
            if now >= t_end:
                return
            a = args[k % len(args)]
            k += 1
            t0 = perf()
            try:
                rows = await stmt.fetch(*a)
            except Exception as e:
                if now >= t_measure:
                    errors["sql"] += 1
                    if len(samples) < 5:
                        samples.append(repr(e)[:200])
                continue
            t1 = perf()
            if now >= t_measure and loop.time() <= t_end:
                lat.append(t1 - t0)
                rows_seen[i] += len(rows)

    try:
        await asyncio.gather(*(vu(i) for i in range(len(conns))))
    finally:
        for c in conns:
            await c.close()
    summary = summarize(lats, spec.duration)
    n = summary["requests"]
    return {
        **summary,
        "errors": errors["sql"],
        "error_samples": samples,
        "mean_rows": round(sum(rows_seen) / n, 1) if n else None,
        "sql": spec.sql,
    }


def run(spec: FloorSpec) -> dict:
    """Run one floor measurement in a child process; adds the client's CPU seconds."""
    with tempfile.TemporaryDirectory(prefix="bench-floor-") as tmp:
        sp, op = os.path.join(tmp, "spec.pickle"), os.path.join(tmp, "out.pickle")
        with open(sp, "wb") as f:
            pickle.dump(spec, f)
        root = os.path.dirname(HERE)
        env = dict(os.environ)
        env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
        proc = subprocess.Popen([sys.executable, "-m", "bench.floor", sp, op], cwd=root, env=env)
        _, status, ru = os.wait4(proc.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError("floor runner failed")
        with open(op, "rb") as f:
            res = pickle.load(f)
    res["client_cpu_s"] = round(ru.ru_utime + ru.ru_stime, 3)
    res["connections"] = len(spec.args)
    return res


def _child(sp: str, op: str) -> None:
    with open(sp, "rb") as f:
        spec = pickle.load(f)
    try:
        import uvloop

        res = uvloop.run(_run(spec))
    except ImportError:
        res = asyncio.run(_run(spec))
    with open(op, "wb") as f:
        pickle.dump(res, f)


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2])
