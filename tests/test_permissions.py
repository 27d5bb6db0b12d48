"""Class-level permissions beyond the CRM's defaults: pointer permissions, protected fields, role inheritance."""

from __future__ import annotations

from typing import Any

from conftest import Api, unique


def ptr(cls: str, oid: str) -> dict[str, str]:
    return {"__type": "Pointer", "className": cls, "objectId": oid}


def test_pointer_permissions(api: Api) -> None:
    cls = unique("Ticket")
    clp: dict[str, Any] = {
        "find": {"requiresAuthentication": True}, "count": {"requiresAuthentication": True},
        "get": {"requiresAuthentication": True}, "create": {"requiresAuthentication": True},
        "update": {}, "delete": {}, "addField": {},
        "readUserFields": ["owner"], "writeUserFields": ["owner"], "protectedFields": {},
    }
    fields = {"owner": {"type": "Pointer", "targetClass": "_User"}, "title": {"type": "String"}}
    assert api.post(f"schemas/{cls}", {"fields": fields, "classLevelPermissions": clp}).status_code == 200
    a, b = api.signup(), api.signup()
    mine = api.post(f"classes/{cls}", {"title": "a's", "owner": ptr("_User", a["objectId"])}).json()["objectId"]
    theirs = api.post(f"classes/{cls}", {"title": "b's", "owner": ptr("_User", b["objectId"])}).json()["objectId"]
    seen = {o["objectId"] for o in api.get(f"classes/{cls}", as_=a["sessionToken"]).json()["results"]}
    assert seen == {mine}  # the row ACLs are public; the pointer permission alone restricts
    assert api.get(f"classes/{cls}/{theirs}", as_=a["sessionToken"]).status_code == 404
    assert api.put(f"classes/{cls}/{mine}", {"title": "edited"}, as_=a["sessionToken"]).status_code == 200
    assert api.put(f"classes/{cls}/{theirs}", {"title": "x"}, as_=a["sessionToken"]).status_code == 404
    assert api.get(f"classes/{cls}", as_=None).json()["code"] == 101


def test_protected_fields_and_user_field_exemption(api: Api) -> None:
    cls = unique("Profile")
    clp = {op: {"*": True} for op in ("find", "count", "get", "create", "update", "delete", "addField")}
    clp["protectedFields"] = {"*": ["salary", "phone"], "userField:owner": ["salary"]}
    fields = {"owner": {"type": "Pointer", "targetClass": "_User"}, "salary": {"type": "Number"},
              "phone": {"type": "String"}, "name": {"type": "String"}}
    api.post(f"schemas/{cls}", {"fields": fields, "classLevelPermissions": clp})
    a, b = api.signup(), api.signup()
    oid = api.post(f"classes/{cls}", {"name": "A", "salary": 10, "phone": "555",
                                      "owner": ptr("_User", a["objectId"])}).json()["objectId"]
    as_b = api.get(f"classes/{cls}/{oid}", as_=b["sessionToken"]).json()
    assert "salary" not in as_b and "phone" not in as_b and as_b["name"] == "A"
    as_a = api.get(f"classes/{cls}/{oid}", as_=a["sessionToken"]).json()
    assert as_a["phone"] == "555" and "salary" not in as_a  # the owner group shows phone, still hides salary
    assert api.get(f"classes/{cls}/{oid}").json()["salary"] == 10  # the master key sees everything
    r = api.get(f"classes/{cls}", params={"where": {"salary": {"$gt": 5}}}, as_=b["sessionToken"])
    assert r.json()["code"] == 119


def test_admins_inherit_managers(api: Api) -> None:
    rep, admin = api.signup(), api.signup()
    deal = api.post("classes/Deal", {"title": "Rep's"}, as_=rep["sessionToken"]).json()["objectId"]
    assert api.get(f"classes/Deal/{deal}", as_=admin["sessionToken"]).status_code == 404
    admins = api.get("roles", params={"where": {"name": "Admins"}}).json()["results"][0]["objectId"]
    api.put(f"roles/{admins}", {"users": {"__op": "AddRelation", "objects": [ptr("_User", admin["objectId"])]}})
    assert api.get(f"classes/Deal/{deal}", as_=admin["sessionToken"]).status_code == 200
    assert api.put(f"classes/Deal/{deal}", {"stage": "won"}, as_=admin["sessionToken"]).status_code == 200


def test_roles_need_an_acl_and_a_valid_name(api: Api) -> None:
    assert api.post("roles", {"name": unique("R")}).json()["code"] == 111
    assert api.post("roles", {"name": "Bad Name!", "ACL": {"*": {"read": True}}}).json()["code"] == 139
    name = unique("R")
    assert api.post("roles", {"name": name, "ACL": {"*": {"read": True}}}).status_code == 201
    assert api.post("roles", {"name": name, "ACL": {"*": {"read": True}}}).json()["code"] == 137
