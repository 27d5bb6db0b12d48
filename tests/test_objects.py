"""Object CRUD over real HTTP: ids, timestamps, types, field operations, relations."""

from __future__ import annotations

import re

from conftest import Api, unique


def test_create_get_update_delete(api: Api) -> None:
    cls = unique("Obj")
    r = api.post(f"classes/{cls}", {"title": "Big", "amount": 5, "won": False})
    assert r.status_code == 201
    body = r.json()
    assert re.fullmatch(r"[A-Za-z0-9]{10}", body["objectId"])
    assert r.headers["location"].endswith(f"/classes/{cls}/{body['objectId']}")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", body["createdAt"])
    oid = body["objectId"]
    got = api.get(f"classes/{cls}/{oid}").json()
    assert got["title"] == "Big" and got["amount"] == 5 and got["won"] is False
    assert got["createdAt"] == got["updatedAt"] == body["createdAt"]
    r = api.put(f"classes/{cls}/{oid}", {"title": "Bigger"})
    assert r.status_code == 200 and set(r.json()) == {"updatedAt"}
    got = api.get(f"classes/{cls}/{oid}").json()
    assert got["title"] == "Bigger" and got["updatedAt"] > got["createdAt"]
    assert api.delete(f"classes/{cls}/{oid}").json() == {}
    r = api.get(f"classes/{cls}/{oid}")
    assert r.status_code == 404 and r.json() == {"code": 101, "error": "Object not found."}


def test_types_round_trip(api: Api) -> None:
    cls, target = unique("Typ"), unique("Tgt")
    t = api.post(f"classes/{target}", {"name": "t"}).json()["objectId"]
    values = {
        "s": "héllo ☃ 'quote' \"dq\" \\ back",
        "n": 1.5,
        "i": -42,
        "b": True,
        "d": {"__type": "Date", "iso": "2025-01-02T03:04:05.678Z"},
        "o": {"nested": {"a": [1, None, "x"]}, "k": None},
        "a": [1, "two", {"three": 3}, [4]],
        "p": {"__type": "Pointer", "className": target, "objectId": t},
    }
    oid = api.post(f"classes/{cls}", values).json()["objectId"]
    got = api.get(f"classes/{cls}/{oid}").json()
    for key, value in values.items():
        assert got[key] == value, key
    schema = api.get(f"schemas/{cls}").json()["fields"]
    assert schema["p"] == {"type": "Pointer", "targetClass": target}
    assert {k: schema[k]["type"] for k in "snibdoa"} == {
        "s": "String",
        "n": "Number",
        "i": "Number",
        "b": "Boolean",
        "d": "Date",
        "o": "Object",
        "a": "Array",
    }


def test_type_mismatch_is_111(api: Api) -> None:
    cls = unique("Mis")
    api.post(f"classes/{cls}", {"amount": 1})
    r = api.post(f"classes/{cls}", {"amount": "one"})
    assert r.status_code == 400
    assert r.json() == {"code": 111, "error": f"schema mismatch for {cls}.amount; expected Number but got String"}


def test_null_and_delete_remove_fields(api: Api) -> None:
    cls = unique("Del")
    oid = api.post(f"classes/{cls}", {"a": 1, "b": 2}).json()["objectId"]
    api.put(f"classes/{cls}/{oid}", {"a": None, "b": {"__op": "Delete"}})
    got = api.get(f"classes/{cls}/{oid}").json()
    assert "a" not in got and "b" not in got


def test_field_operations(api: Api) -> None:
    cls = unique("Ops")
    oid = api.post(f"classes/{cls}", {"n": 1, "tags": ["a"], "plain": ["x"]}).json()["objectId"]
    r = api.put(
        f"classes/{cls}/{oid}",
        {
            "n": {"__op": "Increment", "amount": 4},
            "tags": {"__op": "AddUnique", "objects": ["a", "b", "b"]},
            "plain": {"__op": "Add", "objects": ["x", "y"]},
        },
    ).json()
    assert r["n"] == 5 and r["tags"] == ["a", "b"] and r["plain"] == ["x", "x", "y"]
    r = api.put(
        f"classes/{cls}/{oid}",
        {"plain": {"__op": "Remove", "objects": ["x"]}, "fresh": {"__op": "Increment", "amount": -2}},
    ).json()
    assert r["plain"] == ["y"] and r["fresh"] == -2
    r = api.put(f"classes/{cls}/{oid}", {"n": {"__op": "Bogus"}})
    assert r.json() == {"code": 108, "error": "The Bogus operator is not supported yet."}


def test_relations(api: Api) -> None:
    owner, member = unique("Team"), unique("Member")
    ids = [api.post(f"classes/{member}", {"i": i}).json()["objectId"] for i in range(3)]
    pointers = [{"__type": "Pointer", "className": member, "objectId": i} for i in ids]
    team = api.post(f"classes/{owner}", {"members": {"__op": "AddRelation", "objects": pointers}}).json()["objectId"]
    got = api.get(f"classes/{owner}/{team}").json()
    assert got["members"] == {"__type": "Relation", "className": member}
    related = {"$relatedTo": {"object": {"__type": "Pointer", "className": owner, "objectId": team}, "key": "members"}}
    found = api.get(f"classes/{member}", params={"where": related}).json()["results"]
    assert sorted(o["objectId"] for o in found) == sorted(ids)
    api.put(f"classes/{owner}/{team}", {"members": {"__op": "RemoveRelation", "objects": pointers[:1]}})
    found = api.get(f"classes/{member}", params={"where": related}).json()["results"]
    assert sorted(o["objectId"] for o in found) == sorted(ids[1:])
    # equality on a relation field means "contains"
    having = api.get(f"classes/{owner}", params={"where": {"members": pointers[2]}}).json()["results"]
    assert [o["objectId"] for o in having] == [team]


def test_client_sent_object_id_is_rejected(api: Api) -> None:
    r = api.post(f"classes/{unique()}", {"objectId": "abcdefghij"})
    assert r.json() == {"code": 105, "error": "objectId is an invalid field name."}


def test_acl_is_returned_as_written(api: Api) -> None:
    cls = unique("Acl")
    acl = {"*": {"read": True}, "role:Managers": {"read": True, "write": True}}
    oid = api.post(f"classes/{cls}", {"x": 1, "ACL": acl}).json()["objectId"]
    assert api.get(f"classes/{cls}/{oid}").json()["ACL"] == acl
    bare = api.post(f"classes/{cls}", {"x": 2}).json()["objectId"]
    assert "ACL" not in api.get(f"classes/{cls}/{bare}").json()


def test_dotted_keys_set_sub_keys(api: Api) -> None:
    cls = unique("Dot")
    oid = api.post(f"classes/{cls}", {"meta": {"a": 1, "keep": True}}).json()["objectId"]
    api.put(f"classes/{cls}/{oid}", {"meta.a": 2, "meta.deep.x": "y"})
    assert api.get(f"classes/{cls}/{oid}").json()["meta"] == {"a": 2, "keep": True, "deep": {"x": "y"}}
    api.put(f"classes/{cls}/{oid}", {"meta.keep": {"__op": "Delete"}})
    assert api.get(f"classes/{cls}/{oid}").json()["meta"] == {"a": 2, "deep": {"x": "y"}}
    made = api.post(f"classes/{cls}", {"meta.z": 1}).json()["objectId"]
    assert api.get(f"classes/{cls}/{made}").json()["meta"] == {"z": 1}


def test_increment_on_nested_keys(api: Api) -> None:
    cls = unique("DotInc")
    oid = api.post(f"classes/{cls}", {"o": {"n": 1, "keep": "k", "a": {"b": {"x": 2}}}}).json()["objectId"]
    inc = {"__op": "Increment", "amount": 3}
    r = api.put(f"classes/{cls}/{oid}", {"o.n": inc, "o.a.b.c.d": inc, "o.a.b.x": {"__op": "Increment", "amount": -1}})
    assert r.status_code == 200, r.text
    want = {"n": 4, "keep": "k", "a": {"b": {"x": 1, "c": {"d": 3}}}}
    assert r.json()["o"] == want  # the whole object: the SDK merges it over its copy
    assert api.get(f"classes/{cls}/{oid}").json()["o"] == want
    # a missing field, a non-number sub-key and a fractional amount; Delete beside an Increment
    r = api.put(
        f"classes/{cls}/{oid}",
        {"fresh.a.b": inc, "o.keep": {"__op": "Increment", "amount": 0.5}, "o.n": {"__op": "Delete"}},
    )
    assert r.status_code == 200, r.text
    got = api.get(f"classes/{cls}/{oid}").json()
    assert got["fresh"] == {"a": {"b": 3}}
    assert got["o"] == {"keep": 0.5, "a": {"b": {"x": 1, "c": {"d": 3}}}}
    made = api.post(f"classes/{cls}", {"o.z.y": {"__op": "Increment", "amount": 2}}).json()["objectId"]
    assert api.get(f"classes/{cls}/{made}").json()["o"] == {"z": {"y": 2}}
    bad = api.put(f"classes/{cls}/{oid}", {"o.n": {"__op": "Increment", "amount": "1"}})
    assert bad.status_code == 400 and bad.json()["code"] == 107
    bad = api.put(f"classes/{cls}/{oid}", {"o.list": {"__op": "Add", "objects": [1]}})
    assert bad.status_code == 400 and bad.json()["code"] == 105
    assert api.put(f"classes/{cls}/{oid}", {"name": {"__op": "Increment", "amount": 1}}).status_code == 200
    bad = api.put(f"classes/{cls}/{oid}", {"name.x": {"__op": "Increment", "amount": 1}})
    assert bad.status_code == 400 and bad.json()["code"] == 111  # name is a Number, not an Object
    huge = {"__op": "Increment", "amount": 1e308}
    assert api.put(f"classes/{cls}/{oid}", {"o.big": huge}).status_code == 200
    bad = api.put(f"classes/{cls}/{oid}", {"o.big": huge, "o.keep": {"__op": "Delete"}})
    assert bad.status_code == 400 and bad.json()["code"] == 111  # no Infinity stored, nothing of the save applied
    assert api.get(f"classes/{cls}/{oid}").json()["o"]["keep"] == 0.5


def test_nested_increments_never_lose_updates(api: Api) -> None:
    from concurrent.futures import ThreadPoolExecutor

    cls = unique("DotRace")
    oid = api.post(f"classes/{cls}", {"stats": {"views": 0}}).json()["objectId"]

    def bump(_: int) -> int:
        body = {
            "stats.views": {"__op": "Increment", "amount": 1},
            "stats.deep.hits": {"__op": "Increment", "amount": 2},
        }
        return api.put(f"classes/{cls}/{oid}", body).status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(bump, range(40))) == {200}
    assert api.get(f"classes/{cls}/{oid}").json()["stats"] == {"views": 40, "deep": {"hits": 80}}
