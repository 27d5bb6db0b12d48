"""Every CRM rule, its acceptance and its rejection, through the REST API as a signed-in rep."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import Api, unique


def ptr(cls: str, oid: str) -> dict[str, str]:
    return {"__type": "Pointer", "className": cls, "objectId": oid}


@pytest.fixture(scope="module")
def rep(api: Api) -> dict[str, Any]:
    return api.signup(unique("rep"))


def create(api: Api, rep: dict[str, Any], cls: str, body: dict[str, Any]) -> Any:
    return api.post(f"classes/{cls}", body, as_=rep["sessionToken"])


@pytest.mark.parametrize(
    ("cls", "body", "message"),
    [
        ("Company", {"website": "x.com"}, "Company name is required"),
        ("Company", {"name": "   "}, "Company name is required"),
        ("Contact", {"email": "a@b.co"}, "Contact name is required"),
        ("Deal", {"amount": 5}, "Deal title is required"),
        (
            "Deal",
            {"title": "t", "stage": "maybe"},
            "stage must be one of lead, qualified, proposal, negotiation, won, lost",
        ),
        ("Deal", {"title": "t", "amount": -1}, "amount must be zero or more"),
        ("Activity", {"subject": "s"}, "Activity.type is required: one of call, email, meeting, note"),
        ("Activity", {"type": "fax"}, "Activity.type must be one of call, email, meeting, note"),
    ],
)
def test_validation_rejections(api: Api, rep: dict[str, Any], cls: str, body: dict[str, Any], message: str) -> None:
    r = create(api, rep, cls, body)
    assert (r.status_code, r.json()) == (400, {"code": 142, "error": message})


def test_deal_defaults(api: Api, rep: dict[str, Any]) -> None:
    r = create(api, rep, "Deal", {"title": " Trimmed "})
    body = r.json()
    assert body["stage"] == "lead" and body["title"] == "Trimmed"
    me = ptr("_User", rep["objectId"])
    assert body["createdBy"] == me and body["assignedTo"] == me
    got = api.get(f"classes/Deal/{body['objectId']}", as_=rep["sessionToken"]).json()
    assert got["ACL"] == {
        rep["objectId"]: {"read": True, "write": True},
        "role:Managers": {"read": True, "write": True},
    }


def test_email_and_website_normalised(api: Api, rep: dict[str, Any]) -> None:
    r = create(api, rep, "Contact", {"name": "Ann", "email": "  Ann.Lee@Example.COM "})
    assert r.json()["email"] == "ann.lee@example.com"
    assert create(api, rep, "Contact", {"name": "Bad", "email": "not-an-email"}).json()["code"] == 125
    r = create(api, rep, "Company", {"name": "Acme", "website": "WWW.Acme.com/"})
    assert r.json()["website"] == "https://www.acme.com"
    assert create(api, rep, "Company", {"name": "Acme", "website": "nonsense"}).json()["code"] == 142


def test_related_to_must_be_readable(api: Api, rep: dict[str, Any]) -> None:
    other = api.signup(unique("other"))
    theirs = create(api, other, "Deal", {"title": "Theirs"}).json()["objectId"]
    r = create(api, rep, "Activity", {"type": "call", "relatedTo": ptr("Deal", theirs)})
    assert r.json()["code"] == 142 and "relatedTo" in r.json()["error"]
    company = create(api, rep, "Company", {"name": "C"}).json()["objectId"]
    r = create(api, rep, "Activity", {"type": "call", "relatedTo": ptr("Company", company)})
    assert r.json()["code"] == 111  # relatedTo is a Pointer to Contact or Deal only
    mine = create(api, rep, "Contact", {"name": "Mine"}).json()["objectId"]
    assert create(api, rep, "Activity", {"type": "note", "relatedTo": ptr("Contact", mine)}).status_code == 201


def test_done_sets_completed_at(api: Api, rep: dict[str, Any]) -> None:
    token = rep["sessionToken"]
    oid = create(api, rep, "Activity", {"type": "meeting"}).json()["objectId"]
    r = api.put(f"classes/Activity/{oid}", {"done": True}, as_=token).json()
    assert r["completedAt"]["__type"] == "Date"
    r = api.put(f"classes/Activity/{oid}", {"done": False}, as_=token).json()
    assert r["completedAt"] == {"__op": "Delete"}
    assert "completedAt" not in api.get(f"classes/Activity/{oid}", as_=token).json()


def test_stage_changes_are_recorded(api: Api, rep: dict[str, Any]) -> None:
    token = rep["sessionToken"]
    deal = create(api, rep, "Deal", {"title": "Journey"}).json()["objectId"]
    for stage in ("qualified", "proposal", "won"):
        assert api.put(f"classes/Deal/{deal}", {"stage": stage}, as_=token).status_code == 200
    api.put(f"classes/Deal/{deal}", {"amount": 3}, as_=token)  # not a stage change
    history = api.get(
        "classes/DealStageChange", params={"where": {"deal": ptr("Deal", deal)}, "order": "changedAt"}, as_=token
    ).json()["results"]
    assert [(h.get("from"), h["to"]) for h in history] == [
        (None, "lead"),
        ("lead", "qualified"),
        ("qualified", "proposal"),
        ("proposal", "won"),
    ]
    assert all(h["changedBy"]["objectId"] == rep["objectId"] for h in history)
    r = api.post("classes/DealStageChange", {"to": "won"}, as_=token)
    assert r.json()["code"] == 119  # history is written by the server only


def test_deleting_and_what_points_at_it(api: Api, rep: dict[str, Any]) -> None:
    token = rep["sessionToken"]
    company = create(api, rep, "Company", {"name": "Gone Inc"}).json()["objectId"]
    contact = create(api, rep, "Contact", {"name": "Kept", "company": ptr("Company", company)}).json()["objectId"]
    deal = create(
        api, rep, "Deal", {"title": "Kept deal", "company": ptr("Company", company), "contact": ptr("Contact", contact)}
    ).json()["objectId"]
    create(api, rep, "Activity", {"type": "call", "relatedTo": ptr("Deal", deal)})
    assert api.delete(f"classes/Company/{company}", as_=token).status_code == 200
    assert "company" not in api.get(f"classes/Contact/{contact}", as_=token).json()
    assert "company" not in api.get(f"classes/Deal/{deal}", as_=token).json()
    r = api.delete(f"classes/Deal/{deal}", as_=token)
    assert r.json()["code"] == 142 and "1 activity" in r.json()["error"]
    r = api.delete(f"classes/Deal/{deal}", as_=token, headers={"X-Parse-Cloud-Context": '{"cascade": true}'})
    assert r.status_code == 200
    left = api.get("classes/Activity", params={"where": {"relatedTo": ptr("Deal", deal)}}, as_=token).json()
    assert left["results"] == []
    assert api.delete(f"classes/Contact/{contact}", as_=token).status_code == 200


def test_pipeline_summary_respects_permissions(api: Api) -> None:
    a, b = api.signup(unique("pa")), api.signup(unique("pb"))
    for stage, amount in (("lead", 100), ("proposal", 200), ("won", 300), ("lost", 50)):
        create(api, a, "Deal", {"title": stage, "stage": stage, "amount": amount})
    create(api, b, "Deal", {"title": "b", "stage": "won", "amount": 1000})
    summary = api.post("functions/pipelineSummary", {}, as_=a["sessionToken"]).json()["result"]
    by_stage = {s["stage"]: s for s in summary["stages"]}
    assert by_stage["lead"]["count"] == 1 and by_stage["lead"]["weightedAmount"] == 10
    assert by_stage["won"]["amount"] == 300  # b's deal is not counted
    assert summary["winRate"] == 0.5 and summary["openAmount"] == 300
    assert api.post("functions/pipelineSummary", {}, as_=None).json()["code"] == 101


def test_seed_snippet_queries(api: Api, rep: dict[str, Any]) -> None:
    token = rep["sessionToken"]
    contact = create(api, rep, "Contact", {"name": "Listed"}).json()["objectId"]
    for i, day in enumerate(("2025-03-01", "2025-01-01", "2025-02-01")):
        create(
            api,
            rep,
            "Deal",
            {
                "title": f"q{i}",
                "stage": "qualified",
                "expectedCloseDate": {"__type": "Date", "iso": f"{day}T00:00:00.000Z"},
            },
        )
    got = api.get(
        "classes/Deal", params={"where": {"stage": "qualified"}, "order": "expectedCloseDate"}, as_=token
    ).json()["results"]
    dates = [d["expectedCloseDate"]["iso"][:10] for d in got if d["title"].startswith("q")]
    assert dates == sorted(dates) and len(dates) == 3
    create(api, rep, "Activity", {"type": "email", "relatedTo": ptr("Contact", contact)})
    acts = api.get("classes/Activity", params={"where": {"relatedTo": ptr("Contact", contact)}}, as_=token).json()
    assert len(acts["results"]) == 1


def test_types_are_checked_before_the_rules_see_values(api: Api, rep: dict[str, Any]) -> None:
    """Issue 8 item 9: a wrongly typed value is 111 from the schema, never a rule's TypeError (141)."""
    r = create(api, rep, "Deal", {"title": "t", "amount": "lots"})
    assert r.status_code == 400 and r.json()["code"] == 111, r.text
    deal = create(api, rep, "Deal", {"title": "t"}).json()["objectId"]
    r = api.put(f"classes/Deal/{deal}", {"amount": "lots"}, as_=rep["sessionToken"])
    assert r.status_code == 400 and r.json()["code"] == 111, r.text


def test_cascades_respect_what_the_caller_cannot_see(api: Api, rep: dict[str, Any]) -> None:
    """Issue 8 item 7: a manager's activity on a rep's contact is invisible to the rep; deleting the contact must
    neither delete it nor reveal it (no count, no content): 142, ask a manager."""
    manager = api.signup(unique("mgr"))
    role = api.get("roles", params={"where": {"name": "Managers"}}).json()["results"][0]["objectId"]
    api.put(f"roles/{role}", {"users": {"__op": "AddRelation", "objects": [ptr("_User", manager["objectId"])]}})
    contact = create(api, rep, "Contact", {"name": "Bea"}).json()["objectId"]
    mine = create(api, rep, "Activity", {"type": "note", "relatedTo": ptr("Contact", contact)}).json()["objectId"]
    theirs = api.post(
        "classes/Activity", {"type": "call", "relatedTo": ptr("Contact", contact)}, as_=manager["sessionToken"]
    ).json()["objectId"]
    assert api.get(f"classes/Activity/{theirs}", as_=rep["sessionToken"]).status_code == 404
    for context in ("{}", '{"cascade": true}'):
        r = api.delete(
            f"classes/Contact/{contact}", as_=rep["sessionToken"], headers={"X-Parse-Cloud-Context": context}
        )
        assert (r.status_code, r.json()["code"]) == (400, 142), r.text
        assert "ask a manager" in r.json()["error"] and "2" not in r.json()["error"]
    assert api.get(f"classes/Activity/{theirs}").status_code == 200
    assert api.get(f"classes/Activity/{mine}").status_code == 200
    # the manager sees both, and may cascade
    r = api.delete(f"classes/Contact/{contact}", as_=manager["sessionToken"])
    assert r.json() == {
        "code": 142,
        "error": 'this contact has 2 activities; delete them first or delete with the context {"cascade": true}',
    }
    r = api.delete(
        f"classes/Contact/{contact}",
        as_=manager["sessionToken"],
        headers={"X-Parse-Cloud-Context": '{"cascade": true}'},
    )
    assert r.status_code == 200, r.text
    assert api.get(f"classes/Activity/{theirs}").status_code == 404
