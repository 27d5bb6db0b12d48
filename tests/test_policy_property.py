"""Property test: `Policy`'s in-memory answers (can_read, visible_fields, can_write) equal what the server's SQL
answers, for random CLPs (pointer permissions, readUserFields/writeUserFields, protected fields), random ACLs,
roles with inheritance, and every kind of caller. Live queries, GraphQL and agent tools will use the in-memory
answers; REST uses the SQL ones: they must never disagree."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from conftest import Api, unique
from parsecrm.errors import ParseError
from parsecrm.security.caller import Caller
from parsecrm.security.policy import Policy
from parsecrm.storage.model import ClassSchema

N_USERS = 4
N_ROWS = 6


def ptr(oid: str) -> dict[str, str]:
    return {"__type": "Pointer", "className": "_User", "objectId": oid}


class World:
    """Users u0..u3; role A holds u0 and u1, role B holds u2, and A's `roles` holds B (so u2 holds A too)."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.tag = unique("")
        self.users = [api.signup(unique("pol")) for _ in range(N_USERS)]
        self.ids = [u["objectId"] for u in self.users]
        self.role_a, self.role_b = f"PolA{self.tag}", f"PolB{self.tag}"
        public = {"*": {"read": True}}
        b = api.post("roles", {"name": self.role_b, "ACL": public, "users": rel(self.ids[2:3])}).json()
        api.post(
            "roles",
            {
                "name": self.role_a,
                "ACL": public,
                "users": rel(self.ids[:2]),
                "roles": {
                    "__op": "AddRelation",
                    "objects": [{"__type": "Pointer", "className": "_Role", "objectId": b["objectId"]}],
                },
            },
        )
        self.roles = [{self.role_a}, {self.role_a}, {self.role_a, self.role_b}, set()]
        self.cls = f"PolProp{self.tag}"
        fields = {
            "owner": {"type": "Pointer", "targetClass": "_User"},
            "team": {"type": "Array"},
            "secret": {"type": "String"},
            "note": {"type": "String"},
            "touch": {"type": "Number"},
        }
        assert api.post(f"schemas/{self.cls}", {"className": self.cls, "fields": fields}).status_code == 200

    def callers(self) -> list[tuple[str | None, Caller]]:
        out: list[tuple[str | None, Caller]] = [(None, Caller())]
        for user, roles in zip(self.users, self.roles, strict=True):
            out.append((user["sessionToken"], Caller(user_id=user["objectId"], roles=frozenset(roles))))
        return out


def rel(ids: list[str]) -> dict[str, Any]:
    return {"__op": "AddRelation", "objects": [ptr(i) for i in ids]}


@pytest.fixture(scope="module")
def world(api: Api) -> World:
    return World(api)


@st.composite
def principal(draw: st.DrawFn, world: World) -> str:
    return draw(st.sampled_from(["*", *world.ids, f"role:{world.role_a}", f"role:{world.role_b}"]))


@st.composite
def clp_entry(draw: st.DrawFn, world: World) -> dict[str, Any]:
    kind = draw(st.sampled_from(["public", "auth", "user", "role", "pointer", "none"]))
    if kind == "public":
        return {"*": True}
    if kind == "auth":
        return {"requiresAuthentication": True}
    if kind == "user":
        return {draw(st.sampled_from(world.ids)): True}
    if kind == "role":
        return {f"role:{draw(st.sampled_from([world.role_a, world.role_b]))}": True}
    if kind == "pointer":
        return {"pointerFields": [draw(st.sampled_from(["owner", "team"]))]}
    return {}


@st.composite
def clps(draw: st.DrawFn, world: World) -> dict[str, Any]:
    clp: dict[str, Any] = {op: draw(clp_entry(world)) for op in ("find", "get", "count", "update", "delete")}
    clp["create"] = {"*": True}
    clp["addField"] = {}
    if draw(st.booleans()):
        clp["readUserFields"] = [draw(st.sampled_from(["owner", "team"]))]
    if draw(st.booleans()):
        clp["writeUserFields"] = [draw(st.sampled_from(["owner", "team"]))]
    groups = draw(
        st.sampled_from(
            [
                {},
                {"*": ["secret"]},
                {"*": ["secret", "note"], "userField:owner": ["note"]},
                {"authenticated": ["secret"]},
                {f"role:{world.role_a}": ["note"], "*": ["note"]},
                {"*": ["secret"], f"role:{world.role_b}": ["secret", "note"]},
            ]
        )
    )
    clp["protectedFields"] = groups
    return clp


@st.composite
def rows(draw: st.DrawFn, world: World) -> list[dict[str, Any]]:
    out = []
    for i in range(N_ROWS):
        row: dict[str, Any] = {"secret": f"s{i}", "note": f"n{i}"}
        if draw(st.booleans()):
            row["owner"] = ptr(draw(st.sampled_from(world.ids)))
        if draw(st.booleans()):
            row["team"] = [ptr(u) for u in draw(st.lists(st.sampled_from(world.ids), max_size=2, unique=True))]
        if draw(st.integers(0, 4)):
            acl: dict[str, Any] = {}
            for p in draw(st.lists(principal(world), max_size=3, unique=True)):
                acl[p] = {k: True for k in draw(st.sampled_from([["read"], ["write"], ["read", "write"]]))}
            row["ACL"] = acl
        out.append(row)
    return out


def _check_code(policy: Policy, schema: ClassSchema, op: str) -> int | None:
    try:
        policy.check(schema, op)
    except ParseError as exc:
        return int(exc.code)
    return None


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_policy_in_memory_equals_sql(world: World, data: st.DataObject) -> None:
    api, cls = world.api, world.cls
    clp = data.draw(clps(world), label="clp")
    bodies = data.draw(rows(world), label="rows")
    assert api.put(f"schemas/{cls}", {"classLevelPermissions": clp}).status_code == 200
    api.delete(f"purge/{cls}")
    made = api.post(
        "batch", {"requests": [{"method": "POST", "path": f"/parse/classes/{cls}", "body": b} for b in bodies]}
    ).json()
    assert all("success" in m for m in made), made
    stored = api.get(f"classes/{cls}", params={"limit": 100}).json()["results"]
    schema = ClassSchema.from_json(api.get(f"schemas/{cls}").json())
    for token, caller in world.callers():
        policy = Policy(caller)
        who = caller.user_id or "anonymous"
        # reads: a find answers the rows can_read admits, each with the fields visible_fields keeps
        found = api.get(f"classes/{cls}", params={"limit": 100}, as_=token)
        denied = _check_code(policy, schema, "find")
        if denied is not None:
            assert found.status_code >= 400 and found.json()["code"] == denied, (who, found.text)
        else:
            assert found.status_code == 200, (who, found.text)
            expected = {
                r["objectId"]: policy.visible_fields(schema, r) for r in stored if policy.can_read(schema, r, "find")
            }
            got = {r["objectId"]: r for r in found.json()["results"]}
            note(f"{who}: sql {sorted(got)} memory {sorted(expected)}")
            assert set(got) == set(expected), (who, json.dumps(clp))
            for oid, obj in got.items():  # ("touch" is written by the previous callers' updates below)
                assert set(obj) - {"touch"} == set(expected[oid]), (who, oid, sorted(obj), sorted(expected[oid]))
        # gets and updates, one batch each
        gets = api.post(
            "batch",
            {"requests": [{"method": "GET", "path": f"/parse/classes/{cls}/{r['objectId']}"} for r in stored]},
            as_=token,
        ).json()
        puts = api.post(
            "batch",
            {
                "requests": [
                    {"method": "PUT", "path": f"/parse/classes/{cls}/{r['objectId']}", "body": {"touch": 1}}
                    for r in stored
                ]
            },
            as_=token,
        ).json()
        for row, got_one, put in zip(stored, gets, puts, strict=True):
            assert ("success" in got_one) == policy.can_read(schema, row, "get"), (who, row, got_one)
            assert ("success" in put) == policy.can_write(schema, row, "update"), (who, row, put, json.dumps(clp))
