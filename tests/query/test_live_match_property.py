"""Live-query matching equals the SQL compiler, for the shapes subscriptions use.

A live query matches the object a change event carries: the row as the capture trigger saw it, decoded by
`livequery.feed.row_to_object`. Two properties on a real server and database:

* that decoding gives exactly the JSON a master-key find returns for the same row (so the evaluator sees what the
  SQL compiler's property test, test_where_property.py, already checks it against);
* random where trees of live-query shapes — pointer equality on a polymorphic pointer, `$in`, `$regex`, `$exists`,
  `$relativeTime`, dotted keys into Objects, comparisons, `$or`/`$and` — select with the evaluator over the decoded
  rows exactly the objects the server's SQL selects.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import Api, Server, unique
from parsecrm.livequery.feed import row_to_object
from parsecrm.query.evaluate import compile_where
from parsecrm.storage.model import ClassSchema

TARGETS = ["Contact", "Deal"]
IDS = ["a1", "a2", "b1"]
WORDS = ["Acme", "acme corp", "Beta", "", "ümlaut", "50% off", "a.b"]
STAGES = ["lead", "won", "lost"]


def pointer(cls: str, oid: str) -> dict[str, str]:
    return {"__type": "Pointer", "className": cls, "objectId": oid}


def when(days: float) -> dict[str, str]:
    moment = datetime.now(UTC) + timedelta(days=days)
    return {"__type": "Date", "iso": moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"}


def make_rows(rng: random.Random, n: int) -> list[dict[str, Any]]:
    out = []
    for _ in range(n):
        row: dict[str, Any] = {}
        for name, make in (
            ("rel", lambda: pointer(rng.choice(TARGETS), rng.choice(IDS))),
            ("title", lambda: rng.choice(WORDS)),
            ("stage", lambda: rng.choice(STAGES)),
            ("amount", lambda: rng.choice([0, 1, 2.5, 100, -3])),
            ("due", lambda: when(rng.uniform(-10, 10))),
            ("done", lambda: rng.choice([True, False])),
            ("meta", lambda: {"a": rng.choice([1, 2, "x"]), "b": {"c": rng.choice(STAGES)}}),
            ("tags", lambda: rng.sample(STAGES, rng.randint(0, 2))),
        ):
            if rng.random() < 0.8:
                row[name] = make()
        out.append(row)
    return out


@pytest.fixture(scope="module")
def live_class(server: Server) -> tuple[Server, str, ClassSchema, list[dict[str, Any]]]:
    api = Api(server)
    cls = unique("LiveShape")
    fields = {"rel": {"type": "Pointer", "targetClasses": TARGETS}, "due": {"type": "Date"}}
    assert api.post(f"schemas/{cls}", {"className": cls, "fields": fields}).status_code == 200
    requests = [{"method": "POST", "path": f"/parse/classes/{cls}", "body": r} for r in make_rows(random.Random(7), 60)]
    assert api.post("batch", {"requests": requests}).status_code == 200
    schema = ClassSchema.from_json(api.get(f"schemas/{cls}").json())

    async def rows() -> list[dict[str, Any]]:
        conn = await asyncpg.connect(server.database_url)
        try:
            records = await conn.fetch(f'SELECT to_jsonb(t)::text AS j FROM "{cls}" t')
        finally:
            await conn.close()
        return [orjson.loads(r["j"]) for r in records]

    decoded = [row_to_object(schema, r) for r in asyncio.run(rows())]
    return server, cls, schema, decoded


def test_decoded_rows_equal_what_a_find_returns(live_class: tuple[Server, str, ClassSchema, list[Any]]) -> None:
    server, cls, _schema, decoded = live_class
    found = Api(server).get(f"classes/{cls}", params={"limit": 1000}).json()["results"]
    assert sorted(decoded, key=lambda o: o["objectId"]) == sorted(found, key=lambda o: o["objectId"])


leaf = st.one_of(
    st.builds(lambda c, i: {"rel": pointer(c, i)}, st.sampled_from(TARGETS), st.sampled_from(IDS)),
    st.builds(
        lambda ps: {"rel": {"$in": ps}},
        st.lists(st.builds(pointer, st.sampled_from(TARGETS), st.sampled_from(IDS)), min_size=1, max_size=3),
    ),
    st.builds(lambda s: {"stage": {"$in": s}}, st.lists(st.sampled_from(STAGES), min_size=1, max_size=2)),
    st.builds(lambda s: {"stage": s}, st.sampled_from(STAGES)),
    st.builds(
        lambda p, o: {"title": {"$regex": p, "$options": o}},
        st.sampled_from(["^acme", "Acme", "corp$", r"\d+%", "^$", "a\\.b"]),
        st.sampled_from(["", "i"]),
    ),
    st.builds(lambda f, e: {f: {"$exists": e}}, st.sampled_from(["rel", "title", "due", "meta"]), st.booleans()),
    st.builds(
        lambda op, t: {"due": {op: {"$relativeTime": t}}},
        st.sampled_from(["$lt", "$gt", "$lte", "$gte"]),
        st.sampled_from(["3 days ago", "in 2 days", "now", "1 day ago"]),
    ),
    st.builds(lambda k, v: {k: v}, st.sampled_from(["meta.a", "meta.b.c"]), st.sampled_from([1, 2, "x", *STAGES])),
    st.builds(lambda op, v: {"amount": {op: v}}, st.sampled_from(["$lt", "$gte", "$ne"]), st.sampled_from([0, 1, 2.5])),
    st.builds(lambda v: {"done": v}, st.booleans()),
    st.builds(lambda v: {"tags": v}, st.sampled_from(STAGES)),
)
wheres = st.recursive(
    leaf,
    lambda inner: st.one_of(
        st.builds(lambda xs: {"$or": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda xs: {"$and": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda a, b: {**a, **b}, inner, inner),
    ),
    max_leaves=5,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(where=wheres)
def test_live_matching_equals_sql(live_class: tuple[Server, str, ClassSchema, list[Any]], where: Any) -> None:
    server, cls, _schema, decoded = live_class
    r = Api(server).get(f"classes/{cls}", params={"where": where, "limit": 1000, "keys": "objectId"})
    assert r.status_code == 200, r.text
    by_sql = {o["objectId"] for o in r.json()["results"]}
    compiled = compile_where(where)
    now = datetime.now(UTC)
    live = {o["objectId"] for o in decoded if compiled.matches(o, now=now)}
    assert live == by_sql
