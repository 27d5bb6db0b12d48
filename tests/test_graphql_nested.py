"""Nested creates over GraphQL (parse-server's `createAndLink` on pointer inputs, `createAndAdd` on relation inputs)
on a real server: the nested objects go through the same write path as `create<Class>` (the caller's permissions,
the CRM's hooks), in the outer write's transaction — a failure anywhere leaves nothing behind — and a caller the
REST create would refuse gets REST's error."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import Api, Server, unique
from graphql_client import Gql
from parsecrm.graphql.naming import find_field
from test_security import pointer

DEAL = "id objectId title contact { objectId name email createdBy { objectId } company { name } } company { name }"
CREATE_DEAL = f"mutation($f: CreateDealFieldsInput!) {{ createDeal(input: {{fields: $f}}) {{ deal {{ {DEAL} }} }} }}"
UPDATE_DEAL = (
    "mutation($id: ID!, $f: UpdateDealFieldsInput, $v: Date) { updateDeal(input: {id: $id, fields: $f, ifMatch: $v}) "
    f"{{ deal {{ {DEAL} }} }} }}"
)


@pytest.fixture(scope="module")
def gql(server: Server) -> Gql:
    return Gql(server)


def count(api: Api, cls: str, where: dict[str, Any]) -> int:
    r = api.get(f"classes/{cls}", {"where": where, "count": 1, "limit": 0})
    assert r.status_code == 200, r.text
    return int(r.json()["count"])


def rest_error(r: Any) -> dict[str, Any]:
    return {"code": r.json()["code"], "error": r.json()["error"]}


def test_create_and_link_creates_through_the_write_path(gql: Gql, api: Api) -> None:
    rep, other = api.signup(), api.signup()
    tag = unique("n")
    fields = {
        "title": f"{tag} deal",
        "contact": {
            "createAndLink": {
                "name": f"  {tag} Ann ",
                "email": "ANN@Example.COM",
                "company": {"createAndLink": {"name": f"{tag} Acme"}},
            }
        },
        "company": {"createAndLink": {"name": f"{tag} Beta"}},
    }
    deal = gql(CREATE_DEAL, {"f": fields}, as_=rep["sessionToken"])["createDeal"]["deal"]
    contact = deal["contact"]
    # the Contact hook ran on the nested object: name trimmed, email normalised, createdBy from the session
    assert contact["name"] == f"{tag} Ann" and contact["email"] == "ann@example.com"
    assert contact["createdBy"] == {"objectId": rep["objectId"]}
    assert contact["company"] == {"name": f"{tag} Acme"} and deal["company"] == {"name": f"{tag} Beta"}
    # REST sees the same objects, linked, with the ACL the hooks give the rep's own records
    stored = api.get(f"classes/Deal/{deal['objectId']}", {"include": "contact.company"}).json()
    assert stored["contact"]["objectId"] == contact["objectId"]
    assert stored["contact"]["company"]["name"] == f"{tag} Acme"
    assert stored["contact"]["ACL"] == api.get(f"classes/Deal/{deal['objectId']}").json()["ACL"]
    r = api.get(f"classes/Contact/{contact['objectId']}", as_=other["sessionToken"])
    assert r.status_code == 404  # another rep may not read the rep's nested contact, as for any of theirs

    # update with createAndLink replaces the pointer with a new object
    changed = gql(
        UPDATE_DEAL,
        {"id": deal["id"], "f": {"company": {"createAndLink": {"name": f"{tag} Gamma"}}}},
        as_=rep["sessionToken"],
    )
    assert changed["updateDeal"]["deal"]["company"] == {"name": f"{tag} Gamma"}
    assert count(api, "Company", {"name": {"$regex": f"^{tag} "}}) == 3
    both = {"link": contact["objectId"], "createAndLink": {"name": "x"}}
    assert gql.error(UPDATE_DEAL, {"id": deal["id"], "f": {"contact": both}}, as_=rep["sessionToken"]) == {
        "code": 106,
        "error": "You need to provide link OR createLink on the pointer mutation of field contact",
    }


def test_a_failed_outer_write_leaves_no_nested_object(gql: Gql, api: Api) -> None:
    rep = api.signup()
    tag = unique("f")
    # the outer object's hook refuses (stage): the nested contact and company, already created, are rolled back
    bad = {
        "title": f"{tag} deal",
        "stage": "bogus",
        "contact": {"createAndLink": {"name": f"{tag} Ann", "company": {"createAndLink": {"name": f"{tag} Co"}}}},
    }
    rest = api.post("classes/Deal", {"title": f"{tag} deal", "stage": "bogus"}, as_=rep["sessionToken"])
    assert gql.error(CREATE_DEAL, {"f": bad}, as_=rep["sessionToken"]) == rest_error(rest)
    # a nested object's own hook refusing: nothing of the write either
    nameless = {"title": f"{tag} deal", "company": {"createAndLink": {"name": "  "}}}
    assert gql.error(CREATE_DEAL, {"f": nameless}, as_=rep["sessionToken"]) == {
        "code": 142,
        "error": "Company name is required",
    }
    assert count(api, "Deal", {"title": f"{tag} deal"}) == 0
    assert count(api, "Contact", {"name": f"{tag} Ann"}) == 0
    assert count(api, "Company", {"name": f"{tag} Co"}) == 0

    # a conditional update that loses: its nested object is not left behind either
    deal = gql(CREATE_DEAL, {"f": {"title": f"{tag} kept"}}, as_=rep["sessionToken"])["createDeal"]["deal"]
    stale = "2000-01-01T00:00:00.000Z"
    nested = {"company": {"createAndLink": {"name": f"{tag} Late"}}}
    r = gql.raw(UPDATE_DEAL, {"id": deal["id"], "f": nested, "v": stale}, as_=rep["sessionToken"])
    assert r.json()["errors"][0]["extensions"]["code"] == 409
    assert count(api, "Company", {"name": f"{tag} Late"}) == 0


@pytest.fixture(scope="module")
def classes(api: Api) -> dict[str, str]:
    """Item (anyone may create), Locked (only the master key may create), Holder (a pointer to each, a relation to
    each) and Sealed (a relation to Item; only the master key may create)."""
    names = {k: unique(k) for k in ("Item", "Locked", "Holder", "Sealed")}
    public = {"find": {"*": True}, "get": {"*": True}, "count": {"*": True}, "update": {"*": True}}
    for key, fields in (("Item", {}), ("Locked", {})):
        clp = {**public, "create": {"*": True} if key == "Item" else {}}
        fields = {"label": {"type": "String"}}
        r = api.post(f"schemas/{names[key]}", {"className": names[key], "fields": fields, "classLevelPermissions": clp})
        assert r.status_code == 200, r.text
    holder_fields = {
        "title": {"type": "String"},
        "item": {"type": "Pointer", "targetClass": names["Item"]},
        "locked": {"type": "Pointer", "targetClass": names["Locked"]},
        "items": {"type": "Relation", "targetClass": names["Item"]},
        "lockeds": {"type": "Relation", "targetClass": names["Locked"]},
    }
    for key, fields, create in (("Holder", holder_fields, {"*": True}), ("Sealed", holder_fields, {})):
        clp = {**public, "create": create}
        r = api.post(f"schemas/{names[key]}", {"className": names[key], "fields": fields, "classLevelPermissions": clp})
        assert r.status_code == 200, r.text
    return names


def holder_mutation(cls: str, op: str = "create") -> str:
    key = cls[:1].lower() + cls[1:]
    t = cls[:1].upper() + cls[1:]
    args = "id: $id, fields: $f" if op == "update" else "fields: $f"
    variables = "$id: ID!, " if op == "update" else ""
    item = "objectId label"
    return (
        f"mutation({variables}$f: {op.capitalize()}{t}FieldsInput) {{ {op}{t}(input: {{{args}}}) {{ {key} {{ objectId "
        f"item {{ {item} }} items(order: [label_ASC]) {{ count edges {{ node {{ {item} }} }} }} }} }} }}"
    )


def test_create_and_add_on_a_relation(gql: Gql, api: Api, classes: dict[str, str]) -> None:
    item, holder = classes["Item"], classes["Holder"]
    user = api.signup()["sessionToken"]
    existing = api.post(f"classes/{item}", {"label": "c existing"}, as_=user).json()["objectId"]
    fields = {
        "title": "h",
        "item": {"createAndLink": {"label": "p pointed"}},
        "items": {"add": [existing], "createAndAdd": [{"label": "a new"}, {"label": "b new"}]},
    }
    key = holder[:1].lower() + holder[1:]
    made = gql(holder_mutation(holder), {"f": fields}, as_=user)[f"create{holder}"][key]
    assert made["item"]["label"] == "p pointed"
    labels = [e["node"]["label"] for e in made["items"]["edges"]]
    assert labels == ["a new", "b new", "c existing"]
    related = {"$relatedTo": {"object": pointer(holder, made["objectId"]), "key": "items"}}
    rest = api.get(f"classes/{item}", {"where": related, "order": "label"}).json()["results"]
    assert [o["label"] for o in rest] == labels

    # update: createAndAdd and remove together (parse-server's Batch of an AddRelation and a RemoveRelation)
    both = {"items": {"createAndAdd": [{"label": "d newer"}], "remove": [existing]}}
    after = gql(holder_mutation(holder, "update"), {"id": made["objectId"], "f": both}, as_=user)
    labels = [e["node"]["label"] for e in after[f"update{holder}"][key]["items"]["edges"]]
    assert labels == ["a new", "b new", "d newer"]
    assert gql.error(holder_mutation(holder, "update"), {"id": made["objectId"], "f": {"items": {}}}, as_=user) == {
        "code": 106,
        "error": "You need to provide at least one operation on the relation mutation of field items",
    }


def test_nested_creates_need_the_create_permission_rest_needs(gql: Gql, api: Api, classes: dict[str, str]) -> None:
    item, locked, holder, sealed = classes["Item"], classes["Locked"], classes["Holder"], classes["Sealed"]
    user = api.signup()["sessionToken"]
    tag = unique("p")
    rest = rest_error(api.post(f"classes/{locked}", {"label": tag}, as_=user))
    assert rest["code"] == 119
    for fields in (
        {"title": tag, "locked": {"createAndLink": {"label": tag}}},
        {"title": tag, "lockeds": {"createAndAdd": [{"label": tag}]}},
        # the allowed nested Item is created first, then Locked is refused: the Item is rolled back with it
        {"title": tag, "item": {"createAndLink": {"label": tag}}, "locked": {"createAndLink": {"label": tag}}},
    ):
        assert gql.error(holder_mutation(holder), {"f": fields}, as_=user) == rest
    # the outer class refuses (no create on Sealed): the nested Items it created first are gone too
    sealed_rest = rest_error(api.post(f"classes/{sealed}", {"title": tag}, as_=user))
    assert sealed_rest["code"] == 119
    fields = {"title": tag, "items": {"createAndAdd": [{"label": tag}, {"label": tag}]}}
    assert gql.error(holder_mutation(sealed), {"f": fields}, as_=user) == sealed_rest
    for cls in (item, locked, holder, sealed):
        where = {"label": tag} if cls in (item, locked) else {"title": tag}
        assert count(api, cls, where) == 0, cls
    # the master key may do what REST lets it do
    key = holder[:1].lower() + holder[1:]
    fields = {"title": tag, "locked": {"createAndLink": {"label": tag}}}
    assert gql(holder_mutation(holder), {"f": fields})[f"create{holder}"][key]["objectId"]
    assert count(api, locked, {"label": tag}) == 1


def test_have_and_have_not_on_relation_fields(gql: Gql, api: Api, classes: dict[str, str]) -> None:
    item, holder = classes["Item"], classes["Holder"]
    a, b = api.signup()["sessionToken"], api.signup()["sessionToken"]
    tag = unique("r")
    owner_a = api.get("users/me", as_=a).json()["objectId"]
    ids = {}
    for label, acl in (("red", None), ("blue", None), ("secret", {owner_a: {"read": True, "write": True}})):
        body: dict[str, Any] = {"label": f"{tag} {label}"}
        if acl:
            body["ACL"] = acl
        ids[label] = api.post(f"classes/{item}", body).json()["objectId"]
    holders = {}
    for title, members in (("h-red", ["red"]), ("h-both", ["red", "blue"]), ("h-secret", ["secret"]), ("h-none", [])):
        r = api.post(f"classes/{holder}", {"title": f"{tag} {title}"})
        holders[title] = r.json()["objectId"]
        if members:
            op = {"__op": "AddRelation", "objects": [pointer(item, ids[m]) for m in members]}
            assert api.put(f"classes/{holder}/{holders[title]}", {"items": op}).status_code == 200
    plural = find_field(holder)
    find = f"query($w: {holder}WhereInput) {{ {plural}(where: $w, order: [title_ASC]) "
    find += "{ edges { node { title } } } }"
    mine = {"title": {"$regex": f"^{tag} "}}

    def titles(items: dict[str, Any], rest: dict[str, Any], as_: str) -> list[str]:
        where = {"title": {"matchesRegex": f"^{tag} "}, "items": items}
        got = [e["node"]["title"][len(tag) + 1 :] for e in gql(find, {"w": where}, as_=as_)[plural]["edges"]]
        r = api.get(f"classes/{holder}", {"where": {**mine, "items": rest}, "order": "title"}, as_=as_)
        assert r.status_code == 200, r.text
        assert got == [o["title"][len(tag) + 1 :] for o in r.json()["results"]]
        return got

    red = {"label": {"equalTo": f"{tag} red"}}
    rest_red = {"$inQuery": {"className": item, "where": {"label": f"{tag} red"}}}
    assert titles({"have": red}, rest_red, a) == ["h-both", "h-red"]
    not_red = {"$notInQuery": {"className": item, "where": {"label": f"{tag} red"}}}
    assert titles({"haveNot": red}, not_red, a) == ["h-none", "h-secret"]
    # what the caller may not read does not match: only A sees the secret item
    secret = {"label": {"equalTo": f"{tag} secret"}}
    rest_secret = {"$inQuery": {"className": item, "where": {"label": f"{tag} secret"}}}
    assert titles({"have": secret}, rest_secret, a) == ["h-secret"]
    assert titles({"have": secret}, rest_secret, b) == []
    anything = {"className": item, "where": {"objectId": {"$exists": True}}}
    assert titles({"exists": True}, {"$inQuery": anything}, a) == ["h-both", "h-red", "h-secret"]
    assert titles({"exists": True}, {"$inQuery": anything}, b) == ["h-both", "h-red"]
    assert titles({"exists": False}, {"$notInQuery": anything}, b) == ["h-none", "h-secret"]
    # several at once: all of them
    blue = {"label": {"equalTo": f"{tag} blue"}}
    where = {"title": {"matchesRegex": f"^{tag} "}, "items": {"have": red, "haveNot": blue}}
    assert [e["node"]["title"] for e in gql(find, {"w": where}, as_=a)[plural]["edges"]] == [f"{tag} h-red"]
