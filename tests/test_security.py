"""The CRM's security policy, as a matrix: caller by class by operation, through raw HTTP with real sessions.

Callers: anonymous, rep A, rep B, a manager, the master key. Every denial is checked for its exact Parse code, and
every leak path is probed: count, include, $inQuery, $select, batch.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

from conftest import Api, Server, unique

CLASSES = ("Company", "Contact", "Deal", "Activity")
NEED_AUTH = {"code": 101, "error": "Permission denied, user needs to be authenticated."}
NOT_FOUND = {"code": 101, "error": "Object not found."}


@dataclass
class World:
    a: str
    b: str
    manager: str
    ids: dict[str, dict[str, str]]  # owner ("a"/"b") → class → objectId
    a_user: str
    b_user: str
    tag: str


def body_for(cls: str, tag: str, owner_ids: dict[str, str]) -> dict[str, Any]:
    if cls == "Company":
        return {"name": f"{tag} Co"}
    if cls == "Contact":
        return {"name": f"{tag} Person", "company": pointer("Company", owner_ids["Company"])}
    if cls == "Deal":
        return {
            "title": f"{tag} Deal",
            "amount": 10,
            "company": pointer("Company", owner_ids["Company"]),
            "contact": pointer("Contact", owner_ids["Contact"]),
        }
    return {"type": "call", "subject": f"{tag} call", "relatedTo": pointer("Deal", owner_ids["Deal"])}


def pointer(cls: str, oid: str) -> dict[str, str]:
    return {"__type": "Pointer", "className": cls, "objectId": oid}


@pytest.fixture(scope="module")
def world(api: Api) -> World:
    tag = unique("sec")
    a, b, m = (api.signup(f"{tag}_{n}") for n in ("a", "b", "mgr"))
    role = api.get("roles", params={"where": {"name": "Managers"}}).json()["results"][0]["objectId"]
    r = api.put(f"roles/{role}", {"users": {"__op": "AddRelation", "objects": [pointer("_User", m["objectId"])]}})
    assert r.status_code == 200, r.text
    ids: dict[str, dict[str, str]] = {"a": {}, "b": {}}
    for owner, user in (("a", a), ("b", b)):
        for cls in CLASSES:
            r = api.post(f"classes/{cls}", body_for(cls, f"{tag}-{owner}", ids[owner]), as_=user["sessionToken"])
            assert r.status_code == 201, r.text
            ids[owner][cls] = r.json()["objectId"]
    return World(a["sessionToken"], b["sessionToken"], m["sessionToken"], ids, a["objectId"], b["objectId"], tag)


def visible(api: Api, cls: str, as_: str | None, tag: str) -> set[str]:
    r = api.get(f"classes/{cls}", params={"limit": 1000}, as_=as_)
    assert r.status_code == 200, r.text
    return {o["objectId"] for o in r.json()["results"]}


@pytest.mark.parametrize("cls", CLASSES)
def test_anonymous_gets_nothing(api: Api, world: World, cls: str) -> None:
    oid = world.ids["a"][cls]
    for method, path, body in [
        ("GET", f"classes/{cls}", None),
        ("GET", f"classes/{cls}/{oid}", None),
        ("POST", f"classes/{cls}", body_for(cls, "anon", world.ids["a"])),
        ("PUT", f"classes/{cls}/{oid}", {"notes": "x"}),
        ("DELETE", f"classes/{cls}/{oid}", None),
    ]:
        r = api.request(method, path, body, as_=None)
        assert (r.status_code, r.json()) == (404, NEED_AUTH), (method, path)
    r = api.get(f"classes/{cls}", params={"count": 1, "limit": 0}, as_=None)
    assert r.json() == NEED_AUTH


@pytest.mark.parametrize("cls", CLASSES)
def test_reps_see_only_their_own(api: Api, world: World, cls: str) -> None:
    for me, other, token in (("a", "b", world.a), ("b", "a", world.b)):
        seen = visible(api, cls, token, world.tag)
        assert world.ids[me][cls] in seen and world.ids[other][cls] not in seen
        r = api.get(f"classes/{cls}/{world.ids[other][cls]}", as_=token)
        assert (r.status_code, r.json()) == (404, NOT_FOUND)
        where = {"objectId": world.ids[other][cls]}
        assert (
            api.get(f"classes/{cls}", params={"where": where, "count": 1, "limit": 0}, as_=token).json()["count"] == 0
        )


@pytest.mark.parametrize("cls", CLASSES)
def test_reps_cannot_write_others(api: Api, world: World, cls: str) -> None:
    other = world.ids["b"][cls]
    r = api.put(f"classes/{cls}/{other}", {"notes": "hijack"}, as_=world.a)
    assert (r.status_code, r.json()) == (404, NOT_FOUND)
    r = api.delete(f"classes/{cls}/{other}", as_=world.a)
    assert (r.status_code, r.json()) == (404, NOT_FOUND)
    r = api.post(
        "batch",
        {
            "requests": [
                {"method": "PUT", "path": f"/parse/classes/{cls}/{other}", "body": {"notes": "hijack"}},
                {"method": "DELETE", "path": f"/parse/classes/{cls}/{other}"},
            ]
        },
        as_=world.a,
    )
    assert r.json() == [{"error": NOT_FOUND}, {"error": NOT_FOUND}]
    assert "notes" not in api.get(f"classes/{cls}/{other}").json()


@pytest.mark.parametrize("cls", CLASSES)
def test_manager_and_master_see_and_write_all(api: Api, world: World, cls: str) -> None:
    both = {world.ids["a"][cls], world.ids["b"][cls]}
    assert both <= visible(api, cls, world.manager, world.tag)
    assert both <= visible(api, cls, "master", world.tag)
    note = "description" if cls == "Activity" else "notes"
    r = api.put(f"classes/{cls}/{world.ids['a'][cls]}", {note: "reviewed"}, as_=world.manager)
    assert r.status_code == 200, r.text


def test_include_does_not_leak(api: Api, world: World) -> None:
    # rep A's deal pointing at B's company: the include leaves an unreadable target as a bare pointer
    r = api.put(
        f"classes/Deal/{world.ids['a']['Deal']}",
        {"company": pointer("Company", world.ids["b"]["Company"])},
        as_=world.a,
    )
    assert r.status_code == 200
    got = api.get(f"classes/Deal/{world.ids['a']['Deal']}", params={"include": "company"}, as_=world.a).json()
    assert got["company"] == pointer("Company", world.ids["b"]["Company"])
    got = api.get(f"classes/Deal/{world.ids['a']['Deal']}", params={"include": "company"}, as_=world.manager).json()
    assert got["company"]["name"] == f"{world.tag}-b Co"


def test_subqueries_do_not_leak(api: Api, world: World) -> None:
    b_name = f"{world.tag}-b Co"
    probe = {"company": {"$inQuery": {"className": "Company", "where": {"name": b_name}}}}
    assert api.get("classes/Contact", params={"where": probe}, as_=world.a).json()["results"] == []
    assert len(api.get("classes/Contact", params={"where": probe}, as_=world.manager).json()["results"]) == 1
    sel = {"name": {"$select": {"query": {"className": "Company", "where": {}}, "key": "name"}}}
    names = {o["name"] for o in api.get("classes/Company", params={"where": sel}, as_=world.a).json()["results"]}
    assert b_name not in names
    r = api.get("aggregate/Deal", params={"pipeline": [{"$group": {"_id": None, "n": {"$sum": 1}}}]}, as_=world.a)
    own = api.get("classes/Deal", params={"count": 1, "limit": 0}, as_=world.a).json()["count"]
    assert r.json()["results"] == [{"n": own}]


def test_created_by_comes_from_the_session(api: Api, world: World) -> None:
    r = api.post("classes/Company", {"name": "Spoof", "createdBy": pointer("_User", world.b_user)}, as_=world.a)
    oid = r.json()["objectId"]
    assert api.get(f"classes/Company/{oid}", as_=world.a).json()["createdBy"]["objectId"] == world.a_user
    r = api.put(f"classes/Company/{oid}", {"createdBy": pointer("_User", world.b_user)}, as_=world.a)
    assert r.json()["code"] == 119
    r = api.put(f"classes/Company/{oid}", {"ACL": {"*": {"read": True, "write": True}}}, as_=world.a)
    assert r.status_code == 200
    acl = api.get(f"classes/Company/{oid}").json()["ACL"]
    assert "*" not in acl  # the CRM computes ACLs; a client cannot make its object public


def test_reassigning_a_deal_moves_its_acl(api: Api, world: World) -> None:
    deal = api.post("classes/Deal", {"title": "Handover"}, as_=world.manager).json()["objectId"]
    api.put(f"classes/Deal/{deal}", {"assignedTo": pointer("_User", world.a_user)}, as_=world.manager)
    assert api.get(f"classes/Deal/{deal}", as_=world.a).status_code == 200
    assert api.get(f"classes/Deal/{deal}", as_=world.b).status_code == 404
    call = api.post("classes/Activity", {"type": "call", "relatedTo": pointer("Deal", deal)}, as_=world.manager)
    activity = call.json()["objectId"]
    assert api.get(f"classes/Activity/{activity}", as_=world.a).status_code == 200  # on A's deal, A reads it
    api.put(f"classes/Deal/{deal}", {"assignedTo": pointer("_User", world.b_user)}, as_=world.manager)
    assert api.get(f"classes/Deal/{deal}", as_=world.a).status_code == 404
    assert api.get(f"classes/Deal/{deal}", as_=world.b).status_code == 200
    assert api.get(f"classes/Activity/{activity}", as_=world.a).status_code == 404  # its activities moved too
    assert api.get(f"classes/Activity/{activity}", as_=world.b).status_code == 200


def test_clients_cannot_change_the_schema(api: Api, world: World) -> None:
    r = api.put(f"classes/Deal/{world.ids['a']['Deal']}", {"brandNewField": 1}, as_=world.a)
    assert (r.status_code, r.json()["code"]) == (400, 119)
    r = api.post("schemas/Sneaky", {"fields": {}}, as_=world.a)
    assert r.status_code == 403
    r = api.put("schemas/Deal", {"fields": {"x": {"type": "String"}}}, as_=world.a)
    assert r.status_code == 403


def test_users_private_fields(api: Api, world: World) -> None:
    api.put(f"users/{world.a_user}", {"email": "A@Example.com"}, as_=world.a)
    mine = api.get("users/me", as_=world.a).json()
    assert mine["email"] == "a@example.com" and mine["sessionToken"] == world.a
    assert api.get(f"users/{world.a_user}", as_=world.b).json() == NOT_FOUND  # users are private
    theirs = api.get(f"users/{world.a_user}", as_=world.manager).json()  # managers see reps, not their emails
    assert theirs["username"].endswith("_a") and "email" not in theirs
    probe = api.get("users", params={"where": {"email": "a@example.com"}}, as_=world.b)
    assert (probe.status_code, probe.json()["code"]) == (400, 119)  # filtering on a hidden field would reveal it
    assert api.get("users", params={"order": "email"}, as_=world.b).json()["code"] == 119
    agg = api.get("aggregate/_User", params={"distinct": "email"}, as_=world.b)
    assert agg.json()["code"] == 119
    r = api.put(f"users/{world.a_user}", {"username": "stolen"}, as_=world.b)
    assert r.json()["code"] == 206
    assert "_hashed_password" not in str(api.get("users", params={"limit": 1000}).json())
    assert api.get("users", as_=None).json() == NEED_AUTH


def test_logout_invalidates_token(api: Api) -> None:
    u = api.signup()
    token = u["sessionToken"]
    assert api.get("users/me", as_=token).status_code == 200
    assert api.post("logout", as_=token).json() == {}
    for method, path in (("GET", "users/me"), ("GET", "classes/Deal"), ("POST", "classes/Deal")):
        r = api.request(method, path, {} if method == "POST" else None, as_=token)
        assert (r.status_code, r.json()) == (400, {"code": 209, "error": "Invalid session token"}), path


def test_expired_session_is_209(api: Api, server: Server) -> None:
    u = api.signup()
    r = api.post("login", {"username": u["username"], "password": u["password"]}, as_=None)
    token = r.json()["sessionToken"]

    async def expire() -> None:
        conn = await asyncpg.connect(server.database_url)
        await conn.execute(
            'UPDATE "_Session" SET "expiresAt" = now() - interval \'1 second\' WHERE "sessionToken" = $1', token
        )
        await conn.close()

    asyncio.run(expire())
    assert api.get("classes/Deal", as_=token).json()["code"] == 209


def test_password_change_revokes_other_sessions(api: Api) -> None:
    u = api.signup()
    other = api.post("login", {"username": u["username"], "password": u["password"]}, as_=None).json()["sessionToken"]
    r = api.put(f"users/{u['objectId']}", {"password": "new-password-1"}, as_=u["sessionToken"])
    assert r.status_code == 200 and r.json()["sessionToken"].startswith("r:")
    assert api.get("users/me", as_=other).json()["code"] == 209
    assert api.get("users/me", as_=r.json()["sessionToken"]).status_code == 200


def test_brute_force_login_locks_the_account(api: Api) -> None:
    u = api.signup()
    for _ in range(5):
        r = api.post("login", {"username": u["username"], "password": "wrong"}, as_=None)
        assert (r.status_code, r.json()["code"]) == (404, 101)
    r = api.post("login", {"username": u["username"], "password": u["password"]}, as_=None)
    assert r.status_code == 404 and "locked" in r.json()["error"]


def test_login_errors(api: Api) -> None:
    u = api.signup()
    assert api.post("login", {"password": "x"}, as_=None).json()["code"] == 200
    assert api.post("login", {"username": u["username"]}, as_=None).json()["code"] == 201
    r = api.post("login", {"username": "nobody-" + unique(), "password": "x"}, as_=None)
    assert r.json() == {"code": 101, "error": "Invalid username/password."}
    assert api.post("users", {"username": u["username"], "password": "x"}, as_=None).json()["code"] == 202


def test_read_only_master_key(make_server: Any) -> None:
    srv = make_server({"PARSE_READ_ONLY_MASTER_KEY": "ro-key"})
    ro = Api(srv)
    ro.server = srv
    r = ro.post("classes/Company", {"name": "x"}, as_="master")  # sanity: the master key writes
    assert r.status_code == 201
    h = {"X-Parse-Master-Key": "ro-key"}
    assert ro.get("classes/Company", as_=None, headers=h).json()["results"][0]["name"] == "x"
    r = ro.post("classes/Company", {"name": "y"}, as_=None, headers=h)
    assert (r.status_code, r.json()["code"]) == (400, 119)


def test_master_key_only_from_loopback_and_keys_enforced(make_server: Any) -> None:
    srv = make_server({"PARSE_MASTER_KEY_IPS": "10.0.0.0/8", "PARSE_JAVASCRIPT_KEY": "js-key"})
    api = Api(srv)
    r = api.get("classes/Company", as_="master")
    assert r.status_code == 403  # the master key from a non-allowed address is refused, not downgraded
    srv.javascript_key = ""
    r = Api(srv).get("classes/Company", as_=None)
    assert (r.status_code, r.json()) == (403, {"error": "unauthorized"})
    srv.javascript_key = "js-key"
    r = Api(srv).post("users", {"username": unique("u"), "password": "pw"}, as_=None)
    assert r.status_code == 201


def test_password_reset_by_mail_link(api: Api, server: Server) -> None:
    import re
    import time

    import httpx

    u = api.signup(email=f"{unique('reset')}@example.com")
    assert api.post("requestPasswordReset", {"email": "nobody@example.com"}, as_=None).json() == {}  # no probing
    assert api.post("requestPasswordReset", {"email": u["email"].upper()}, as_=None).json() == {}
    link = ""
    for _ in range(50):  # the development mail sender writes the message to its outbox, never to the log
        found = re.findall(r"(http\S+request_password_reset\?token=\S+)", "".join(server.mails(u["email"])))
        if found:
            link = found[-1]
            break
        time.sleep(0.1)
    assert link, server.log()
    assert link.split("token=")[1] not in server.log_path.read_text()  # the token, the credential, is not logged
    page = httpx.get(link)
    assert page.status_code == 200 and "new_password" in page.text
    assert httpx.post(link, data={"new_password": "brand-new-pw"}).status_code == 200
    assert api.post("login", {"username": u["username"], "password": "brand-new-pw"}, as_=None).status_code == 200
    assert api.post("login", {"username": u["username"], "password": u["password"]}, as_=None).status_code == 404
    assert api.get("users/me", as_=u["sessionToken"]).json()["code"] == 209  # a reset ends every session
    assert httpx.post(link, data={"new_password": "again"}).json()["code"] == 101  # links work once


def test_stage_queries_through_the_acl_scoped_index(api: Api, server: Server) -> None:
    """`stage = X` as a rep is answered by the ACL-scoped index: same rows and counts as the ACL says."""
    a, b = api.signup(), api.signup()
    made: dict[str, set[str]] = {a["objectId"]: set(), b["objectId"]: set()}
    for user in (a, b):
        for stage in ("lead", "lead", "won"):
            oid = api.post("classes/Deal", {"title": "s", "stage": stage}, as_=user["sessionToken"]).json()["objectId"]
            if stage == "lead":
                made[user["objectId"]].add(oid)
    shared = api.post("classes/Deal", {"title": "to a", "stage": "lead",
                                       "assignedTo": pointer("_User", a["objectId"])}).json()["objectId"]
    made[a["objectId"]].add(shared)
    for user in (a, b):
        token = user["sessionToken"]
        r = api.get("classes/Deal", params={"where": {"stage": "lead"}, "limit": 1000}, as_=token).json()
        assert {o["objectId"] for o in r["results"]} == made[user["objectId"]]
        assert all(o["stage"] == "lead" for o in r["results"])
        n = api.get("classes/Deal", params={"where": {"stage": {"$eq": "lead"}}, "count": 1, "limit": 0}, as_=token)
        assert n.json()["count"] == len(made[user["objectId"]])

    async def plan() -> str:
        conn = await asyncpg.connect(server.database_url)
        try:
            rows = await conn.fetch("SELECT indexdef FROM pg_indexes WHERE indexname = 'Deal_stage_acl'")
            return rows[0]["indexdef"] if rows else ""
        finally:
            await conn.close()

    assert "parsecrm_scoped" in asyncio.run(plan())
