"""`Deal.assignedTo` and what follows it (issue 8, items 5 and 8).

Before: `assignedTo` went straight into the ACL, so `{"objectId": "*"}` made a deal (and its activities) public,
`"role:Admins"` gave it to a role, an unknown id to no one; and a reassigned deal's stage history stayed readable
by the previous assignee, contradicting the README.
"""

from __future__ import annotations

from typing import Any

import pytest

from conftest import Api, unique


def ptr(cls: str, oid: str) -> dict[str, str]:
    return {"__type": "Pointer", "className": cls, "objectId": oid}


@pytest.fixture(scope="module")
def reps(api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    return api.signup(unique("as_a")), api.signup(unique("as_b"))


@pytest.mark.parametrize(
    ("target", "code"),
    [
        (ptr("_User", "*"), 142),
        (ptr("_User", "role:Admins"), 142),
        (ptr("_User", "role:Managers"), 142),
        (ptr("_User", "noSuchUser"), 142),
        (ptr("_Role", "whatever"), 111),
        ("alice", 111),
    ],
)
@pytest.mark.parametrize("how", ["create", "update", "batch"])
def test_only_existing_users_can_be_assigned(
    api: Api, reps: tuple[dict[str, Any], dict[str, Any]], target: Any, code: int, how: str
) -> None:
    a, b = reps
    token = a["sessionToken"]
    if how == "create":
        r = api.post("classes/Deal", {"title": "t", "assignedTo": target}, as_=token)
        assert (r.status_code, r.json()["code"]) == (400, code), r.text
    else:
        deal = api.post("classes/Deal", {"title": "t"}, as_=token).json()["objectId"]
        if how == "update":
            r = api.put(f"classes/Deal/{deal}", {"assignedTo": target}, as_=token)
            assert (r.status_code, r.json()["code"]) == (400, code), r.text
        else:
            item = {"method": "PUT", "path": f"/parse/classes/Deal/{deal}", "body": {"assignedTo": target}}
            assert api.post("batch", {"requests": [item]}, as_=token).json()[0]["error"]["code"] == code
        assert api.get(f"classes/Deal/{deal}", as_=b["sessionToken"]).status_code == 404
        acl = api.get(f"classes/Deal/{deal}").json()["ACL"]
        assert set(acl) == {a["objectId"], "role:Managers"}
    assert not [d for d in api.get("classes/Deal", as_=b["sessionToken"]).json()["results"] if d["title"] == "t"]


def test_a_real_colleague_can_be_assigned_and_activities_follow(
    api: Api, reps: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    a, b = reps
    deal = api.post(
        "classes/Deal", {"title": "handover", "assignedTo": ptr("_User", b["objectId"])}, as_=a["sessionToken"]
    )
    assert deal.status_code == 201, deal.text
    oid = deal.json()["objectId"]
    assert api.get(f"classes/Deal/{oid}", as_=b["sessionToken"]).status_code == 200
    activity = api.post("classes/Activity", {"type": "call", "relatedTo": ptr("Deal", oid)}, as_=a["sessionToken"])
    assert api.get(f"classes/Activity/{activity.json()['objectId']}", as_=b["sessionToken"]).status_code == 200


def test_reassignment_takes_the_stage_history_along(api: Api, reps: tuple[dict[str, Any], dict[str, Any]]) -> None:
    """README: 'Reassigning a deal moves its access with it: the previous assignee loses it.' — its history too."""
    a, b = reps
    manager_deal = api.post("classes/Deal", {"title": "moving", "assignedTo": ptr("_User", a["objectId"])}).json()
    oid = manager_deal["objectId"]
    assert api.put(f"classes/Deal/{oid}", {"stage": "qualified"}).status_code == 200
    where = {"deal": ptr("Deal", oid)}

    def history(token: str) -> list[str]:
        rows = api.get("classes/DealStageChange", params={"where": where}, as_=token).json()["results"]
        return sorted(r["to"] for r in rows)

    assert history(a["sessionToken"]) == ["lead", "qualified"]
    assert api.put(f"classes/Deal/{oid}", {"assignedTo": ptr("_User", b["objectId"])}).status_code == 200
    assert history(a["sessionToken"]) == []
    assert history(b["sessionToken"]) == ["lead", "qualified"]
    assert api.get(f"classes/Deal/{oid}", as_=a["sessionToken"]).status_code == 404
