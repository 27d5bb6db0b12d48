"""Property tests: the server's `where` results equal the reference evaluator's (parsecrm.query.evaluate).

Needs the session fixture ``server`` (``.url``, ``.app_id``, ``.master_key``) from tests/conftest.py;
the tests skip when it is not defined. One class with every basic field type is created and filled with
~60 seeded rows (missing fields, nulls, duplicates, unicode, SQL-looking strings, empty arrays, nested
objects), then:

* random where trees over those fields, with values drawn from the rows, must select exactly the objects the
  evaluator selects, and ``count`` must agree;
* random strings as values, field names and operator names must never produce a 5xx, only results or a
  4xx Parse error JSON (``{"code": int, "error": str}``); a where the evaluator rejects must get a 4xx, and
  results, when the server gives them, must equal the evaluator's (except for $regex/$text on random text).
"""

from __future__ import annotations

import json
import math
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st

from parsecrm.errors import ParseError
from parsecrm.query.evaluate import ListResolver, compile_where

SEED = 20240607
N_ROWS = 60
BATCH_SIZE = 50

SETTINGS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
FUZZ_SETTINGS = settings(SETTINGS, max_examples=150)

# ------------------------------------------------------------------------------------------------
# Value pools (rows and query values are drawn from the same ones, so queries match something)

STRINGS = [
    "",
    "a",
    "A",
    "ab",
    "abc",
    "Abc",
    "abd",
    "b",
    "B",
    "z",
    "Z",
    "9",
    "10",
    "é",
    "É",
    "été",
    "Été",
    "日本",
    "日本語",
    "🎉",
    "a🎉b",
    " lead",
    "lead ",
    "won",
    "'; drop table x; --",
    "Robert'); DROP TABLE students;--",
    "$1",
    "$1::text",
    "\\",
    "\\\\",
    "a\\b",
    "%",
    "_",
    "a%",
    "a_c",
    "aab",
    "a lead",
    "%_%",
    "O'Brien",
    '"q"',
    "line1\nline2",
    "tail\n",
    "\t",
    "null",
    "true",
    "\\Q",
    "\\E",
    "^$.*+?()[]{}|",
    "*",
    ":x",
    "{}",
    "[]",
]
NUMBERS: list[int | float] = [0, 1, -1, 2, 3, 10, 42, 100, 1.5, -0.5, 0.1, 2.5, 1e6, -1e6, 1e15]
DATES = [
    "1970-01-01T00:00:00.000Z",
    "1999-12-31T23:59:59.999Z",
    "2020-01-01T00:00:00.000Z",
    "2020-01-01T00:00:00.001Z",
    "2021-06-15T12:30:45.123Z",
    "2024-02-29T00:00:00.000Z",
    "2030-01-01T00:00:00.000Z",
]
FAKE_ID = "zzzzzzzzzz"  # a pointer to an object that does not exist


def date(iso: str) -> dict[str, Any]:
    return {"__type": "Date", "iso": iso}


def iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def pointer(class_name: str, object_id: str) -> dict[str, Any]:
    return {"__type": "Pointer", "className": class_name, "objectId": object_id}


ELEMENTS: list[Any] = [
    "a",
    "b",
    "c",
    "A",
    "é",
    "%",
    "'",
    "",
    1,
    2,
    1.5,
    0,
    True,
    False,
    {"k": 1},
    {"k": "a"},
    [1, 2],
    [],
    date(DATES[2]),
    pointer("Other", FAKE_ID),
]


_MISSING = object()

# GeoPoints on a coarse grid, so queries' bounds, vertices and centres fall exactly on stored points
GEO_LATS = [-45.0, -10.0, 0.0, 0.5, 10.0, 45.0, 89.5]
GEO_LNGS = [-179.5, -20.0, 0.0, 10.0, 20.0, 180.0]


def geo(lat: float, lng: float) -> dict[str, Any]:
    return {"__type": "GeoPoint", "latitude": lat, "longitude": lng}


GEO_POINTS = [geo(lat, lng) for lat in GEO_LATS for lng in GEO_LNGS]


def polygon(points: list[dict[str, Any]]) -> dict[str, Any]:
    return {"__type": "Polygon", "coordinates": [[p["latitude"], p["longitude"]] for p in points]}


def random_row(rng: random.Random) -> dict[str, Any]:
    """A row body; each field is missing (25%), null (10%) or a pool value."""

    def pick(make: Any) -> Any:
        roll = rng.random()
        if roll < 0.25:
            return _MISSING
        if roll < 0.35:
            return None
        return make()

    def array() -> list[Any]:
        size = rng.choice([0, 0, 1, 1, 2, 2, 3, 4])
        items = [rng.choice(ELEMENTS) for _ in range(size)]
        if rng.random() < 0.03:
            items.append(None)
        return items

    def obj() -> dict[str, Any]:
        out: dict[str, Any] = {}
        if rng.random() < 0.7:
            out["x"] = rng.choice([*NUMBERS[:6], "1", "a", "abc", True, None])
        if rng.random() < 0.5:
            out["y"] = {"z": rng.choice(["deep", "a", 1, 2.5])} if rng.random() < 0.7 else rng.choice([2, "y"])
        if rng.random() < 0.4:
            out["name"] = rng.choice(STRINGS)
        if rng.random() < 0.3:
            out["l"] = [rng.choice(["p", "q", 1]) for _ in range(rng.randint(0, 2))]
        return out

    row = {
        "s": pick(lambda: rng.choice(STRINGS)),
        "n": pick(lambda: rng.choice(NUMBERS)),
        "b": pick(lambda: rng.choice([True, False])),
        "d": pick(lambda: date(rng.choice(DATES))),
        "a": pick(array),
        "o": pick(obj),
    }
    return {k: v for k, v in row.items() if v is not _MISSING}


# ------------------------------------------------------------------------------------------------
# The server side


@dataclass
class Dataset:
    client: httpx.Client
    class_name: str
    rows: list[dict[str, Any]]
    ids: list[str]
    resolver: ListResolver = field(init=False)

    def __post_init__(self) -> None:
        self.resolver = ListResolver({self.class_name: self.rows})

    def __repr__(self) -> str:
        return f"<Dataset {self.class_name}: {len(self.rows)} rows>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # keeps hypothesis' reports short
        printer.text(repr(self))

    def find(self, where: Any, **params: Any) -> httpx.Response:
        payload = where if isinstance(where, str) else json.dumps(where)
        return self.client.get(f"classes/{self.class_name}", params={"where": payload, **params})


def _check(resp: httpx.Response) -> Any:
    assert resp.status_code < 300, f"{resp.request.method} {resp.request.url} → {resp.status_code} {resp.text}"
    return resp.json()


@pytest.fixture(scope="module")
def dataset(server: Any) -> Iterator[Dataset]:
    mount = urlsplit(server.url).path.rstrip("/")
    headers = {"X-Parse-Application-Id": server.app_id, "X-Parse-Master-Key": server.master_key}
    class_name = "WhereProp" + uuid.uuid4().hex[:10]
    with httpx.Client(base_url=server.url.rstrip("/") + "/", headers=headers, timeout=60) as client:
        fields = {
            "s": {"type": "String"},
            "n": {"type": "Number"},
            "b": {"type": "Boolean"},
            "d": {"type": "Date"},
            "a": {"type": "Array"},
            "o": {"type": "Object"},
            "p": {"type": "Pointer", "targetClass": class_name},
        }
        fields["g"] = {"type": "GeoPoint"}
        fields["pg"] = {"type": "Polygon"}
        _check(client.post(f"schemas/{class_name}", json={"className": class_name, "fields": fields}))
        try:
            rng = random.Random(SEED)
            bodies = [random_row(rng) for _ in range(N_ROWS)]
            geo_rng = random.Random(SEED + 1)  # its own stream: the other fields' rows stay as they were
            for body in bodies:
                if geo_rng.random() < 0.8:
                    body["g"] = geo_rng.choice(GEO_POINTS)
                if geo_rng.random() < 0.7:
                    ring = geo_rng.sample(GEO_POINTS, geo_rng.choice([3, 4, 5]))
                    body["pg"] = polygon(ring)
            ids = _batch(client, mount, [("POST", f"classes/{class_name}", body) for body in bodies])
            # Pointers to rows of the same class (and a few to an object that does not exist).
            updates = []
            for object_id in ids:
                roll = rng.random()
                if roll < 0.6:
                    target = rng.choice(ids[:12]) if roll < 0.55 else FAKE_ID
                    updates.append(("PUT", f"classes/{class_name}/{object_id}", {"p": pointer(class_name, target)}))
            _batch(client, mount, updates)
            rows = _check(client.get(f"classes/{class_name}", params={"limit": 1000}))["results"]
            assert len(rows) == N_ROWS
            yield Dataset(client, class_name, rows, ids)
        finally:
            client.delete(f"purge/{class_name}")
            client.delete(f"schemas/{class_name}")


def _batch(client: httpx.Client, mount: str, requests: list[tuple[str, str, Any]]) -> list[str]:
    ids: list[str] = []
    for start in range(0, len(requests), BATCH_SIZE):
        chunk = requests[start : start + BATCH_SIZE]
        body = {"requests": [{"method": m, "path": f"{mount}/{p}", "body": b} for m, p, b in chunk]}
        results = _check(client.post("batch", json=body))
        assert len(results) == len(chunk)
        for (_, _, sent), result in zip(chunk, results, strict=True):
            assert "success" in result, f"batch item {sent!r} failed: {result!r}"
            if "objectId" in result["success"]:
                ids.append(result["success"]["objectId"])
    return ids


# ------------------------------------------------------------------------------------------------
# Where strategies


def _get(obj: Any, key: str) -> Any:
    """The value at a dotted key: only plain objects (no ``__type``) are descended into."""
    for i, part in enumerate(key.split(".")):
        if not isinstance(obj, dict) or (i > 0 and "__type" in obj):
            return None
        obj = obj.get(part)
    return obj


def _is_typed(v: Any) -> bool:
    return isinstance(v, dict) and v.get("__type") == "Date"


def _dedupe(values: list[Any]) -> list[Any]:
    seen: set[str] = set()
    out = []
    for v in values:
        k = json.dumps(v, sort_keys=True)
        if k not in seen:
            seen.add(k)
            out.append(v)
    return out


SCALAR_KEYS = ["s", "n", "b", "d", "o.x", "o.name", "o.y", "o.y.z", "createdAt", "updatedAt", "objectId"]
ARRAY_KEYS = ["a", "o.l"]
KEYS = [*SCALAR_KEYS, *ARRAY_KEYS, "o", "p", "g", "pg"]
ORDERED_KEYS = ["s", "n", "b", "d", "o.x", "o.y.z", "createdAt", "updatedAt", "objectId"]
STRING_KEYS = ["s", "o.name", "o.x", "objectId"]

RAW_PATTERNS = [
    "^a",
    "b$",
    "a.c",
    "^$",
    "^.",
    "[ab]",
    "^[A-Z]",
    "\\d",
    "é",
    "日",
    "^\\s",
    "c|d",
    "(ab)+",
    "a*",
    "^'",
    "%",
    "_",
    "\\\\",
    "\\$1",
    "^.*$",
    "e$",
    "\\n",
    "\\blead",
    "d\\b",
    "\\Bb",
    "(?i)^abc",
    "a{2}",
    "(a)b?",
]
REGEX_OPTIONS = ["", "", "", "i", "m", "s", "x", "im", "is"]


class Pools:
    """Query values per key: what the rows hold plus the static pools (and a little type noise)."""

    def __repr__(self) -> str:
        return "<Pools>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    def __init__(self, ds: Dataset) -> None:
        self.ds = ds
        cls = ds.class_name
        seen = {key: _dedupe([v for r in ds.rows if (v := _get(r, key)) is not None]) for key in KEYS}
        created = [datetime.fromisoformat(r["createdAt"]) for r in ds.rows]
        shifted = [iso(t + timedelta(milliseconds=ms)) for t in created[:10] for ms in (-1, 1)]
        seen["createdAt"] = seen["updatedAt"] = [date(iso(t)) for t in created]
        seen["objectId"] = ds.ids[:20]
        seen["p"] = [v for v in seen["p"] if isinstance(v, dict)]
        static: dict[str, list[Any]] = {
            "s": STRINGS,
            "n": [*NUMBERS, 5, -2, 0.5],
            "b": [True, False],
            "d": [*(date(d) for d in DATES), date("2020-01-01T00:00:00.0005Z")],
            "createdAt": [date(s) for s in shifted],
            "updatedAt": [date(s) for s in shifted],
            "objectId": [FAKE_ID, "abc"],
            "o": [{}, {"x": 1}],
            "o.x": [1, "1", "a", True],
            "o.name": STRINGS[:10],
            "o.y": [2, "y", {"z": "deep"}],
            "o.y.z": ["deep", 1, 2.5],
            "a": [*ELEMENTS, [], ["a", "b"]],
            "o.l": ["p", "q", 1, ["p"]],
            "g": [geo(1.0, 1.0), geo(0.0, 0.0)],
            "pg": [polygon(GEO_POINTS[:3])],
            "p": [
                *(pointer(cls, i) for i in ds.ids[:14]),
                pointer(cls, FAKE_ID),
                pointer("Other", ds.ids[0]),
                ds.ids[0],
            ],
        }
        # What the rows hold weighs three times the static pool.
        self.values = {key: seen.get(key, []) * 3 + static[key] for key in static}
        noise: list[Any] = [*STRINGS[:6], 0, 1, 2.5, True, False, date(DATES[2]), {"x": 1}, ["a"]]
        date_noise: list[Any] = [created[0].isoformat(), iso(created[1]), 1, True, date(DATES[2])]
        self.noise = {key: date_noise if key in ("createdAt", "updatedAt") else noise for key in static}
        elements = [e for r in ds.rows for e in (_get(r, "a") or [])]
        self.elements: dict[str, list[Any]] = {"a": elements * 2 + ELEMENTS, "o.l": ["p", "q", 1, "r"]}
        self.strings = [v for v in seen["s"] + seen["o.name"] if isinstance(v, str)] * 2 + STRINGS

    def value(self, key: str) -> st.SearchStrategy[Any]:
        """Mostly a value of the key's own kind, sometimes (1 in 10) one of another type."""
        typed = st.sampled_from(self.values[key])
        return st.one_of(*([typed] * 9), st.sampled_from(self.noise[key]))

    def element(self, key: str) -> st.SearchStrategy[Any]:
        pool = self.elements.get(key) or self.values[key]
        return st.sampled_from(pool)

    def nullable(self, key: str) -> st.SearchStrategy[Any]:
        return st.one_of(self.value(key), self.value(key), self.value(key), self.value(key), st.none())


@st.composite
def regex_pattern(draw: st.DrawFn, pools: Pools) -> dict[str, Any]:
    kind = draw(st.sampled_from(["prefix", "suffix", "contains", "raw"]))
    if kind == "raw":
        pattern = draw(st.sampled_from(RAW_PATTERNS))
    else:
        base = draw(st.sampled_from(pools.strings))
        i = draw(st.integers(0, len(base)))
        j = draw(st.integers(i, len(base)))
        piece = base[i:j] if kind == "contains" else base[:j] if kind == "prefix" else base[i:]
        quoted = f"\\Q{piece}\\E"
        pattern = "^" + quoted if kind == "prefix" else quoted + "$" if kind == "suffix" else quoted
    out: dict[str, Any] = {"$regex": pattern}
    options = draw(st.sampled_from(REGEX_OPTIONS))
    if not pattern.isascii():  # the documented gap (query/regex.py): `i` folds only ASCII letters in PostgreSQL
        options = options.replace("i", "")
    if options:
        out["$options"] = options
    return out


@st.composite
def sub_query(draw: st.DrawFn, pools: Pools) -> dict[str, Any]:
    return {"className": pools.ds.class_name, "where": draw(wheres(pools, 0, sub_queries=False))}


@st.composite
def operators(draw: st.DrawFn, pools: Pools, key: str, sub_queries: bool) -> dict[str, Any]:
    ops = ["$eq", "$ne", "$in", "$nin", "$exists"]
    if key in ORDERED_KEYS:
        ops += ["$lt", "$lte", "$gt", "$gte"] * 2
    if key in STRING_KEYS:
        ops += ["$regex"] * 3
    if key in ARRAY_KEYS:
        ops += ["$all", "$containedBy"] * 2
    if key == "p" and sub_queries:
        ops += ["$inQuery", "$notInQuery"]
    if key in ("s", "n") and sub_queries:
        ops += ["$select", "$dontSelect"]
    if key == "g":
        ops += ["$nearSphere", "$within", "$centerSphere", "$polygon"] * 2
    if key == "pg":
        ops += ["$geoIntersects"] * 4
    chosen = draw(st.lists(st.sampled_from(ops), min_size=1, max_size=2, unique=True))
    out: dict[str, Any] = {}
    for op in chosen:
        if op in ("$eq", "$ne"):
            out[op] = draw(pools.nullable(key))
        elif op in ("$lt", "$lte", "$gt", "$gte"):
            orderable = pools.value(key).filter(lambda v: not isinstance(v, list | dict) or _is_typed(v))
            out[op] = draw(st.one_of(orderable, orderable, orderable, orderable, st.none()))
        elif op in ("$in", "$nin"):
            out[op] = draw(st.lists(pools.nullable(key), max_size=4))
        elif op == "$exists":
            out[op] = draw(st.booleans())
        elif op in ("$all", "$containedBy"):
            out[op] = draw(st.lists(pools.element(key), max_size=3))
        elif op == "$regex":
            out.update(draw(regex_pattern(pools)))
        elif op in ("$inQuery", "$notInQuery"):
            out[op] = draw(sub_query(pools))
        elif op == "$geoIntersects":
            out[op] = {"$point": draw(st.sampled_from(GEO_POINTS))}
        elif op in ("$nearSphere", "$within", "$centerSphere", "$polygon"):
            out.update(draw(geo_constraint(op)))
        else:
            out[op] = {"query": draw(sub_query(pools)), "key": key}
    return out or {"$exists": True}


@st.composite
def geo_constraint(draw: st.DrawFn, op: str) -> dict[str, Any]:
    """A geo operator with grid points (so bounds and edges touch stored points) and distances in radians."""
    point = st.sampled_from(GEO_POINTS)
    radians = st.sampled_from([0.0, 0.01, 0.1, 0.17453292519943295, 0.5, 1.0, 3.2])
    if op == "$nearSphere":
        out: dict[str, Any] = {"$nearSphere": draw(point)}
        unit = draw(st.sampled_from([None, "$maxDistance", "$maxDistanceInRadians", "$maxDistanceInKilometers"]))
        if unit:
            out[unit] = draw(radians) * (6371 if unit.endswith("Kilometers") else 1)
        return out
    if op == "$within":
        return {"$within": {"$box": [draw(point), draw(point)]}}
    if op == "$centerSphere":
        centre = draw(point)
        return {"$geoWithin": {"$centerSphere": [[centre["longitude"], centre["latitude"]], draw(radians)]}}
    ring = draw(st.lists(point, min_size=3, max_size=5))
    return {"$geoWithin": {"$polygon": ring}}


@st.composite
def constraint(draw: st.DrawFn, pools: Pools, key: str, sub_queries: bool) -> Any:
    if draw(st.integers(0, 2)) == 0:
        return draw(pools.nullable(key))
    return draw(operators(pools, key, sub_queries))


@st.composite
def wheres(draw: st.DrawFn, pools: Pools, depth: int, sub_queries: bool = True) -> dict[str, Any]:
    """A where over the class's fields; logic operators nest `depth` more levels."""
    where: dict[str, Any] = {}
    for key in draw(st.lists(st.sampled_from(KEYS), max_size=2, unique=True)):
        where[key] = draw(constraint(pools, key, sub_queries))
    if depth > 0 and draw(st.integers(0, 2)) > 0:
        logic = draw(st.sampled_from(["$or", "$or", "$and", "$nor"]))
        where[logic] = draw(st.lists(wheres(pools, depth - 1, sub_queries), min_size=1, max_size=3))
    return where


# ------------------------------------------------------------------------------------------------
# Comparison helpers


def expected_ids(ds: Dataset, where: Any) -> set[str]:
    compiled = compile_where(where)
    return {str(r["objectId"]) for r in compiled.filter(ds.rows, resolve=ds.resolver)}


def describe(ds: Dataset, ids: set[str]) -> str:
    by_id = {r["objectId"]: r for r in ds.rows}
    return "\n".join(
        "  " + json.dumps({k: v for k, v in by_id[i].items() if k not in ("updatedAt",)}, ensure_ascii=False)
        for i in sorted(ids)
        if i in by_id
    )


def assert_same_results(ds: Dataset, where: Any) -> None:
    try:
        expected = expected_ids(ds, where)
    except ParseError as exc:
        resp = ds.find(where, limit=1000)
        assert_parse_response(resp, f"where={json.dumps(where)}")
        assert resp.status_code >= 400, f"evaluator: {exc.message}; server accepted where={json.dumps(where)}"
        return
    resp = ds.find(where, limit=1000)
    assert resp.status_code == 200, f"where={json.dumps(where)} → {resp.status_code} {resp.text}"
    got = {r["objectId"] for r in resp.json()["results"]}
    missing, extra = expected - got, got - expected
    assert not missing and not extra, (
        f"where={json.dumps(where, ensure_ascii=False)}\n"
        f"server lacks {len(missing)} objects the evaluator matches:\n{describe(ds, missing)}\n"
        f"server returns {len(extra)} objects the evaluator rejects:\n{describe(ds, extra)}"
    )
    count = ds.find(where, count=1, limit=0)
    assert count.status_code == 200, f"count where={json.dumps(where)} → {count.status_code} {count.text}"
    body = count.json()
    assert body["results"] == []
    assert body["count"] == len(expected), f"count where={json.dumps(where)}: {body['count']} != {len(expected)}"


def assert_parse_response(resp: httpx.Response, context: str) -> Any:
    """Not a 5xx; a 200 with results or a 4xx Parse error JSON. Returns the body."""
    assert resp.status_code < 500, f"{context} → {resp.status_code} {resp.text}"
    body = resp.json()
    if resp.status_code == 200:
        assert isinstance(body.get("results"), list), f"{context} → {resp.text}"
    else:
        assert 400 <= resp.status_code < 500, f"{context} → {resp.status_code} {resp.text}"
        assert isinstance(body.get("code"), int) and body["code"] != 1, f"{context} → {resp.text}"
        assert isinstance(body.get("error"), str), f"{context} → {resp.text}"
    return body


# ------------------------------------------------------------------------------------------------
# Tests


def _normalize(value: Any) -> Any:
    if isinstance(value, dict):
        if value.get("__type") == "Date":
            return ("Date", datetime.fromisoformat(value["iso"]))
        return {k: _normalize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalize(v) for v in value]
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return value


def test_rows_round_trip(dataset: Dataset) -> None:
    """The rows read back hold what was written (so the evaluator judges the data that was meant)."""
    rng = random.Random(SEED)
    bodies = [random_row(rng) for _ in range(N_ROWS)]
    by_id = {r["objectId"]: r for r in dataset.rows}
    for object_id, body in zip(dataset.ids, bodies, strict=True):
        row = by_id[object_id]
        for key, value in body.items():
            assert _normalize(row.get(key)) == _normalize(value), f"{object_id}.{key}: wrote {value!r}, read {row!r}"
        for key in ("s", "n", "b", "d", "a", "o"):
            if key not in body:
                assert row.get(key) is None, f"{object_id}.{key} should be missing: {row!r}"


def test_where_property_handpicked(dataset: Dataset) -> None:
    """A few fixed wheres first, so the basics fail with a readable example before hypothesis starts."""
    for where in [
        {},
        {"s": "abc"},
        {"s": None},
        {"s": {"$ne": "abc"}},
        {"s": {"$exists": False}},
        {"n": {"$gt": 1}},
        {"n": {"$nin": [0, 1]}},
        {"a": "a"},
        {"a": {"$all": ["a", "b"]}},
        {"a": {"$containedBy": ["a", "b"]}},
        {"o.x": 1},
        {"d": {"$lt": date(DATES[3])}},
        {"s": {"$regex": "^\\Qa\\E"}},
        {"$or": [{"s": "a"}, {"n": 1}]},
        {"p": {"$exists": True}},
        {"p": pointer(dataset.class_name, dataset.ids[0])},
    ]:
        assert_same_results(dataset, where)


@pytest.fixture(scope="module")
def pools(dataset: Dataset) -> Pools:
    return Pools(dataset)


@SETTINGS
@given(data=st.data())
def test_where_property(dataset: Dataset, pools: Pools, data: st.DataObject) -> None:
    where = data.draw(wheres(pools, 2), label="where")
    assert_same_results(dataset, where)


VALUE_OPS = [
    "=",
    "$eq",
    "$ne",
    "$lt",
    "$lte",
    "$gt",
    "$gte",
    "$in",
    "$nin",
    "$all",
    "$containedBy",
    "$exists",
    "$regex",
    "$options",
    "$text",
    "$inQuery",
    "$notInQuery",
    "$select",
    "$dontSelect",
    "$relatedTo",
]
FUZZ_KEYS = ["s", "n", "b", "d", "a", "o", "p", "o.x", "objectId", "createdAt", "nosuchfield"]
KNOWN_OPERATORS = {
    "$and",
    "$or",
    "$nor",
    "$relatedTo",
    "$eq",
    "$ne",
    "$lt",
    "$lte",
    "$gt",
    "$gte",
    "$in",
    "$nin",
    "$all",
    "$containedBy",
    "$exists",
    "$regex",
    "$options",
    "$text",
    "$inQuery",
    "$notInQuery",
    "$select",
    "$dontSelect",
    "$nearSphere",
    "$maxDistance",
    "$maxDistanceInRadians",
    "$maxDistanceInMiles",
    "$maxDistanceInKilometers",
    "$within",
    "$geoWithin",
    "$geoIntersects",
    "$relativeTime",
}


@st.composite
def fuzz_value(draw: st.DrawFn, class_name: str) -> Any:
    text = draw(st.text(max_size=24))
    return draw(
        st.sampled_from(
            [
                text,
                [text],
                [text, None, 1],
                {"x": text},
                date(text),
                pointer(class_name, text),
                pointer(text, "x"),
                {"$relativeTime": text},
                {"__type": text},
            ]
        )
    )


def fuzz_where(key: str, op: str, value: Any, text: str, class_name: str) -> dict[str, Any]:
    if op == "=":
        return {key: value}
    if op == "$regex":
        return {key: {"$regex": text}}
    if op == "$options":
        return {key: {"$regex": "a", "$options": text}}
    if op == "$text":
        return {key: {"$text": {"$search": {"$term": text}}}}
    if op in ("$inQuery", "$notInQuery"):
        return {key: {op: {"className": text or class_name, "where": {"s": value}}}}
    if op in ("$select", "$dontSelect"):
        return {key: {op: {"query": {"className": class_name, "where": {"s": value}}, "key": text}}}
    if op == "$relatedTo":
        return {"$relatedTo": {"object": pointer(class_name, text), "key": text}}
    return {key: {op: value}}


@FUZZ_SETTINGS
@given(
    key=st.sampled_from(FUZZ_KEYS),
    op=st.sampled_from(VALUE_OPS),
    text=st.text(max_size=24),
    data=st.data(),
)
def test_where_property_fuzz_values(dataset: Dataset, key: str, op: str, text: str, data: st.DataObject) -> None:
    value = data.draw(fuzz_value(dataset.class_name), label="value")
    where = fuzz_where(key, op, value, text, dataset.class_name)
    note(f"where={json.dumps(where)}")
    resp = dataset.find(where, limit=1000)
    assert_parse_response(resp, f"where={json.dumps(where)}")
    try:
        expected = expected_ids(dataset, where)
    except ParseError:
        assert resp.status_code >= 400, f"evaluator rejects where={json.dumps(where)}, server answered {resp.text}"
        return
    if resp.status_code == 200 and op not in ("$regex", "$options", "$text"):
        got = {r["objectId"] for r in resp.json()["results"]}
        assert got == expected, f"where={json.dumps(where)}: extra {got - expected}, missing {expected - got}"


_NAME = st.one_of(
    st.text(max_size=20),
    st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,8}(\.[A-Za-z0-9_]{1,5}){0,2}", fullmatch=True),
    st.sampled_from(["_rperm", "_hashed_password", "ACL", "a..b", "a.", ".a", "s.", "1a", "a b", "a-b", "a;b"]),
    st.text(alphabet="\"'`;\\$.-_ %\x00()*", max_size=12),
)


@FUZZ_SETTINGS
@given(name=_NAME, shape=st.sampled_from(["eq", "exists", "ne"]))
def test_where_property_fuzz_field_names(dataset: Dataset, name: str, shape: str) -> None:
    assume(name not in KNOWN_OPERATORS)
    value: Any = {"eq": "x", "exists": {"$exists": False}, "ne": {"$ne": "x"}}[shape]
    where = {name: value}
    resp = dataset.find(where, limit=1000)
    context = f"where={json.dumps(where)}"
    assert_parse_response(resp, context)
    try:
        expected = expected_ids(dataset, where)
    except ParseError:
        assert resp.status_code >= 400, f"invalid field name accepted: {context} → {resp.text}"
        return
    if resp.status_code == 200:
        got = {r["objectId"] for r in resp.json()["results"]}
        assert got == expected, f"{context}: extra {got - expected}, missing {expected - got}"


@FUZZ_SETTINGS
@given(name=st.text(max_size=16), top_level=st.booleans(), key=st.sampled_from(["s", "n", "a", "o", "o.x"]))
def test_where_property_fuzz_operator_names(dataset: Dataset, name: str, top_level: bool, key: str) -> None:
    op = "$" + name
    assume(op not in KNOWN_OPERATORS)
    where: dict[str, Any] = {op: [{"s": "a"}]} if top_level else {key: {op: "x"}}
    resp = dataset.find(where, limit=1000)
    context = f"where={json.dumps(where)}"
    assert_parse_response(resp, context)
    assert resp.status_code >= 400, f"unknown operator accepted: {context} → {resp.text}"


@pytest.mark.parametrize(
    "raw",
    ["not json", "[1, 2]", '"s"', "1", "null", '{"s": ', '{"s": {"$in": {"$gt": 1}}}', '{"s": "\\u0000"}'],
)
def test_where_property_malformed(dataset: Dataset, raw: str) -> None:
    """A where that is not a JSON object is a 4xx, never a 5xx (a JSON null is the same as no where)."""
    resp = dataset.find(raw, limit=1000)
    assert_parse_response(resp, f"where={raw!r}")
    if raw not in ("null", '{"s": "\\u0000"}'):
        assert resp.status_code >= 400, f"where={raw!r} accepted: {resp.text}"


def test_where_property_table_intact(dataset: Dataset) -> None:
    """After all the injection attempts the class still holds every row."""
    body = _check(dataset.find({}, count=1, limit=0))
    assert body["count"] == N_ROWS


@pytest.mark.parametrize(
    "text",
    [
        "now",
        "1 day ago",
        "in 2 days",
        "10 years ago",
        "in 10 years",
        "2 weeks 3 days ago",
        "60 yrs ago",
        "1.5 days ago",
        "in 1.5 days",
        "3 h ago",
        "in x days",
        "1 day",
        "nan days ago",
        "1e300 years ago",
    ],
)
def test_relative_time_agreement(dataset: Dataset, text: str) -> None:
    """`$relativeTime` means one thing to the SQL compiler and the evaluator: the same texts are refused (107),
    the same objects match. They once disagreed ("1.5 days ago": accepted by one, refused by the other)."""
    for key in ("d", "createdAt"):
        for op in ("$lt", "$gte"):
            assert_same_results(dataset, {key: {op: {"$relativeTime": text}}})
