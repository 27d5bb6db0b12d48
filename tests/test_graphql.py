"""GraphQL through real HTTP on a real server: the seed's two use cases, CRUD for the CRM classes, the endpoint's
error shapes, limits, schema regeneration (in this process and another), batched pointer loading."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from conftest import Api, Server, unique
from graphql_client import Gql

DEALS_BY_STAGE = """
query($stage: String!, $first: Int, $after: String) {
  deals(where: {stage: {equalTo: $stage}}, order: [expectedCloseDate_ASC, id_ASC], first: $first, after: $after) {
    count
    edges { cursor node { id objectId title stage expectedCloseDate } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""

ACTIVITIES_OF = """
query($target: ID!) {
  activities(where: {relatedTo: {equalTo: $target}}, order: [dueDate_ASC]) {
    count
    edges { node { subject relatedTo { __typename ... on Deal { title } ... on Contact { name } } } }
  }
}"""


@pytest.fixture(scope="module")
def gql(server: Server) -> Gql:
    return Gql(server)


@pytest.fixture(scope="module")
def rep(api: Api) -> str:
    return str(api.signup(unique("gqlrep"))["sessionToken"])


def create(gql: Gql, cls: str, fields: dict[str, Any], as_: str | None) -> dict[str, Any]:
    key = cls[:1].lower() + cls[1:]
    query = f'mutation($f: Create{cls}FieldsInput) {{ create{cls}(input: {{fields: $f, clientMutationId: "m1"}}) '
    query += f"{{ clientMutationId {key} {{ id objectId createdAt }} }} }}"
    out = gql(query, {"f": fields}, as_=as_)[f"create{cls}"]
    assert out["clientMutationId"] == "m1"
    return dict(out[key])


def test_deals_by_stage_ordered_by_close_date(gql: Gql, rep: str) -> None:
    stage = "negotiation"
    dates = ["2026-03-05", "2026-01-10", "2026-02-20", "2026-01-01", "2026-04-30"]
    for i, day in enumerate(dates):
        create(gql, "Deal", {"title": f"d{i}", "stage": stage, "expectedCloseDate": f"{day}T00:00:00.000Z"}, rep)
    create(gql, "Deal", {"title": "other stage", "stage": "lead"}, rep)
    page1 = gql(DEALS_BY_STAGE, {"stage": stage, "first": 3}, as_=rep)["deals"]
    assert page1["count"] == 5
    got = [e["node"]["expectedCloseDate"][:10] for e in page1["edges"]]
    assert got == sorted(dates)[:3]
    assert all(e["node"]["stage"] == stage for e in page1["edges"])
    assert page1["pageInfo"]["hasNextPage"] and not page1["pageInfo"]["hasPreviousPage"]
    page2 = gql(DEALS_BY_STAGE, {"stage": stage, "first": 3, "after": page1["pageInfo"]["endCursor"]}, as_=rep)["deals"]
    assert [e["node"]["expectedCloseDate"][:10] for e in page2["edges"]] == sorted(dates)[3:]
    assert not page2["pageInfo"]["hasNextPage"] and page2["pageInfo"]["hasPreviousPage"]
    node = page1["edges"][0]["node"]
    assert gql("query($id: ID!) { deal(id: $id) { title } }", {"id": node["id"]}, as_=rep)["deal"]["title"]
    assert (
        gql("query($id: ID!) { deal(id: $id) { id } }", {"id": node["objectId"]}, as_=rep)["deal"]["id"] == node["id"]
    )
    last = gql(
        '{ deals(where: {stage: {equalTo: "negotiation"}}, order: [expectedCloseDate_ASC], last: 2) '
        "{ edges { node { expectedCloseDate } } pageInfo { hasPreviousPage } } }",
        as_=rep,
    )["deals"]
    assert [e["node"]["expectedCloseDate"][:10] for e in last["edges"]] == sorted(dates)[3:]
    assert last["pageInfo"]["hasPreviousPage"]


def test_activities_by_related_contact_and_deal(gql: Gql, rep: str) -> None:
    contact = create(gql, "Contact", {"name": "Ada"}, rep)
    deal = create(gql, "Deal", {"title": "Engine"}, rep)
    for subject, target, day in (("c1", contact, "02"), ("c2", contact, "01"), ("d1", deal, "03")):
        create(
            gql,
            "Activity",
            {
                "type": "call",
                "subject": subject,
                "relatedTo": {"link": target["id"]},
                "dueDate": f"2026-05-{day}T09:00:00.000Z",
            },
            rep,
        )
    on_contact = gql(ACTIVITIES_OF, {"target": contact["id"]}, as_=rep)["activities"]
    assert on_contact["count"] == 2
    assert [e["node"]["subject"] for e in on_contact["edges"]] == ["c2", "c1"]
    assert {e["node"]["relatedTo"]["__typename"] for e in on_contact["edges"]} == {"Contact"}
    assert on_contact["edges"][0]["node"]["relatedTo"]["name"] == "Ada"
    on_deal = gql(ACTIVITIES_OF, {"target": deal["id"]}, as_=rep)["activities"]
    assert [(e["node"]["subject"], e["node"]["relatedTo"]) for e in on_deal["edges"]] == [
        ("d1", {"__typename": "Deal", "title": "Engine"})
    ]
    either = gql(
        "query($a: ID!, $b: ID!) { activities(where: {relatedTo: {in: [$a, $b]}}) { count } }",
        {"a": contact["id"], "b": deal["id"]},
        as_=rep,
    )
    assert either["activities"]["count"] == 3
    # a plain objectId cannot say which class a polymorphic pointer means: a clear error, not an empty page
    err = gql.error(ACTIVITIES_OF, {"target": deal["objectId"]}, as_=rep)
    assert err["code"] == 106 and "global id" in err["error"]


CLASS_FIELDS: dict[str, tuple[dict[str, Any], dict[str, Any], str]] = {
    # class: (create fields, update fields, fields to read back)
    "Company": ({"name": "  Initech ", "website": "initech.com/"}, {"industry": "Software"}, "name website industry"),
    "Contact": ({"name": "Peter", "email": "PETER@Initech.com"}, {"title": "Engineer"}, "name email title"),
    "Deal": ({"title": "TPS", "amount": 1200.5}, {"stage": "proposal", "amount": 99}, "title amount stage"),
    "Activity": ({"type": "meeting", "subject": "Review"}, {"done": True}, "type subject done completedAt"),
}


@pytest.mark.parametrize("cls", list(CLASS_FIELDS))
def test_crud(gql: Gql, rep: str, cls: str) -> None:
    fields, changes, read = CLASS_FIELDS[cls]
    key = cls[:1].lower() + cls[1:]
    made = create(gql, cls, fields, rep)
    got = gql(
        f"query($id: ID!) {{ {key}(id: $id) {{ objectId {read} createdBy {{ objectId }} }} }}",
        {"id": made["id"]},
        as_=rep,
    )[key]
    if cls == "Company":
        assert (got["name"], got["website"]) == ("Initech", "https://initech.com")  # the CRM's rules ran
    if cls == "Contact":
        assert got["email"] == "peter@initech.com"
    if cls == "Deal":
        assert (got["amount"], got["stage"]) == (1200.5, "lead")  # the schema's default
    updated = gql(
        f"mutation($id: ID!, $f: Update{cls}FieldsInput) {{ update{cls}(input: {{id: $id, fields: $f}}) "
        f"{{ {key} {{ {read} updatedAt }} }} }}",
        {"id": made["id"], "f": changes},
        as_=rep,
    )[f"update{cls}"][key]
    for k, v in changes.items():
        assert updated[k] == v
    if cls == "Activity":
        assert updated["completedAt"]  # marking done sets completedAt
    deleted = gql(
        f"mutation($id: ID!) {{ delete{cls}(input: {{id: $id}}) {{ {key} {{ objectId }} }} }}",
        {"id": made["objectId"]},
        as_=rep,
    )
    assert deleted[f"delete{cls}"][key]["objectId"] == made["objectId"]
    err = gql.error(f"query($id: ID!) {{ {key}(id: $id) {{ objectId }} }}", {"id": made["id"]}, as_=rep)
    assert err == {"code": 101, "error": "Object not found."}


def test_write_errors_and_cascade_context(gql: Gql, rep: str) -> None:
    err = gql.error('mutation { createDeal(input: {fields: {title: "x", amount: -1}}) { deal { id } } }', as_=rep)
    assert err["code"] == 142
    contact = create(gql, "Contact", {"name": "Busy"}, rep)
    create(gql, "Activity", {"type": "note", "relatedTo": {"link": contact["id"]}}, rep)
    delete = "mutation($id: ID!) { deleteContact(input: {id: $id}) { contact { name } } }"
    assert gql.error(delete, {"id": contact["id"]}, as_=rep)["code"] == 142  # still has activities
    r = gql.raw(delete, {"id": contact["id"]}, as_=rep, headers={"X-Parse-Cloud-Context": '{"cascade": true}'})
    assert r.json() == {"data": {"deleteContact": {"contact": {"name": "Busy"}}}}
    bad_link = gql.error(
        'mutation { createDeal(input: {fields: {title: "x", company: {link: "Q29udGFjdDp4"}}}) { deal { id } } }',
        as_=rep,
    )
    assert bad_link["code"] == 106  # a Contact's global id where a Company is expected


def test_where_vocabulary(gql: Gql, rep: str) -> None:
    tag = unique("w")
    for i, (amount, notes) in enumerate(((10, "alpha"), (20, None), (30, "gamma"))):
        fields = {"title": f"{tag} {i}", "amount": amount, "stage": "won"}
        if notes:
            fields["notes"] = notes
        create(gql, "Deal", fields, rep)

    def titles(where: str) -> list[str]:
        q = f'{{ deals(where: {{title: {{matchesRegex: "^{tag}"}}, {where}}}, order: [amount_ASC]) '
        q += "{ edges { node { title } } } }"
        return [e["node"]["title"][-1] for e in gql(q, as_=rep)["deals"]["edges"]]

    assert titles("amount: {greaterThan: 10, lessThanOrEqualTo: 30}") == ["1", "2"]
    assert titles("amount: {in: [10, 30]}") == ["0", "2"]
    assert titles("amount: {notIn: [10, 30]}") == ["1"]
    assert titles("notes: {exists: false}") == ["1"]
    assert titles('OR: [{amount: {equalTo: 10}}, {notes: {equalTo: "gamma"}}]') == ["0", "2"]
    assert titles("NOR: [{amount: {equalTo: 10}}]") == ["1", "2"]
    assert titles("AND: [{amount: {notEqualTo: 10}}, {amount: {lessThan: 30}}]") == ["1"]
    assert titles('notes: {matchesRegex: "ALPHA", options: "i"}') == ["0"]


def test_have_and_viewer_and_users(gql: Gql, api: Api) -> None:
    name = unique("Sign")
    up = gql(
        "mutation($f: CreateUserFieldsInput) { signUp(input: {fields: $f}) { viewer { sessionToken user "
        "{ username } } } }",
        {"f": {"username": name, "password": "pw-secret-1"}},
        as_=None,
    )["signUp"]["viewer"]
    assert up["user"]["username"] == name and up["sessionToken"].startswith("r:")
    login = gql(
        'mutation($u: String!) { logIn(input: {username: $u, password: "pw-secret-1"}) '
        "{ viewer { sessionToken user { objectId username } } } }",
        {"u": name},
        as_=None,
    )["logIn"]["viewer"]
    token = login["sessionToken"]
    assert gql("{ viewer { user { username } } }", as_=token)["viewer"]["user"]["username"] == name
    co = create(gql, "Company", {"name": f"{name} Co"}, token)
    create(gql, "Contact", {"name": "Inside", "company": {"link": co["id"]}}, token)
    create(gql, "Contact", {"name": "Outside"}, token)
    found = gql(
        "query($n: String) { contacts(where: {company: {have: {name: {equalTo: $n}}}}) "
        "{ edges { node { name company { name } } } } }",
        {"n": f"{name} Co"},
        as_=token,
    )["contacts"]
    assert [e["node"] for e in found["edges"]] == [{"name": "Inside", "company": {"name": f"{name} Co"}}]
    assert gql("mutation { logOut(input: {}) { ok } }", as_=token) == {"logOut": {"ok": True}}
    r = gql.raw("{ viewer { sessionToken } }", as_=token)
    assert (r.status_code, r.json()) == (400, {"code": 209, "error": "Invalid session token"})  # REST-style
    bad = gql.error(
        'mutation { logIn(input: {username: "nobody-x", password: "x"}) { viewer { sessionToken } } }', as_=None
    )
    assert bad == {"code": 101, "error": "Invalid username/password."}


def test_cloud_code_through_graphql(gql: Gql, api: Api, rep: str) -> None:
    out = gql("mutation { callCloudCode(input: {functionName: pipelineSummary}) { result } }", as_=rep)
    rest = api.post("functions/pipelineSummary", {}, as_=rep).json()["result"]
    assert out["callCloudCode"]["result"] == rest and rest["stages"][0]["stage"] == "lead"


def test_endpoint_errors_and_get(gql: Gql, server: Server) -> None:
    r = httpx.post(gql.url, json={"query": "{ health }"})
    assert (r.status_code, r.json()) == (403, {"error": "unauthorized"})
    headers = gql.api.headers("master")
    r = httpx.post(gql.url, content=b"{nope", headers={**headers, "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["errors"][0]["extensions"]["code"] == 107
    r = gql.raw("{ deals { nope } }")
    assert r.status_code == 400 and "nope" in r.json()["errors"][0]["message"]
    r = gql.raw("{ deals(")
    assert r.status_code == 400 and "Syntax Error" in r.json()["errors"][0]["message"]
    r = httpx.get(gql.url, params={"query": "{ health }"}, headers=headers)
    assert r.json() == {"data": {"health": True}}
    r = httpx.get(gql.url, params={"query": "mutation { logOut(input: {}) { ok } }"}, headers=headers)
    assert r.status_code == 405
    page = httpx.get(gql.url, headers={"Accept": "text/html"})
    assert page.status_code == 200 and "GraphQL playground" in page.text and server.master_key not in page.text
    r = gql.raw("query { __schema { types { name } } }")
    assert "Deal" in {t["name"] for t in r.json()["data"]["__schema"]["types"]}


def test_limits_introspection_switch_and_batched_loading(make_server: Callable[..., Server]) -> None:
    srv = make_server({"CRM_DEBUG": "true", "CRM_GRAPHQL_INTROSPECTION": "false"})
    gql = Gql(srv)
    # depth: roles nest through the `roles` relation without end
    deep = "roles { edges { node { name " * 5 + "}}}" * 5
    r = gql.raw("{ " + deep + " }")
    assert r.status_code == 400 and "exceeds the maximum depth of 12" in r.json()["errors"][0]["message"]
    r = gql.raw("{ deals(first: 10000) { edges { node { title contact { name company { name } } } } } }")
    assert r.status_code == 400 and "exceeds the maximum cost" in r.json()["errors"][0]["message"]
    r = gql.raw("{ __schema { types { name } } }")
    assert r.status_code == 400 and "introspection" in r.json()["errors"][0]["message"].lower()
    assert gql("{ deals(first: 5) { count } }")["deals"]["count"] == 0  # ordinary queries still run

    api = gql.api
    for i in range(20):
        co = api.post("classes/Company", {"name": f"co{i}"}).json()["objectId"]
        ct = api.post("classes/Contact", {"name": f"ct{i}", "company": _ptr("Company", co)}).json()["objectId"]
        api.post(
            "classes/Deal",
            {"title": f"deal{i}", "stage": "qualified", "contact": _ptr("Contact", ct), "company": _ptr("Company", co)},
        )
    query = """query($n: Int) { deals(where: {stage: {equalTo: "qualified"}}, order: [title_ASC], first: $n) {
      edges { node { title contact { name company { name } } company { name } } } } }"""
    counts = {}
    gql.raw(query, {"n": 1})  # warm: the schema cache reloads once after the writes above
    for n in (5, 20):
        r = gql.raw(query, {"n": n})
        edges = r.json()["data"]["deals"]["edges"]
        assert len(edges) == n and all(e["node"]["contact"]["company"]["name"] for e in edges)
        counts[n] = int(r.headers["x-sql-statements"])
    # one page + one find per class per level (Contact and Company at level 1; level 2's companies are cached)
    assert counts == {5: 3, 20: 3}, counts


def _ptr(cls: str, oid: str) -> dict[str, str]:
    return {"__type": "Pointer", "className": cls, "objectId": oid}


def test_schema_change_reaches_introspection_in_every_process(make_server: Callable[..., Server]) -> None:
    first = make_server()
    second = make_server(database_url=first.database_url)
    one, two = Gql(first), Gql(second)
    types = "{ __schema { types { name } } }"
    for g in (one, two):
        assert "Widget" not in {t["name"] for t in g(types)["__schema"]["types"]}
    r = one.api.post("schemas/Widget", {"className": "Widget", "fields": {"size": {"type": "Number"}}})
    assert r.status_code == 200, r.text
    import time

    assert "Widget" in {t["name"] for t in one(types)["__schema"]["types"]}  # this process: at once
    deadline = time.time() + 10
    while "Widget" not in {t["name"] for t in two(types)["__schema"]["types"]}:  # the other: after its NOTIFY
        assert time.time() < deadline, "the second process never rebuilt its GraphQL schema"
        time.sleep(0.1)
    made = two("mutation { createWidget(input: {fields: {size: 3}}) { widget { size } } }")
    assert made == {"createWidget": {"widget": {"size": 3}}}
    r = one.api.put("schemas/Widget", {"fields": {"colour": {"type": "String"}}})
    assert r.status_code == 200
    fields = '{ __type(name: "Widget") { fields { name } } }'
    assert "colour" in {f["name"] for f in one(fields)["__type"]["fields"]}


def test_fast_executor_answers_as_graphql_core(gql: Gql, rep: str) -> None:
    """The same query through the fast executor and (a directive forces it) through graphql-core: same answer."""
    contact = create(gql, "Contact", {"name": "Twin"}, rep)
    deal = create(gql, "Deal", {"title": "Twin deal", "stage": "won", "contact": {"link": contact["id"]}}, rep)
    create(gql, "Activity", {"type": "call", "subject": "s1", "relatedTo": {"link": deal["id"]}}, rep)
    create(gql, "Activity", {"type": "email", "subject": "s2", "relatedTo": {"link": contact["id"]}}, rep)
    body = """
      first: activities(order: [subject_ASC], first: 10) { count ...page }
      again: activities(where: {type: {equalTo: "call"}}) {
        edges { node { __typename type relatedTo { __typename } } }
      }
      deal(id: $deal) DIRECTIVE {
        id title contact { id objectId __typename name } c2: contact { objectId } ACL { users { read } }
      }
    }
    fragment page on ActivityConnection {
      pageInfo { hasNextPage endCursor }
      edges { cursor node { id subject dueDate done relatedTo { ... on Deal { title contact { name } }
                                                               ... on Contact { name } } } }
    }"""
    fast = gql.raw("query($deal: ID!) {" + body.replace("DIRECTIVE", ""), {"deal": deal["id"]}, as_=rep).json()
    full_query = "query($deal: ID!, $yes: Boolean = true) {" + body.replace("DIRECTIVE", "@include(if: $yes)")
    full = gql.raw(full_query, {"deal": deal["id"]}, as_=rep).json()
    assert "errors" not in fast and fast == full, (fast, full)
    assert fast["data"]["deal"]["contact"]["name"] == "Twin"
    related = {str(e["node"]["relatedTo"]) for e in fast["data"]["first"]["edges"]}
    assert {"{'name': 'Twin'}", "{'title': 'Twin deal', 'contact': {'name': 'Twin'}}"} <= related


UPDATE_IF = """mutation($id: ID!, $f: UpdateDealFieldsInput, $v: Date) {
  updateDeal(input: {id: $id, fields: $f, ifMatch: $v}) { deal { title amount updatedAt } } }"""
DELETE_IF = "mutation($id: ID!, $v: Date) { deleteDeal(input: {id: $id, ifMatch: $v}) { deal { objectId } } }"


def _conflict(gql: Gql, query: str, variables: dict[str, Any], as_: str) -> dict[str, Any]:
    """The extensions of a refused conditional mutation (its one error; the payload is null)."""
    r = gql.raw(query, variables, as_=as_)
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["errors"]) == 1 and "changed" in body["errors"][0]["message"], body
    assert next(iter(body["data"].values())) is None
    return dict(body["errors"][0]["extensions"])


def test_conditional_update_and_delete(gql: Gql, api: Api, rep: str) -> None:
    made = create(gql, "Deal", {"title": "base", "amount": 1}, rep)
    read = gql("query($id: ID!) { deal(id: $id) { updatedAt } }", {"id": made["id"]}, as_=rep)["deal"]
    ok = gql(UPDATE_IF, {"id": made["id"], "f": {"title": "mine 1"}, "v": read["updatedAt"]}, as_=rep)
    mine = ok["updateDeal"]["deal"]
    assert mine["title"] == "mine 1" and mine["updatedAt"] != read["updatedAt"]
    theirs = api.put(f"classes/Deal/{made['objectId']}", {"title": "theirs"}).json()["updatedAt"]
    # based on `mine`, which is no longer current: refused, nothing of it applied, the current state attached
    ext = _conflict(
        gql, UPDATE_IF, {"id": made["id"], "f": {"title": "mine 2", "amount": 5}, "v": mine["updatedAt"]}, rep
    )
    assert ext["code"] == 409
    assert (ext["current"]["title"], ext["current"]["updatedAt"]) == ("theirs", theirs)
    assert ext["current"]["objectId"] == made["objectId"] and ext["current"]["amount"] == 1
    stored = api.get(f"classes/Deal/{made['objectId']}").json()
    assert (stored["title"], stored["amount"], stored["updatedAt"]) == ("theirs", 1, theirs)
    # merged and retried on the current version: accepted; without ifMatch the write is unconditional as before
    ok = gql(UPDATE_IF, {"id": made["id"], "f": {"title": "merged"}, "v": ext["current"]["updatedAt"]}, as_=rep)
    assert ok["updateDeal"]["deal"]["title"] == "merged"
    gql(UPDATE_IF, {"id": made["id"], "f": {"amount": 2}}, as_=rep)
    # a delete based on an old version is refused the same way, and the object stays
    ext = _conflict(gql, DELETE_IF, {"id": made["id"], "v": theirs}, rep)
    assert ext["code"] == 409 and ext["current"]["title"] == "merged" and ext["current"]["amount"] == 2
    assert api.get(f"classes/Deal/{made['objectId']}").status_code == 200
    out = gql(DELETE_IF, {"id": made["id"], "v": ext["current"]["updatedAt"]}, as_=rep)
    assert out["deleteDeal"]["deal"]["objectId"] == made["objectId"]
    assert api.get(f"classes/Deal/{made['objectId']}").status_code == 404


def test_conditional_mutation_edges(gql: Gql, api: Api, rep: str) -> None:
    made = create(gql, "Deal", {"title": "edge", "amount": 1}, rep)
    path = f"classes/Deal/{made['objectId']}"
    version = api.get(path).json()["updatedAt"]
    # not a version: refused before anything runs (the Date scalar), never an unconditional write
    r = gql.raw(UPDATE_IF, {"id": made["id"], "f": {"title": "x"}, "v": "yesterday"}, as_=rep)
    assert "errors" in r.json() and api.get(path).json()["title"] == "edge"
    # one If-Match header cannot say which of a document's mutations it guards: refused, not ignored
    r = gql.raw(
        UPDATE_IF, {"id": made["id"], "f": {"title": "x"}}, as_=rep, headers={"If-Match": "2000-01-01T00:00:00.000Z"}
    )
    assert r.status_code == 400 and "ifMatch" in r.json()["errors"][0]["message"]
    assert api.get(path).json()["title"] == "edge"
    # two writers based on one version: exactly one wins (the check is the write's own, after the row lock)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        answers = list(
            pool.map(
                lambda n: gql.raw(UPDATE_IF, {"id": made["id"], "f": {"title": f"w{n}"}, "v": version}, as_=rep).json(),
                range(4),
            )
        )
    won = [a["data"]["updateDeal"]["deal"]["title"] for a in answers if "errors" not in a]
    lost = [a["errors"][0]["extensions"]["code"] for a in answers if "errors" in a]
    assert len(won) == 1 and lost == [409, 409, 409] and api.get(path).json()["title"] == won[0]
    # every class's update and delete take the version, users' too
    fields = "query($n: String!) { __type(name: $n) { inputFields { name } } }"
    for n in ("UpdateDealInput", "DeleteDealInput", "UpdateUserInput", "DeleteUserInput"):
        assert "ifMatch" in {f["name"] for f in gql(fields, {"n": n})["__type"]["inputFields"]}, n


UPDATE_USER_IF = """mutation($id: ID!, $f: UpdateUserFieldsInput, $v: Date) {
  updateUser(input: {id: $id, fields: $f, ifMatch: $v}) { user { objectId updatedAt } } }"""


def test_conditional_update_user(gql: Gql, api: Api) -> None:
    alice, bob = api.signup(), api.signup()
    path = f"users/{alice['objectId']}"
    email = f"{alice['username']}@example.com"
    r = api.put(path, {"email": email}, as_=alice["sessionToken"])
    assert r.status_code == 200, r.text
    first = r.json()["updatedAt"]
    renamed = unique("renamed")
    r = api.put(path, {"username": renamed}, as_=alice["sessionToken"])
    assert r.status_code == 200, r.text
    theirs = r.json()["updatedAt"]
    # based on an old version: refused with the user as they may read themself, without credentials
    variables = {"id": alice["objectId"], "f": {"username": unique("mine")}, "v": first}
    ext = _conflict(gql, UPDATE_USER_IF, variables, alice["sessionToken"])
    assert ext["code"] == 409 and ext["current"]["username"] == renamed and ext["current"]["updatedAt"] == theirs
    assert ext["current"]["email"] == email
    assert "sessionToken" not in ext["current"] and "authData" not in ext["current"]
    assert api.get(path).json()["username"] == renamed
    # another user may not write it: the refusal they get without ifMatch, and no current
    r = gql.raw(UPDATE_USER_IF, variables, as_=bob["sessionToken"]).json()
    plain = gql.raw(UPDATE_USER_IF, {**variables, "v": None}, as_=bob["sessionToken"]).json()
    assert r["errors"][0]["extensions"]["code"] == plain["errors"][0]["extensions"]["code"] != 409
    assert "current" not in r["errors"][0]["extensions"]
    assert api.get(path).json()["username"] == renamed
    # on the current version: written
    ok = gql(UPDATE_USER_IF, {**variables, "v": theirs}, as_=alice["sessionToken"])
    assert ok["updateUser"]["user"]["objectId"] == alice["objectId"]
    assert api.get(path).json()["username"] == variables["f"]["username"]


def test_conflict_shows_only_what_the_caller_may_read(gql: Gql, api: Api) -> None:
    cls = unique("Cond")
    key = cls[:1].lower() + cls[1:]
    open_ = {op: {"*": True} for op in ("find", "get", "count", "create", "update", "delete", "addField")}
    alice, bob = api.signup(), api.signup()
    acl = {alice["objectId"]: {"read": True, "write": True}}
    oid = api.post(f"classes/{cls}", {"name": "A", "secret": "s", "ACL": acl}).json()["objectId"]
    first = api.get(f"classes/{cls}/{oid}").json()["updatedAt"]
    api.put(f"schemas/{cls}", {"classLevelPermissions": {**open_, "protectedFields": {"*": ["secret"]}}})
    api.put(f"classes/{cls}/{oid}", {"name": "B"})
    update = (
        f'mutation($id: ID!, $v: Date) {{ update{cls}(input: {{id: $id, fields: {{name: "C"}}, ifMatch: $v}}) '
        f"{{ {key} {{ name }} }} }}"
    )
    ext = _conflict(gql, update, {"id": oid, "v": first}, alice["sessionToken"])
    assert ext["code"] == 409 and ext["current"]["name"] == "B" and "secret" not in ext["current"]
    # one who may not see the object learns nothing: 101, as without ifMatch
    r = gql.raw(update, {"id": oid, "v": first}, as_=bob["sessionToken"]).json()
    assert r["errors"][0]["extensions"] == {"code": 101}
    assert api.get(f"classes/{cls}/{oid}").json()["name"] == "B"
