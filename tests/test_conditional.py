"""Conditional updates (If-Match / `_ifMatch`): a write based on an old version is refused with 409 and the
current state, over REST and /batch, and two writers racing on one version cannot both win."""

from __future__ import annotations

import concurrent.futures
import uuid

from conftest import Api, unique

OPEN = {op: {"*": True} for op in ("find", "get", "count", "create", "update", "delete", "addField")}


def _deal(api: Api, cls: str, **fields: object) -> dict:
    r = api.post(f"classes/{cls}", {"name": "A", "amount": 1, **fields})
    assert r.status_code == 201, r.text
    return api.get(f"classes/{cls}/{r.json()['objectId']}").json()


def test_matching_version_updates(api: Api) -> None:
    cls = unique("Cond")
    obj = _deal(api, cls)
    r = api.put(f"classes/{cls}/{obj['objectId']}", {"name": "B"}, headers={"If-Match": obj["updatedAt"]})
    assert r.status_code == 200, r.text
    assert api.get(f"classes/{cls}/{obj['objectId']}").json()["name"] == "B"


def test_stale_header_is_refused_with_current_state(api: Api) -> None:
    cls = unique("Cond")
    obj = _deal(api, cls)
    path = f"classes/{cls}/{obj['objectId']}"
    newer = api.put(path, {"name": "theirs"}).json()["updatedAt"]
    r = api.put(path, {"name": "mine", "amount": 5}, headers={"If-Match": obj["updatedAt"]})
    assert r.status_code == 409
    body = r.json()
    assert body["code"] == 409 and "changed" in body["error"]
    assert body["current"]["name"] == "theirs" and body["current"]["updatedAt"] == newer
    assert body["current"]["amount"] == 1  # nothing of the refused write landed
    again = api.put(path, {"name": "mine"}, headers={"If-Match": f'"{newer}"'})  # a quoted entity tag works too
    assert again.status_code == 200, again.text


def test_body_form_and_js_sdk_envelope(api: Api) -> None:
    cls = unique("Cond")
    obj = _deal(api, cls)
    path = f"classes/{cls}/{obj['objectId']}"
    api.put(path, {"name": "theirs"})
    r = api.put(path, {"name": "mine", "_ifMatch": obj["updatedAt"]})
    assert r.status_code == 409 and r.json()["current"]["name"] == "theirs"
    assert "_ifMatch" not in api.get(path).json()


def test_current_state_is_what_the_caller_may_read(api: Api) -> None:
    cls = unique("Cond")
    alice = api.signup()
    uid = alice["objectId"]
    acl = {uid: {"read": True, "write": True}}
    r = api.post(f"classes/{cls}", {"name": "A", "secret": "s", "ACL": acl}, as_=alice["sessionToken"])
    oid = r.json()["objectId"]
    first = api.get(f"classes/{cls}/{oid}", as_=alice["sessionToken"]).json()
    api.put(f"schemas/{cls}", {"classLevelPermissions": {**OPEN, "protectedFields": {"*": ["secret"]}}})
    api.put(f"classes/{cls}/{oid}", {"name": "B"})
    r = api.put(
        f"classes/{cls}/{oid}", {"name": "C"}, as_=alice["sessionToken"], headers={"If-Match": first["updatedAt"]}
    )
    assert r.status_code == 409, r.text
    assert r.json()["current"]["name"] == "B" and "secret" not in r.json()["current"]
    # a caller who may not see the object learns nothing: 404, as without If-Match
    bob = api.signup()
    r = api.put(
        f"classes/{cls}/{oid}", {"name": "D"}, as_=bob["sessionToken"], headers={"If-Match": first["updatedAt"]}
    )
    assert r.status_code == 404 and "current" not in r.json()


def test_malformed_version_is_107(api: Api) -> None:
    cls = unique("Cond")
    obj = _deal(api, cls)
    r = api.put(f"classes/{cls}/{obj['objectId']}", {"name": "B"}, headers={"If-Match": "yesterday"})
    assert r.status_code == 400 and r.json()["code"] == 107


def test_conditional_delete(api: Api) -> None:
    cls = unique("Cond")
    obj = _deal(api, cls)
    path = f"classes/{cls}/{obj['objectId']}"
    api.put(path, {"name": "theirs"})
    r = api.delete(path, headers={"If-Match": obj["updatedAt"]})
    assert r.status_code == 409 and r.json()["current"]["name"] == "theirs"
    assert api.get(path).status_code == 200
    r = api.delete(path, headers={"If-Match": r.json()["current"]["updatedAt"]})
    assert r.status_code == 200 and api.get(path).status_code == 404


def test_batch_items_are_checked_one_by_one(api: Api) -> None:
    cls = unique("Cond")
    a, b = _deal(api, cls), _deal(api, cls)
    api.put(f"classes/{cls}/{b['objectId']}", {"name": "theirs"})
    base = f"/parse/classes/{cls}/"
    r = api.post(
        "batch",
        {
            "requests": [
                {"method": "PUT", "path": base + a["objectId"], "body": {"name": "A2", "_ifMatch": a["updatedAt"]}},
                {"method": "PUT", "path": base + b["objectId"], "body": {"name": "B2", "_ifMatch": b["updatedAt"]}},
            ]
        },
    )
    assert r.status_code == 200
    first, second = r.json()
    assert "success" in first
    assert second["error"]["code"] == 409 and second["error"]["current"]["name"] == "theirs"
    assert api.get(f"classes/{cls}/{a['objectId']}").json()["name"] == "A2"
    assert api.get(f"classes/{cls}/{b['objectId']}").json()["name"] == "theirs"


def test_transactional_batch_fails_whole(api: Api) -> None:
    cls = unique("Cond")
    a, b = _deal(api, cls), _deal(api, cls)
    api.put(f"classes/{cls}/{b['objectId']}", {"name": "theirs"})
    base = f"/parse/classes/{cls}/"
    r = api.post(
        "batch",
        {
            "transaction": True,
            "requests": [
                {"method": "PUT", "path": base + a["objectId"], "body": {"name": "A2", "_ifMatch": a["updatedAt"]}},
                {"method": "PUT", "path": base + b["objectId"], "body": {"name": "B2", "_ifMatch": b["updatedAt"]}},
            ],
        },
    )
    assert r.json()["code"] == 409
    assert api.get(f"classes/{cls}/{a['objectId']}").json()["name"] == "A"


def test_race_on_one_version_has_one_winner(api: Api) -> None:
    cls = unique("Cond")
    obj = _deal(api, cls)
    path = f"classes/{cls}/{obj['objectId']}"

    def write(n: int):
        return api.put(
            path,
            {"name": f"w{n}", "amount": {"__op": "Increment", "amount": 1}},
            headers={"If-Match": obj["updatedAt"]},
        )

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        results = list(pool.map(write, range(6)))
    winners = [r for r in results if r.status_code == 200]
    assert len(winners) == 1, [r.text for r in results]
    assert all(r.status_code == 409 for r in results if r not in winners)
    assert api.get(path).json()["amount"] == 2  # exactly one increment landed


def test_retry_with_request_id_replays_success_not_conflict(api: Api) -> None:
    cls = unique("Cond")
    obj = _deal(api, cls)
    path = f"classes/{cls}/{obj['objectId']}"
    h = {"If-Match": obj["updatedAt"], "X-Parse-Request-Id": str(uuid.uuid4())}
    first = api.put(path, {"name": "B"}, headers=h)
    second = api.put(path, {"name": "B"}, headers=h)  # a retry after a lost answer: the first answer again
    assert first.status_code == second.status_code == 200 and first.json() == second.json()


def test_users_refuse_conditions_instead_of_ignoring_them(api: Api) -> None:
    alice = api.signup()
    r = api.put(
        f"users/{alice['objectId']}",
        {"city": "Oslo"},
        as_=alice["sessionToken"],
        headers={"If-Match": alice["createdAt"]},
    )
    assert r.status_code == 400 and r.json()["code"] == 107
