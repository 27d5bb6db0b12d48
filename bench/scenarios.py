"""The benchmark scenarios as plain Parse REST requests, identical for every server.

Each connection (virtual user) is logged in as one rep (connection i -> rep i mod reps), so ACLs apply and several
users are active at once. Each connection gets its own pre-computed, shuffled list of requests (stages, deal ids,
search terms vary) so no server is flattered by answering the same request again and again.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

import orjson

from bench.client import Api
from bench.dataset import BASE_DATE, FIRST, LAST, PRODUCTS, STAGES, Dataset, User, date, pointer

PER_CONNECTION = 1000  # requests pre-computed per connection (cycled)


@dataclass
class Req:
    method: str
    path: str  # relative to the mount, with the query string
    body: object = None
    session: str | None = None
    absolute: bool = False  # path relative to the origin instead (GraphQL is served outside the mount)


def q(params: dict) -> str:
    """Encode query parameters the way the REST docs show them (JSON values, URL-encoded)."""
    parts = []
    for k, v in params.items():
        s = v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))
        parts.append(f"{k}={quote(s, safe='')}")
    return "?" + "&".join(parts)


def deal_ptr(oid: str) -> dict:
    return pointer("Deal", oid)


@dataclass
class Scenario:
    name: str
    title: str
    kind: str  # "read" | "write" | "auth"
    build: Callable[[Dataset, User, random.Random], Req]
    check: Callable[[int, object, Req], str | None]  # returns a problem or None
    floor: bool = False  # has a raw-SQL floor


def _results(status: int, body) -> str | None:
    if status != 200:
        return f"HTTP {status}: {str(body)[:200]}"
    if not isinstance(body, dict) or not isinstance(body.get("results"), list):
        return f"no results list: {str(body)[:200]}"
    return None


# ---- builders ------------------------------------------------------------------------------------------


def b_pipeline(ds: Dataset, u: User, rng: random.Random) -> Req:
    stage = rng.choice(STAGES)
    return Req(
        "GET",
        "/classes/Deal" + q({"where": {"stage": stage}, "order": "expectedCloseDate", "limit": 50}),
        session=u.session,
    )


def c_pipeline(status: int, body, req: Req) -> str | None:
    p = _results(status, body)
    if p:
        return p
    res = body["results"]
    if len(res) > 50:
        return f"{len(res)} results > limit 50"
    dates = [r.get("expectedCloseDate", {}).get("iso", "") for r in res]
    if dates != sorted(dates):
        return "not ordered by expectedCloseDate"
    return None


# The pipeline query through GraphQL: the same deals, order and page as `pipeline`, with every field the REST answer
# carries (pointers as ids), in parse-server's GraphQL shape (the same document goes to both servers).
PIPELINE_GRAPHQL = """query Pipeline($stage: String!) {
  deals(where: {stage: {equalTo: $stage}}, order: [expectedCloseDate_ASC], first: 50) {
    edges { node { objectId createdAt updatedAt title amount stage expectedCloseDate notes
                   contact { objectId } company { objectId } assignedTo { objectId } } }
  }
}"""


def b_pipeline_graphql(ds: Dataset, u: User, rng: random.Random) -> Req:
    body = {"query": PIPELINE_GRAPHQL, "variables": {"stage": rng.choice(STAGES)}}
    return Req("POST", "/graphql", body, session=u.session, absolute=True)


def c_pipeline_graphql(status: int, body, req: Req) -> str | None:
    if status != 200 or not isinstance(body, dict) or body.get("errors") or not isinstance(body.get("data"), dict):
        return f"HTTP {status}: {str(body)[:200]}"
    edges = body["data"]["deals"]["edges"]
    if len(edges) > 50:
        return f"{len(edges)} results > first 50"
    dates = [e["node"].get("expectedCloseDate") or "" for e in edges]
    if dates != sorted(dates):
        return "not ordered by expectedCloseDate"
    if any(e["node"]["stage"] != req.body["variables"]["stage"] for e in edges):  # type: ignore[index]
        return "a deal of another stage"
    return None


def b_get_include(ds: Dataset, u: User, rng: random.Random) -> Req:
    oid = rng.choice(ds.deals[u.objectId])
    return Req("GET", f"/classes/Deal/{oid}" + q({"include": "contact,company"}), session=u.session)


def c_get_include(status: int, body, req: Req) -> str | None:
    if status != 200:
        return f"HTTP {status}: {str(body)[:200]}"
    for k in ("contact", "company"):
        v = body.get(k)
        if not isinstance(v, dict) or v.get("__type") != "Object" or "name" not in v:
            return f"{k} not included: {str(v)[:120]}"
    return None


def b_activities(ds: Dataset, u: User, rng: random.Random) -> Req:
    oid = rng.choice(ds.deals[u.objectId])
    return Req(
        "GET",
        "/classes/Activity" + q({"where": {"relatedTo": deal_ptr(oid)}, "order": "-dueDate", "limit": 20}),
        session=u.session,
    )


def c_activities(status: int, body, req: Req) -> str | None:
    p = _results(status, body)
    if p:
        return p
    dates = [r.get("dueDate", {}).get("iso", "") for r in body["results"]]
    if dates != sorted(dates, reverse=True):
        return "not ordered by -dueDate"
    return None


def b_count(ds: Dataset, u: User, rng: random.Random) -> Req:
    stage = rng.choice(STAGES)
    return Req("GET", "/classes/Deal" + q({"where": {"stage": stage}, "count": 1, "limit": 0}), session=u.session)


def c_count(status: int, body, req: Req) -> str | None:
    p = _results(status, body)
    if p:
        return p
    if not isinstance(body.get("count"), int) or body["results"]:
        return f"bad count answer {str(body)[:200]}"
    return None


def b_search(ds: Dataset, u: User, rng: random.Random) -> Req:
    term = rng.choice(LAST) if rng.random() < 0.7 else rng.choice(FIRST)
    return Req(
        "GET",
        "/classes/Contact" + q({"where": {"name": {"$text": {"$search": {"$term": term}}}}, "limit": 20}),
        session=u.session,
    )


def c_search(status: int, body, req: Req) -> str | None:
    return _results(status, body)


def b_create(ds: Dataset, u: User, rng: random.Random) -> Req:
    contacts = ds.contacts.get(u.objectId) or []
    body = {
        "title": f"{rng.choice(PRODUCTS).title()} bench {rng.randrange(10**9)}",
        "amount": round(rng.uniform(100, 100000), 2),
        "stage": rng.choice(STAGES[:4]),
        "expectedCloseDate": date(BASE_DATE + timedelta(days=rng.randint(0, 365))),
        "assignedTo": pointer("_User", u.objectId),
    }
    if contacts:
        body["contact"] = pointer("Contact", rng.choice(contacts))
    return Req("POST", "/classes/Deal", body, u.session)


def c_create(status: int, body, req: Req) -> str | None:
    if status != 201 or not isinstance(body, dict) or "objectId" not in body:
        return f"HTTP {status}: {str(body)[:200]}"
    return None


def b_update(ds: Dataset, u: User, rng: random.Random) -> Req:
    oid = rng.choice(ds.deals[u.objectId])
    return Req("PUT", f"/classes/Deal/{oid}", {"stage": rng.choice(STAGES)}, u.session)


def c_update(status: int, body, req: Req) -> str | None:
    if status != 200 or not isinstance(body, dict) or "updatedAt" not in body:
        return f"HTTP {status}: {str(body)[:200]}"
    return None


def b_login(ds: Dataset, u: User, rng: random.Random) -> Req:
    who = rng.choice(ds.reps)
    return Req("POST", "/login", {"username": who.username, "password": who.password})


def c_login(status: int, body, req: Req) -> str | None:
    if status != 200 or not isinstance(body, dict) or not str(body.get("sessionToken", "")).startswith("r:"):
        return f"HTTP {status}: {str(body)[:200]}"
    return None


SCENARIOS: list[Scenario] = [
    Scenario(
        "pipeline",
        "pipeline: deals of a stage by expectedCloseDate, limit 50",
        "read",
        b_pipeline,
        c_pipeline,
        floor=True,
    ),
    Scenario(
        "pipeline_graphql",
        "pipeline through GraphQL: POST /graphql deals(where stage, order expectedCloseDate_ASC, first 50)",
        "read",
        b_pipeline_graphql,
        c_pipeline_graphql,
    ),
    Scenario(
        "get_include", "one deal by id, include=contact,company", "read", b_get_include, c_get_include, floor=True
    ),
    Scenario(
        "activities", "activities of a deal by -dueDate, limit 20", "read", b_activities, c_activities, floor=True
    ),
    Scenario("count_stage", "count of deals of one stage (count=1, limit=0)", "read", b_count, c_count, floor=True),
    Scenario("search", "full-text search over contact names ($text), limit 20", "read", b_search, c_search, floor=True),
    Scenario("create_deal", "create a deal", "write", b_create, c_create),
    Scenario("update_stage", "change a deal's stage", "write", b_update, c_update),
    Scenario("login", "log in (POST /login, bcrypt)", "auth", b_login, c_login),
]
BY_NAME = {s.name: s for s in SCENARIOS}


def conn_users(ds: Dataset, connections: int) -> list[User]:
    reps = [r for r in ds.reps if ds.deals.get(r.objectId)]
    return [reps[i % len(reps)] for i in range(connections)]


def build_requests(
    sc: Scenario, ds: Dataset, connections: int, api: Api, seed: int = 7, per_connection: int = PER_CONNECTION
) -> list[list[bytes]]:
    """Pre-encoded requests, one list per connection."""
    out = []
    for i, u in enumerate(conn_users(ds, connections)):
        rng = random.Random(f"{seed}-{sc.name}-{i}")
        out.append(
            [
                api.encode(r.method, r.path, r.body, r.session, absolute=r.absolute)
                for r in (sc.build(ds, u, rng) for _ in range(per_connection))
            ]
        )
    return out


async def sample_check(sc: Scenario, ds: Dataset, api: Api, n: int = 12, seed: int = 11) -> dict:
    """Send n requests one by one and check their answers; summarise result sizes (what each server returns)."""
    problems, sizes = [], []
    users = conn_users(ds, n)
    for i, u in enumerate(users):
        req = sc.build(ds, u, random.Random(f"{seed}-{sc.name}-{i}"))
        encoded = api.encode(req.method, req.path, req.body, req.session, absolute=req.absolute)
        status, raw = await api.conn.roundtrip(encoded)
        try:
            body = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            body = raw[:200]
        p = sc.check(status, body, req)
        if p:
            problems.append(p)
        elif isinstance(body, dict) and isinstance(body.get("results"), list):
            sizes.append(body.get("count", len(body["results"])))
        elif isinstance(body, dict) and isinstance(body.get("data"), dict):  # GraphQL: the connection's edges
            sizes.extend(len(v.get("edges") or []) for v in body["data"].values() if isinstance(v, dict))
    return {
        "checked": n,
        "problems": problems[:5],
        "problem_count": len(problems),
        "mean_result_size": round(sum(sizes) / len(sizes), 1) if sizes else None,
    }
