"""Cloud Code loaded from a deployment module (PARSE_CLOUD): functions, hooks, their errors and effects."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import Api, Server, unique

HOOKS = Path(__file__).resolve().parent / "fixtures" / "cloud_hooks.py"


@pytest.fixture(scope="module")
def cloud_api(make_server: Callable[..., Server]) -> Api:
    return Api(make_server({"PARSE_CLOUD": str(HOOKS)}))


def test_functions(cloud_api: Api) -> None:
    user = cloud_api.signup(unique("fn"))
    r = cloud_api.post(
        "functions/hello",
        {"x": 1, "when": {"__type": "Date", "iso": "2025-01-01T00:00:00.000Z"}},
        as_=user["sessionToken"],
    )
    assert r.json() == {
        "result": {
            "hello": user["username"],
            "master": False,
            "params": {"x": 1, "when": {"__type": "Date", "iso": "2025-01-01T00:00:00.000Z"}},
        }
    }
    assert cloud_api.post("functions/hello", {}, as_=None).json()["result"]["hello"] == "stranger"
    assert cloud_api.post("functions/explode", {}).json() == {"code": 141, "error": "plain python error"}
    assert cloud_api.post("functions/refuse", {}).json() == {"code": 142, "error": "not today"}
    assert cloud_api.post("functions/nope", {}).json() == {"code": 141, "error": 'Invalid function: "nope"'}


def test_save_hooks(cloud_api: Api) -> None:
    r = cloud_api.post("classes/Note", {"text": "hi"}, headers={"X-Parse-Cloud-Context": '{"origin": "test"}'})
    assert r.status_code == 201
    body = r.json()
    assert body["stamped"] is True and body["seenContext"] == "test"  # hook edits are echoed
    oid = body["objectId"]
    r = cloud_api.put(f"classes/Note/{oid}", {"text": "changed"})
    assert r.json()["previous"] == "hi"
    assert cloud_api.post("classes/Note", {"text": "forbidden"}).json() == {"code": 142, "error": "no forbidden notes"}
    assert cloud_api.post("classes/Note", {"text": "crash"}).json() == {"code": 141, "error": "boom"}


def test_nested_increment_through_a_before_save_hook(cloud_api: Api) -> None:
    # the hooked path computes the result under the row lock; the hook sees it and it is what gets stored
    oid = cloud_api.post("classes/Note", {"text": "n", "stats": {"views": 1, "keep": "k"}}).json()["objectId"]
    inc = {"__op": "Increment", "amount": 2}
    r = cloud_api.put(f"classes/Note/{oid}", {"stats.views": inc, "stats.deep.hits": inc})
    assert r.status_code == 200, r.text
    want = {"views": 3, "keep": "k", "deep": {"hits": 2}}
    assert r.json()["stats"] == want and r.json()["previous"] == "n"
    assert cloud_api.get(f"classes/Note/{oid}").json()["stats"] == want


def test_find_hooks(cloud_api: Api) -> None:
    cloud_api.post("classes/Note", {"text": "secret"})
    found = cloud_api.get("classes/Note", params={"limit": 1000}).json()["results"]
    assert found and all(n["text"] != "secret" for n in found)
    assert all(n.get("decorated") is True for n in found)


def test_delete_hook(cloud_api: Api) -> None:
    oid = cloud_api.post("classes/Note", {"text": "keep", "pinned": True}).json()["objectId"]
    assert cloud_api.delete(f"classes/Note/{oid}").json() == {"code": 142, "error": "pinned notes stay"}
    assert cloud_api.get(f"classes/Note/{oid}").status_code == 200


def test_after_login_runs_once_per_log_in_with_the_session_for_passwords_and_auth_data(cloud_api: Api) -> None:
    """afterLogin (one hook path for both kinds of log-in) sees the user with the new session, after commit; a
    refused log-in (beforeLogin) runs no afterLogin."""

    def seen(user_id: str) -> list[dict[str, Any]]:
        every = cloud_api.get("classes/LoginSeen", {"limit": 1000}, as_="master").json().get("results", [])
        return [s for s in every if s["user"] == user_id]

    user = cloud_api.signup(unique("seen"))
    assert seen(user["objectId"]) == []  # a sign-up is not a log-in
    r = cloud_api.post("login", {"username": user["username"], "password": user["password"]}, as_=None)
    assert r.status_code == 200, r.text
    assert [s["withSession"] for s in seen(user["objectId"])] == [True]

    anon = {"authData": {"anonymous": {"id": unique("anon")}}}
    first = cloud_api.post("users", anon, as_=None).json()  # creates the user: a sign-up, no afterLogin
    assert seen(first["objectId"]) == []
    again = cloud_api.post("users", anon, as_=None)  # the same credentials: a log-in of that user
    assert again.status_code == 200 and again.json()["objectId"] == first["objectId"], again.text
    assert [s["withSession"] for s in seen(first["objectId"])] == [True]

    banned = cloud_api.signup(unique("banned"))
    cloud_api.put(f"users/{banned['objectId']}", {"banned": True}, as_="master")
    refused = cloud_api.post("login", {"username": banned["username"], "password": banned["password"]}, as_=None)
    assert refused.json()["code"] == 101
    assert seen(banned["objectId"]) == []


def test_login_hook_and_queries_as_user(cloud_api: Api) -> None:
    user = cloud_api.signup(unique("banned"))
    cloud_api.put(f"users/{user['objectId']}", {"banned": True}, as_="master")
    r = cloud_api.post("login", {"username": user["username"], "password": user["password"]}, as_=None)
    assert r.json() == {"code": 101, "error": "banned"}
    other = cloud_api.signup(unique("cnt"))
    token = other["sessionToken"]
    mine: dict[str, Any] = {"text": "mine", "ACL": {other["objectId"]: {"read": True, "write": True}}}
    cloud_api.post("classes/Note", mine, as_=token)
    cloud_api.post("classes/Note", {"text": "private", "ACL": {}})
    everyone = cloud_api.post("functions/countMine", {}).json()["result"]
    assert cloud_api.post("functions/countMine", {}, as_=token).json()["result"] < everyone


def test_unexpected_failure_in_a_batch_item_is_logged(cloud_api: Api) -> None:
    """Issue 9: an unexpected exception inside one batch item answers that item with code 1, lets the other items
    commit, and leaves its traceback in the server log with the item it came from."""
    mount = "/parse"
    r = cloud_api.post(
        "batch",
        {
            "requests": [
                {"method": "POST", "path": f"{mount}/classes/Note", "body": {"text": "fine"}},
                {"method": "POST", "path": f"{mount}/classes/Broken", "body": {"x": 1}},
            ]
        },
    )
    assert r.status_code == 200
    first, second = r.json()
    assert "objectId" in first["success"]
    assert second == {"error": {"code": 1, "error": "Internal server error."}}
    log = cloud_api.server.log()
    assert "batch item 1: POST /classes/Broken" in log
    assert "Traceback" in log and "UndefinedTableError" in log


def test_crm_cascades_go_through_the_hooks(cloud_api: Api) -> None:
    """Issue 9: deleting a contact with {"cascade": true} deletes its activities through the one path, so their
    delete hooks fire (the CRM's rules used to delete them with raw SQL)."""
    rep = cloud_api.signup(unique("casc"))
    token = rep["sessionToken"]
    contact = cloud_api.post("classes/Contact", {"name": "Ann"}, as_=token).json()["objectId"]
    pointer = {"__type": "Pointer", "className": "Contact", "objectId": contact}
    activities = [
        cloud_api.post("classes/Activity", {"type": "call", "relatedTo": pointer}, as_=token).json()["objectId"]
        for _ in range(2)
    ]
    r = cloud_api.delete(
        f"classes/Contact/{contact}", as_=token, headers={"X-Parse-Cloud-Context": '{"cascade": true}'}
    )
    assert r.status_code == 200, r.text
    deleted = cloud_api.post("functions/deletedActivities", {}).json()["result"]
    assert set(activities) <= set(deleted)
