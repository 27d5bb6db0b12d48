"""The permission matrix of test_security.py, over GraphQL, with the same expectations: the same world (reps A and
B, a manager, the master key), the same Parse codes and messages, the same leak probes (count, pointers, `have`)."""

from __future__ import annotations

import pytest

import test_security
from conftest import Api, Server
from graphql_client import Gql
from test_security import CLASSES, NEED_AUTH, NOT_FOUND, World, body_for

world = test_security.world  # the same world fixture as the REST matrix (module-scoped: built anew here)


@pytest.fixture(scope="module")
def gql(server: Server) -> Gql:
    return Gql(server)


def key(cls: str) -> str:
    return cls[:1].lower() + cls[1:]


def plural(cls: str) -> str:
    return {"Company": "companies", "Activity": "activities"}.get(cls, key(cls) + "s")


def gql_fields(cls: str, body: dict) -> dict:
    """A REST body → the GraphQL fields input (pointers become links)."""
    out = {}
    for k, v in body.items():
        out[k] = (
            {"link": v["objectId"] if k != "relatedTo" else _global("Deal", v["objectId"])}
            if isinstance(v, dict)
            else v
        )
    return out


def _global(type_: str, oid: str) -> str:
    import base64

    return base64.b64encode(f"{type_}:{oid}".encode()).decode()


def ids_seen(gql: Gql, cls: str, as_: str | None) -> set[str]:
    data = gql(f"{{ {plural(cls)}(first: 1000) {{ edges {{ node {{ objectId }} }} }} }}", as_=as_)
    return {e["node"]["objectId"] for e in data[plural(cls)]["edges"]}


def get_one(cls: str) -> str:
    return f"query($id: ID!) {{ {key(cls)}(id: $id) {{ objectId }} }}"


def update_one(cls: str, note: str = "notes") -> str:
    fields = f'{{{note}: "hijack"}}'
    return f"mutation($id: ID!) {{ update{cls}(input: {{id: $id, fields: {fields}}}) {{ {key(cls)} {{ objectId }} }} }}"


def delete_one(cls: str) -> str:
    return f"mutation($id: ID!) {{ delete{cls}(input: {{id: $id}}) {{ {key(cls)} {{ objectId }} }} }}"


def note_of(cls: str) -> str:
    return "description" if cls == "Activity" else "notes"


@pytest.mark.parametrize("cls", CLASSES)
def test_anonymous_gets_nothing(gql: Gql, world: World, cls: str) -> None:
    oid = world.ids["a"][cls]
    create = (
        f"mutation($f: Create{cls}FieldsInput) {{ create{cls}(input: {{fields: $f}}) {{ {key(cls)} {{ objectId }} }} }}"
    )
    for query, variables in [
        (f"{{ {plural(cls)} {{ edges {{ node {{ objectId }} }} }} }}", {}),
        (get_one(cls), {"id": oid}),
        (create, {"f": gql_fields(cls, body_for(cls, "anon", world.ids["a"]))}),
        (update_one(cls, note_of(cls)), {"id": oid}),
        (delete_one(cls), {"id": oid}),
        (f"{{ {plural(cls)}(first: 0) {{ count }} }}", {}),
    ]:
        assert gql.error(query, variables, as_=None) == NEED_AUTH, query


@pytest.mark.parametrize("cls", CLASSES)
def test_reps_see_only_their_own(gql: Gql, world: World, cls: str) -> None:
    for me, other, token in (("a", "b", world.a), ("b", "a", world.b)):
        seen = ids_seen(gql, cls, token)
        assert world.ids[me][cls] in seen and world.ids[other][cls] not in seen
        assert gql.error(get_one(cls), {"id": world.ids[other][cls]}, as_=token) == NOT_FOUND
        count = f"query($id: ID) {{ {plural(cls)}(where: {{objectId: {{equalTo: $id}}}}, first: 0) {{ count }} }}"
        assert gql(count, {"id": world.ids[other][cls]}, as_=token)[plural(cls)]["count"] == 0


@pytest.mark.parametrize("cls", CLASSES)
def test_reps_cannot_write_others(gql: Gql, api: Api, world: World, cls: str) -> None:
    other = world.ids["b"][cls]
    assert gql.error(update_one(cls, note_of(cls)), {"id": other}, as_=world.a) == NOT_FOUND
    assert gql.error(delete_one(cls), {"id": other}, as_=world.a) == NOT_FOUND
    assert api.get(f"classes/{cls}/{other}").json().get(note_of(cls)) != "hijack"


@pytest.mark.parametrize("cls", CLASSES)
def test_manager_and_master_see_and_write_all(gql: Gql, world: World, cls: str) -> None:
    both = {world.ids["a"][cls], world.ids["b"][cls]}
    assert both <= ids_seen(gql, cls, world.manager)
    assert both <= ids_seen(gql, cls, "master")
    query = (
        f'mutation($id: ID!) {{ update{cls}(input: {{id: $id, fields: {{{note_of(cls)}: "reviewed"}}}}) '
        f"{{ {key(cls)} {{ {note_of(cls)} }} }} }}"
    )
    got = gql(query, {"id": world.ids["a"][cls]}, as_=world.manager)
    assert got[f"update{cls}"][key(cls)][note_of(cls)] == "reviewed"


def test_pointers_do_not_leak(gql: Gql, world: World) -> None:
    # rep A's deal pointing at B's company: A sees the pointer's id, never its content (REST's bare pointer)
    link = (
        "mutation($id: ID!, $co: ID) { updateDeal(input: {id: $id, fields: {company: {link: $co}}}) { deal { id } } }"
    )
    gql(link, {"id": world.ids["a"]["Deal"], "co": world.ids["b"]["Company"]}, as_=world.a)
    query = "query($id: ID!) { deal(id: $id) { company { objectId name } } }"
    seen_by_a = gql(query, {"id": world.ids["a"]["Deal"]}, as_=world.a)["deal"]["company"]
    assert seen_by_a == {"objectId": world.ids["b"]["Company"], "name": None}
    seen_by_m = gql(query, {"id": world.ids["a"]["Deal"]}, as_=world.manager)["deal"]["company"]
    assert seen_by_m["name"] == f"{world.tag}-b Co"


def test_have_does_not_leak(gql: Gql, world: World) -> None:
    query = "query($n: String) { contacts(where: {company: {have: {name: {equalTo: $n}}}}) { count } }"
    b_name = f"{world.tag}-b Co"
    assert gql(query, {"n": b_name}, as_=world.a)["contacts"]["count"] == 0
    assert gql(query, {"n": b_name}, as_=world.manager)["contacts"]["count"] == 1


def test_created_by_comes_from_the_session(gql: Gql, api: Api, world: World) -> None:
    made = gql(
        'mutation($u: ID) { createCompany(input: {fields: {name: "Spoof", createdBy: {link: $u}}}) '
        "{ company { objectId createdBy { objectId } } } }",
        {"u": world.b_user},
        as_=world.a,
    )
    company = made["createCompany"]["company"]
    assert company["createdBy"]["objectId"] == world.a_user
    err = gql.error(
        "mutation($id: ID!, $u: ID) { updateCompany(input: {id: $id, fields: {createdBy: {link: $u}}}) "
        "{ company { objectId } } }",
        {"id": company["objectId"], "u": world.b_user},
        as_=world.a,
    )
    assert err["code"] == 119


def test_users_private_fields(gql: Gql, world: World) -> None:
    query = "query($id: ID!) { user(id: $id) { username email } }"
    assert gql.error(query, {"id": world.a_user}, as_=world.b) == NOT_FOUND
    theirs = gql(query, {"id": world.a_user}, as_=world.manager)["user"]
    assert theirs["username"].endswith("_a") and theirs["email"] is None
    probe = gql.error('{ users(where: {email: {equalTo: "a@example.com"}}) { count } }', as_=world.b)
    assert probe["code"] == 119  # filtering on a hidden field would reveal it


def test_clients_cannot_change_the_schema_or_see_it_without_fields(gql: Gql, world: World) -> None:
    r = gql.raw(
        "mutation($id: ID!) { updateDeal(input: {id: $id, fields: {brandNewField: 1}}) { deal { id } } }",
        {"id": world.ids["a"]["Deal"]},
        as_=world.a,
    )
    assert r.status_code == 400 and "brandNewField" in r.json()["errors"][0]["message"]  # not in the schema
