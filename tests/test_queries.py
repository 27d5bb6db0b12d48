"""Finds over real data: operators, ordering, paging, keys, include, count, full-text, sub-queries, aggregate."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from conftest import Api, unique


@pytest.fixture(scope="module")
def data(api: Api) -> dict[str, Any]:
    company, deal = unique("Co"), unique("Deal")
    cos = [
        api.post(f"classes/{company}", {"name": n, "size": s}).json()["objectId"]
        for n, s in (("Acme", 10), ("Globex", 200), ("Initech", 50))
    ]
    rows = [
        ("Alpha", 100, "lead", "2025-03-01", 0, ["hot"]),
        ("Beta", 250, "won", "2025-01-15", 1, ["cold", "hot"]),
        ("Gamma", 75.5, "lead", "2025-02-01", 2, []),
        ("Delta", 0, "lost", None, 0, ["warm"]),
        ("Epsilon", 990, "proposal", "2025-04-30", 1, None),
    ]
    ids = {}
    for title, amount, stage, close, co, tags in rows:
        body: dict[str, Any] = {
            "title": title,
            "amount": amount,
            "stage": stage,
            "company": {"__type": "Pointer", "className": company, "objectId": cos[co]},
        }
        if close:
            body["closeAt"] = {"__type": "Date", "iso": f"{close}T00:00:00.000Z"}
        if tags is not None:
            body["tags"] = tags
        ids[title] = api.post(f"classes/{deal}", body).json()["objectId"]
    return {"company": company, "deal": deal, "cos": cos, "ids": ids}


def titles(api: Api, data: dict[str, Any], where: Any = None, **params: Any) -> list[str]:
    p = dict(params)
    if where is not None:
        p["where"] = where
    r = api.get(f"classes/{data['deal']}", params=p)
    assert r.status_code == 200, r.text
    return [o["title"] for o in r.json()["results"]]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"stage": "lead"}, {"Alpha", "Gamma"}),
        ({"amount": {"$gte": 100, "$lt": 990}}, {"Alpha", "Beta"}),
        ({"amount": {"$ne": 0}}, {"Alpha", "Beta", "Gamma", "Epsilon"}),
        ({"stage": {"$in": ["won", "lost"]}}, {"Beta", "Delta"}),
        ({"stage": {"$nin": ["lead", "won"]}}, {"Delta", "Epsilon"}),
        ({"closeAt": {"$exists": False}}, {"Delta"}),
        ({"tags": {"$exists": True}}, {"Alpha", "Beta", "Gamma", "Delta"}),
        ({"tags": "hot"}, {"Alpha", "Beta"}),
        ({"tags": {"$all": ["hot", "cold"]}}, {"Beta"}),
        ({"tags": {"$containedBy": ["hot", "warm"]}}, {"Alpha", "Gamma", "Delta"}),
        ({"title": {"$regex": "^\\QAl\\E"}}, {"Alpha"}),
        ({"title": {"$regex": "ta$", "$options": "i"}}, {"Beta", "Delta"}),
        ({"title": {"$regex": "^(alpha|GAMMA)$", "$options": "i"}}, {"Alpha", "Gamma"}),
        ({"closeAt": {"$lt": {"__type": "Date", "iso": "2025-02-15T00:00:00.000Z"}}}, {"Beta", "Gamma"}),
        ({"$or": [{"stage": "won"}, {"amount": {"$gt": 500}}]}, {"Beta", "Epsilon"}),
        ({"$and": [{"stage": "lead"}, {"amount": {"$lt": 100}}]}, {"Gamma"}),
        ({"$nor": [{"stage": "lead"}, {"stage": "won"}]}, {"Delta", "Epsilon"}),
        ({"nosuchfield": "x"}, set()),
        ({"nosuchfield": {"$exists": False}}, {"Alpha", "Beta", "Gamma", "Delta", "Epsilon"}),
        ({"amount": {"$lt": "text"}}, set()),
    ],
)
def test_operators(api: Api, data: dict[str, Any], where: Any, expected: set[str]) -> None:
    assert set(titles(api, data, where)) == expected


def test_pointer_equality_and_in_query(api: Api, data: dict[str, Any]) -> None:
    acme = {"__type": "Pointer", "className": data["company"], "objectId": data["cos"][0]}
    assert set(titles(api, data, {"company": acme})) == {"Alpha", "Delta"}
    big = {"company": {"$inQuery": {"className": data["company"], "where": {"size": {"$gte": 50}}}}}
    assert set(titles(api, data, big)) == {"Beta", "Gamma", "Epsilon"}
    small = {"company": {"$notInQuery": {"className": data["company"], "where": {"size": {"$gte": 50}}}}}
    assert set(titles(api, data, small)) == {"Alpha", "Delta"}
    sel = {
        "stage": {"$select": {"query": {"className": data["deal"], "where": {"amount": {"$gt": 200}}}, "key": "stage"}}
    }
    assert set(titles(api, data, sel)) == {"Beta", "Epsilon"}
    dont = {
        "stage": {
            "$dontSelect": {"query": {"className": data["deal"], "where": {"amount": {"$gt": 200}}}, "key": "stage"}
        }
    }
    assert set(titles(api, data, dont)) == {"Alpha", "Gamma", "Delta"}


def test_order_limit_skip_count(api: Api, data: dict[str, Any]) -> None:
    assert titles(api, data, order="-amount") == ["Epsilon", "Beta", "Alpha", "Gamma", "Delta"]
    assert titles(api, data, order="stage,-amount") == ["Alpha", "Gamma", "Delta", "Epsilon", "Beta"]
    assert titles(api, data, order="amount", limit=2, skip=1) == ["Gamma", "Alpha"]
    r = api.get(f"classes/{data['deal']}", params={"where": {"stage": "lead"}, "count": 1, "limit": 0}).json()
    assert r == {"results": [], "count": 2}
    r = api.get(f"classes/{data['deal']}", params={"count": 1, "limit": 1, "order": "title"}).json()
    assert r["count"] == 5 and [o["title"] for o in r["results"]] == ["Alpha"]


def test_order_by_internal_date_names(api: Api, data: dict[str, Any]) -> None:
    # Parse.com's `_created_at` / `_updated_at`, which parse-server still accepts in `order`
    newest_first = titles(api, data, order="-createdAt")
    assert titles(api, data, order="-_created_at") == newest_first
    assert titles(api, data, order="_created_at") == titles(api, data, order="createdAt")
    assert titles(api, data, order="-_updated_at,title") == titles(api, data, order="-updatedAt,title")
    r = api.get(f"classes/{data['deal']}", params={"order": "-_created_at"}).json()["results"]
    stamps = [o["createdAt"] for o in r]
    assert stamps == sorted(stamps, reverse=True)
    r = api.get(f"classes/{data['deal']}", params={"order": "_hashed_password"})
    assert r.status_code == 400 and r.json()["code"] == 105


def test_keys_exclude_and_include(api: Api, data: dict[str, Any]) -> None:
    r = api.get(f"classes/{data['deal']}", params={"keys": "title", "order": "title", "limit": 1}).json()
    assert set(r["results"][0]) == {"objectId", "createdAt", "updatedAt", "title"}
    r = api.get(f"classes/{data['deal']}", params={"excludeKeys": "amount,tags", "limit": 1}).json()
    assert "amount" not in r["results"][0] and "title" in r["results"][0]
    r = api.get(f"classes/{data['deal']}", params={"include": "company", "where": {"title": "Beta"}}).json()
    company = r["results"][0]["company"]
    assert company["__type"] == "Object" and company["className"] == data["company"]
    assert company["name"] == "Globex" and company["objectId"] == data["cos"][1]
    r = api.get(f"classes/{data['deal']}", params={"include": "*", "where": {"title": "Beta"}}).json()
    assert r["results"][0]["company"]["name"] == "Globex"
    r = api.get(f"classes/{data['deal']}", params={"keys": "title,company.name", "where": {"title": "Beta"}}).json()
    got = r["results"][0]
    assert got["company"]["name"] == "Globex" and "size" not in got["company"] and "amount" not in got
    one = api.get(f"classes/{data['deal']}/{data['ids']['Alpha']}", params={"include": "company"}).json()
    assert one["company"]["name"] == "Acme"


def test_full_text_search(api: Api) -> None:
    cls = unique("Txt")
    for name in ("Jane Cooper runs sales", "John Smith", "Janet Jackson sells records"):
        api.post(f"classes/{cls}", {"name": name})
    r = api.get(f"classes/{cls}", params={"where": {"name": {"$text": {"$search": {"$term": "sales"}}}}}).json()
    names = {o["name"] for o in r["results"]}
    assert names == {"Jane Cooper runs sales"}  # english stemming: "sells" is a different stem from "sales"
    r = api.get(f"classes/{cls}", params={"where": {"name": {"$text": {"$search": {"$term": "smith"}}}}}).json()
    assert [o["name"] for o in r["results"]] == ["John Smith"]


def test_full_text_options_and_score(api: Api) -> None:
    cls = unique("TxtOpt")
    for name in ("Café de Flore", "cafe racer", "quick fox, quick dog, quick cat", "one quick thing"):
        api.post(f"classes/{cls}", {"name": name})

    def find(search: dict[str, Any], **params: Any) -> httpx.Response:
        return api.get(f"classes/{cls}", params={"where": {"name": {"$text": {"$search": search}}}, **params})

    # PostgreSQL's text search folds case and keeps accents (parse-server's Postgres behaviour)
    assert [o["name"] for o in find({"$term": "CAFÉ"}).json()["results"]] == ["Café de Flore"]
    r = find({"$term": "cafe", "$diacriticSensitive": True, "$caseSensitive": False, "$language": "english"})
    assert [o["name"] for o in r.json()["results"]] == ["cafe racer"]
    assert [o["name"] for o in find({"$term": "racer", "$language": "simple"}).json()["results"]] == ["cafe racer"]
    # ranked: keys=$score gives the rank as "score", order=$score puts the best match first
    r = find({"$term": "quick"}, keys="name,$score", order="$score").json()["results"]
    assert [o["name"] for o in r] == ["quick fox, quick dog, quick cat", "one quick thing"]
    assert r[0]["score"] > r[1]["score"] > 0
    best = find({"$term": "quick"}, order="-$score").json()["results"][0]
    assert best["name"].startswith("quick fox")  # best first whichever way the SDK asked
    for search, code in [
        ({"$term": "cafe", "$caseSensitive": True}, 107),
        ({"$term": "cafe", "$diacriticSensitive": False}, 107),
        ({"$term": "cafe", "$caseSensitive": "yes"}, 107),
        ({"$term": "cafe", "$language": 3}, 107),
        ({"$term": "cafe", "$language": "klingon"}, 102),
        ({"$term": 3}, 107),
    ]:
        r = find(search)
        assert r.status_code == 400 and r.json()["code"] == code, (search, r.text)
    r = api.get(f"classes/{cls}", params={"where": {"name": {"$text": {"$search": "cafe"}}}})
    assert r.status_code == 400 and r.json()["code"] == 107


def test_select_key_on_a_pointers_object_id(api: Api) -> None:
    # parse-server's "matchesKeyInQuery with dot notation": `belongsTo.objectId` reads each pointer's id, and a
    # role without `belongsTo` (null) selects nothing rather than failing
    grp, role = unique("Grp"), unique("Role")
    g1, g2 = (api.post(f"classes/{grp}", {"name": n}).json()["objectId"] for n in ("g1", "g2"))
    api.post(f"classes/{role}", {"type": "x", "belongsTo": {"__type": "Pointer", "className": grp, "objectId": g1}})
    api.post(f"classes/{role}", {"type": "x", "belongsTo": None})
    api.post(f"classes/{role}", {"type": "y", "belongsTo": {"__type": "Pointer", "className": grp, "objectId": g2}})

    def names(op: str, where: dict[str, Any]) -> list[str]:
        sub = {op: {"query": {"className": role, "where": where}, "key": "belongsTo.objectId"}}
        r = api.get(f"classes/{grp}", params={"where": {"objectId": sub}, "order": "name"})
        assert r.status_code == 200, r.text
        return [o["name"] for o in r.json()["results"]]

    assert names("$select", {"type": "x"}) == ["g1"]
    assert names("$dontSelect", {"type": "x"}) == ["g2"]
    assert names("$select", {}) == ["g1", "g2"]
    assert names("$select", {"type": "none"}) == []
    assert names("$dontSelect", {"type": "none"}) == ["g1", "g2"]


def test_aggregate_and_distinct(api: Api, data: dict[str, Any]) -> None:
    pipeline = [
        {"$match": {"amount": {"$gt": 0}}},
        {"$group": {"_id": "$stage", "total": {"$sum": "$amount"}, "n": {"$sum": 1}}},
        {"$sort": {"total": -1}},
    ]
    r = api.get(f"aggregate/{data['deal']}", params={"pipeline": pipeline})
    assert r.status_code == 200, r.text
    assert r.json()["results"] == [
        {"objectId": "proposal", "total": 990, "n": 1},
        {"objectId": "won", "total": 250, "n": 1},
        {"objectId": "lead", "total": 175.5, "n": 2},
    ]
    r = api.get(f"aggregate/{data['deal']}", params={"distinct": "stage"}).json()
    assert sorted(r["results"]) == ["lead", "lost", "proposal", "won"]
    r = api.get(f"aggregate/{data['deal']}", params={"pipeline": [{"group": {"_id": None}}]})
    assert r.status_code == 400 and r.json()["code"] == 102


def test_objectid_paging_is_stable(api: Api) -> None:
    cls = unique("Page")
    api.post(
        "batch",
        {"requests": [{"method": "POST", "path": f"/parse/classes/{cls}", "body": {"g": 1}} for _ in range(30)]},
    )
    seen: list[str] = []
    last = ""
    while True:
        where = {"objectId": {"$gt": last}} if last else {}
        page = api.get(f"classes/{cls}", params={"where": where, "order": "objectId", "limit": 7}).json()["results"]
        if not page:
            break
        seen += [o["objectId"] for o in page]
        last = page[-1]["objectId"]
    assert len(seen) == len(set(seen)) == 30
    by_created = [
        o["objectId"]
        for s in range(0, 30, 10)
        for o in api.get(f"classes/{cls}", params={"order": "createdAt", "limit": 10, "skip": s}).json()["results"]
    ]
    assert len(set(by_created)) == 30  # a tiebreaker keeps equal createdAt values from repeating across pages
