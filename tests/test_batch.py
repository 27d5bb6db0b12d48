"""/batch: aligned results, per-item errors, and all-or-nothing transactions."""

from __future__ import annotations

from conftest import Api, unique


def test_batch_results_align_with_requests(api: Api) -> None:
    cls = unique("B")
    oid = api.post(f"classes/{cls}", {"n": 1}).json()["objectId"]
    r = api.post(
        "batch",
        {
            "requests": [
                {"method": "POST", "path": f"/parse/classes/{cls}", "body": {"n": 2}},
                {
                    "method": "PUT",
                    "path": f"/parse/classes/{cls}/{oid}",
                    "body": {"n": {"__op": "Increment", "amount": 10}},
                },
                {"method": "POST", "path": f"/parse/classes/{cls}", "body": {"n": "not a number"}},
                {"method": "DELETE", "path": f"/parse/classes/{cls}/missingid1"},
                {"method": "GET", "path": f"/parse/classes/{cls}/{oid}"},
                ]
        },
    )
    assert r.status_code == 200
    out = r.json()
    assert "objectId" in out[0]["success"]
    assert out[1]["success"]["n"] == 11
    assert out[2]["error"]["code"] == 111
    assert out[3]["error"] == {"code": 101, "error": "Object not found."}
    assert out[4]["success"]["n"] == 11
    assert api.get(f"classes/{cls}", params={"count": 1, "limit": 0}).json()["count"] == 2


def test_transaction_rolls_back_everything(api: Api) -> None:
    cls = unique("Tx")
    api.post(f"classes/{cls}", {"n": 0})
    r = api.post(
        "batch",
        {
            "transaction": True,
            "requests": [
                {"method": "POST", "path": f"/parse/classes/{cls}", "body": {"n": 1}},
                {"method": "POST", "path": f"/parse/classes/{cls}", "body": {"n": 2}},
                {"method": "POST", "path": f"/parse/classes/{cls}", "body": {"n": "three"}},
            ],
        },
    )
    assert r.status_code == 400 and r.json()["code"] == 111  # deterministic: never a 5xx the SDK would retry
    assert api.get(f"classes/{cls}", params={"count": 1, "limit": 0}).json()["count"] == 1
    r = api.post(
        "batch",
        {
            "transaction": True,
            "requests": [{"method": "POST", "path": f"/parse/classes/{cls}", "body": {"n": i}} for i in range(5)],
        },
    )
    assert r.status_code == 200 and all("success" in x for x in r.json())
    assert api.get(f"classes/{cls}", params={"count": 1, "limit": 0}).json()["count"] == 6


def test_malformed_items_fail_the_whole_batch(api: Api) -> None:
    cls = unique("Bad")
    for item in ({"method": "POST", "path": "/parse/batch", "body": {"requests": []}},
                 {"method": "POST", "path": f"/classes/{cls}", "body": {}},
                 {"method": "PATCH", "path": f"/parse/classes/{cls}"}):
        r = api.post("batch", {"requests": [{"method": "POST", "path": f"/parse/classes/{cls}", "body": {}}, item]})
        assert (r.status_code, r.json()["code"]) == (400, 107)
    assert api.get(f"classes/{cls}", params={"count": 1, "limit": 0}).json().get("count", 0) == 0


def test_a_batch_that_creates_a_class_reads_it(api: Api) -> None:
    """Reads and writes take the same transaction: a read inside a batch sees the class the batch just created
    (it used to consult the committed schema cache and answer [])."""
    cls = unique("Fresh")
    r = api.post("batch", {"requests": [
        {"method": "POST", "path": f"/parse/classes/{cls}", "body": {"n": 1}},
        {"method": "GET", "path": f"/parse/classes/{cls}", "body": {"where": {"n": 1}}},
        {"method": "GET", "path": f"/parse/classes/{cls}?count=1&limit=0"},
    ]})
    assert r.status_code == 200, r.text
    created, found, counted = r.json()
    oid = created["success"]["objectId"]
    assert [o["objectId"] for o in found["success"]["results"]] == [oid]
    assert counted["success"]["count"] == 1
