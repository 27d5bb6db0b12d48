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


def _user_with_email(api: Api) -> dict:
    user = api.signup()
    r = api.put(f"users/{user['objectId']}", {"email": f"{user['username']}@example.com"}, as_=user["sessionToken"])
    assert r.status_code == 200, r.text
    return {**user, "updatedAt": r.json()["updatedAt"]}


def test_user_updates_own_profile_conditionally(api: Api) -> None:
    alice = _user_with_email(api)
    path = f"users/{alice['objectId']}"
    renamed = unique("renamed")
    newer = api.put(path, {"username": renamed}, as_=alice["sessionToken"]).json()["updatedAt"]
    r = api.put(path, {"username": unique("mine")}, as_=alice["sessionToken"], headers={"If-Match": alice["updatedAt"]})
    assert r.status_code == 409, r.text
    current = r.json()["current"]
    assert (current["objectId"], current["username"], current["updatedAt"]) == (alice["objectId"], renamed, newer)
    assert current["email"] == f"{alice['username']}@example.com"  # their own protected field: theirs to see
    assert "sessionToken" not in current and "authData" not in current
    assert api.get(path).json()["username"] == renamed  # nothing written
    # the same through classes/_User and a batch item's _ifMatch
    r = api.put(
        f"classes/_User/{alice['objectId']}",
        {"username": "x"},
        as_=alice["sessionToken"],
        headers={"If-Match": alice["updatedAt"]},
    )
    assert r.status_code == 409 and r.json()["current"]["username"] == renamed
    item = {"method": "PUT", "path": f"/parse/{path}", "body": {"username": "x", "_ifMatch": alice["updatedAt"]}}
    r = api.post("batch", {"requests": [item]}, as_=alice["sessionToken"])
    assert r.json()[0]["error"]["code"] == 409 and r.json()[0]["error"]["current"]["username"] == renamed
    # based on the current version: written
    mine = unique("mine")
    r = api.put(path, {"username": mine}, as_=alice["sessionToken"], headers={"If-Match": newer})
    assert r.status_code == 200, r.text
    assert api.get(path).json()["username"] == mine


def test_stale_password_change_changes_nothing(api: Api) -> None:
    alice = _user_with_email(api)
    path = f"users/{alice['objectId']}"
    login = {"username": alice["username"], "password": alice["password"]}
    other = api.post("login", login, as_=None).json()["sessionToken"]  # a second device
    newer = api.put(path, {"email": f"new-{alice['username']}@example.com"}, as_=alice["sessionToken"])
    assert newer.status_code == 200, newer.text
    r = api.put(
        path, {"password": "new-pw-654321"}, as_=alice["sessionToken"], headers={"If-Match": alice["updatedAt"]}
    )
    assert r.status_code == 409, r.text
    assert "sessionToken" not in r.json() and "sessionToken" not in r.json()["current"]
    assert r.json()["current"]["updatedAt"] == newer.json()["updatedAt"]
    # no hash written: the old password still logs in, the new one does not
    assert api.post("login", login, as_=None).status_code == 200
    wrong = api.post("login", {**login, "password": "new-pw-654321"}, as_=None)
    assert wrong.status_code == 404 and wrong.json()["code"] == 101
    # no session revoked: the other device and this one are still signed in
    for token in (other, alice["sessionToken"]):
        me = api.get("users/me", as_=token)
        assert me.status_code == 200 and me.json()["objectId"] == alice["objectId"]
    # on the current version the change goes through, and ends the other device's session as an unconditional one
    r = api.put(
        path, {"password": "new-pw-654321"}, as_=alice["sessionToken"], headers={"If-Match": newer.json()["updatedAt"]}
    )
    assert r.status_code == 200, r.text
    assert api.post("login", {**login, "password": "new-pw-654321"}, as_=None).status_code == 200
    assert api.get("users/me", as_=other).status_code != 200


def test_master_key_stale_user_write_is_409(api: Api) -> None:
    ident = unique("anon")
    made = api.post("users", {"authData": {"anonymous": {"id": ident}}}, as_=None)
    assert made.status_code == 201, made.text
    uid = made.json()["objectId"]
    first = api.get(f"users/{uid}").json()["updatedAt"]
    newer = api.put(f"users/{uid}", {"email": f"{ident}@example.com"}).json()["updatedAt"]
    r = api.put(f"users/{uid}", {"email": "x@example.com"}, headers={"If-Match": first})
    assert r.status_code == 409, r.text
    current = r.json()["current"]
    assert current["updatedAt"] == newer and current["email"] == f"{ident}@example.com"
    assert "authData" not in current and "sessionToken" not in current  # credentials: never in a refusal
    r = api.delete(f"users/{uid}", headers={"If-Match": first})
    assert r.status_code == 409 and r.json()["current"]["objectId"] == uid
    assert api.get(f"users/{uid}").status_code == 200
    assert api.delete(f"users/{uid}", headers={"If-Match": newer}).status_code == 200
    assert api.get(f"users/{uid}").status_code == 404


def test_user_deletes_own_account_conditionally(api: Api) -> None:
    alice = _user_with_email(api)
    path = f"users/{alice['objectId']}"
    newer = api.put(path, {"username": unique("renamed")}, as_=alice["sessionToken"]).json()["updatedAt"]
    r = api.delete(path, as_=alice["sessionToken"], headers={"If-Match": alice["updatedAt"]})
    assert r.status_code == 409 and r.json()["current"]["updatedAt"] == newer
    assert api.get(path).status_code == 200
    assert api.delete(path, as_=alice["sessionToken"], headers={"If-Match": newer}).status_code == 200
    assert api.get(path).status_code == 404


def test_who_may_not_write_a_user_gets_the_same_refusal_with_a_version(api: Api) -> None:
    alice, bob = _user_with_email(api), api.signup()
    path = f"users/{alice['objectId']}"
    stale = "2000-01-01T00:00:00.000Z"
    for as_ in (bob["sessionToken"], None):
        for send in (
            lambda h, a=as_: api.put(path, {"username": "taken-over"}, as_=a, headers=h),
            lambda h, a=as_: api.delete(path, as_=a, headers=h),
        ):
            plain, stale_one, current_one = (
                send(None),
                send({"If-Match": stale}),
                send({"If-Match": alice["updatedAt"]}),
            )
            assert plain.status_code != 200, plain.text
            for r in (stale_one, current_one):
                assert (r.status_code, r.json()) == (plain.status_code, plain.json())
                assert "current" not in r.json()
    assert api.get(path).json()["username"] == alice["username"]
