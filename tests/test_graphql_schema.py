"""parse-server's schema API over GraphQL (`class`, `classes`, `createClass`, `updateClass`, `deleteClass`) on a real
server, checked against REST `/schemas`: the same answers, the same master-key rule and errors, and the generated
GraphQL schema following each change."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from conftest import Api, Server, unique
from graphql_client import Gql

CLASS = "query($n: String!) { class(name: $n) { name schemaFields { __typename name "
CLASS += "... on SchemaPointerField { targetClassName } ... on SchemaRelationField { targetClassName } } } }"
CLASSES = "{ classes { name schemaFields { name __typename } } }"
FIELDS = "name schemaFields { name __typename ... on SchemaPointerField { targetClassName } "
FIELDS += "... on SchemaRelationField { targetClassName } }"
CREATE = (
    f"mutation($n: String!, $f: SchemaFieldsInput) {{ createClass(input: {{name: $n, schemaFields: $f, "
    f'clientMutationId: "c"}}) {{ clientMutationId class {{ {FIELDS} }} }} }}'
)
UPDATE = (
    f"mutation($n: String!, $f: SchemaFieldsInput) {{ updateClass(input: {{name: $n, schemaFields: $f}}) "
    f"{{ class {{ {FIELDS} }} }} }}"
)
DELETE = f"mutation($n: String!) {{ deleteClass(input: {{name: $n}}) {{ class {{ {FIELDS} }} }} }}"
TYPE_FIELDS = "query($t: String!) { __type(name: $t) { fields { name } } }"


@pytest.fixture(scope="module")
def gql(server: Server) -> Gql:
    return Gql(server)


def rest_error(r: httpx.Response) -> dict[str, Any]:
    return {"code": r.json()["code"], "error": r.json()["error"]}


def as_fields(schema: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    """REST's `fields` as (GraphQL type name, target class)."""
    return {
        name: (f"Schema{'ACL' if spec['type'] == 'ACL' else spec['type']}Field", spec.get("targetClass"))
        for name, spec in schema["fields"].items()
    }


def gql_fields(cls: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    return {f["name"]: (f["__typename"], f.get("targetClassName")) for f in cls["schemaFields"]}


def test_create_update_delete_class_as_rest_does(gql: Gql, api: Api) -> None:
    name = unique("Gadget")
    fields = {
        "addStrings": [{"name": "label"}],
        "addNumbers": [{"name": "weight"}],
        "addBooleans": [{"name": "fragile"}],
        "addDates": [{"name": "madeAt"}],
        "addArrays": [{"name": "tags"}],
        "addObjects": [{"name": "extra"}],
        "addFiles": [{"name": "manual"}],
        "addGeoPoint": {"name": "place"},
        "addPolygons": [{"name": "zone"}],
        "addBytes": [{"name": "blob"}],
        "addPointers": [{"name": "company", "targetClassName": "Company"}],
        "addRelations": [{"name": "contacts", "targetClassName": "Contact"}],
        "remove": [{"name": "label"}],  # on create, `remove` wins over an add of the same name and removes nothing
    }
    made = gql(CREATE, {"n": name, "f": fields})["createClass"]
    assert made["clientMutationId"] == "c" and made["class"]["name"] == name
    rest = api.get(f"schemas/{name}").json()
    assert gql_fields(made["class"]) == as_fields(rest)
    assert "label" not in rest["fields"]
    assert rest["fields"]["company"] == {"type": "Pointer", "targetClass": "Company"}
    assert rest["fields"]["zone"] == {"type": "Polygon"} and rest["fields"]["place"] == {"type": "GeoPoint"}
    assert gql(CLASS, {"n": name})["class"]["schemaFields"] == gql(CLASS, {"n": name})["class"]["schemaFields"]
    one = gql(CLASS, {"n": name})["class"]
    assert gql_fields(one) == as_fields(rest)
    listed = {c["name"]: c for c in gql(CLASSES)["classes"]}
    assert set(listed) == {s["className"] for s in api.get("schemas").json()["results"]}

    # the generated schema has the new type at once (this process), with its fields, and serves it
    t = name[:1].upper() + name[1:]
    assert {"weight", "company", "contacts", "place"} <= {
        f["name"] for f in gql(TYPE_FIELDS, {"t": t})["__type"]["fields"]
    }
    key = name[:1].lower() + name[1:]
    created = gql(f"mutation {{ create{t}(input: {{fields: {{weight: 2}}}}) {{ {key} {{ weight }} }} }}")
    assert created == {f"create{t}": {key: {"weight": 2.0}}}

    # update: add and remove; adding a field the class has is 105, as parse-server's transformToParse
    changed = gql(UPDATE, {"n": name, "f": {"addStrings": [{"name": "colour"}], "remove": [{"name": "blob"}]}})
    rest = api.get(f"schemas/{name}").json()
    assert gql_fields(changed["updateClass"]["class"]) == as_fields(rest)
    assert "colour" in rest["fields"] and "blob" not in rest["fields"]
    assert {"colour"} <= {f["name"] for f in gql(TYPE_FIELDS, {"t": t})["__type"]["fields"]}
    assert "blob" not in {f["name"] for f in gql(TYPE_FIELDS, {"t": t})["__type"]["fields"]}
    assert gql.error(UPDATE, {"n": name, "f": {"addNumbers": [{"name": "weight"}]}}) == {
        "code": 105,
        "error": "Duplicated field name: weight",
    }
    twice = {"addStrings": [{"name": "x"}], "addNumbers": [{"name": "x"}]}
    assert gql.error(CREATE, {"n": unique("Twice"), "f": twice})["code"] == 105

    # delete: as REST, a class with objects cannot be dropped (255); emptied, it can
    r = api.delete(f"schemas/{name}")
    assert gql.error(DELETE, {"n": name}) == rest_error(r)
    api.request("DELETE", f"purge/{name}")
    gone = gql(DELETE, {"n": name})["deleteClass"]["class"]
    assert gone["name"] == name and "colour" in {f["name"] for f in gone["schemaFields"]}
    assert api.get(f"schemas/{name}").status_code == 400
    assert gql.raw(TYPE_FIELDS, {"t": t}).json()["data"]["__type"] is None


def test_schema_api_refuses_what_rest_refuses(gql: Gql, api: Api, server: Server) -> None:
    user = api.signup()
    name = unique("Nope")
    for as_ in (None, user["sessionToken"]):
        r = api.post(f"schemas/{name}", {"className": name}, as_=as_)
        assert r.status_code == 403
        for query, variables in (
            (CREATE, {"n": name}),
            (CLASS, {"n": "Deal"}),
            (CLASSES, None),
            (DELETE, {"n": "Deal"}),
        ):
            assert (
                gql.error(query, variables, as_=as_)
                == rest_error(r)
                == {
                    "code": 119,
                    "error": "unauthorized: master key is required",
                }
            )
        assert gql.error(UPDATE, {"n": "Deal", "f": {"addStrings": [{"name": "x"}]}}, as_=as_)["code"] == 119
    assert api.get(f"schemas/{name}").status_code == 400  # nothing was created
    assert "x" not in api.get("schemas/Deal").json()["fields"]

    # the same errors as REST for bad names, existing and missing classes, system classes
    assert gql.error(CREATE, {"n": "Deal"}) == rest_error(api.post("schemas/Deal", {"className": "Deal"}))
    assert gql.error(CREATE, {"n": "1bad"}) == rest_error(api.post("schemas/1bad", {"className": "1bad"}))
    missing = unique("Missing")
    assert gql.error(CLASS, {"n": missing}) == rest_error(api.get(f"schemas/{missing}"))
    assert gql.error(CLASS, {"n": missing})["code"] == 103
    assert gql.error(UPDATE, {"n": missing, "f": {}}) == rest_error(api.get(f"schemas/{missing}"))
    assert gql.error(DELETE, {"n": "_User"}) == rest_error(api.delete("schemas/_User"))
    bad_field = {"addStrings": [{"name": "1st"}]}
    r = api.post(f"schemas/{name}", {"className": name, "fields": {"1st": {"type": "String"}}})
    assert r.status_code == 400
    assert gql.error(CREATE, {"n": name, "f": bad_field}) == rest_error(r)


def test_read_only_master_key_reads_but_does_not_write(make_server: Any) -> None:
    srv = make_server({"PARSE_READ_ONLY_MASTER_KEY": "ro-key"})
    gql, api = Gql(srv), Api(srv)
    ro = {"X-Parse-Master-Key": "ro-key"}
    r = gql.client.post(gql.url, json={"query": CLASS, "variables": {"n": "Deal"}}, headers=api.headers(None, ro))
    assert r.status_code == 200 and r.json()["data"]["class"]["name"] == "Deal"
    name = unique("Ro")
    rest = api.post(f"schemas/{name}", {"className": name}, as_=None, headers=ro)
    r = gql.client.post(gql.url, json={"query": CREATE, "variables": {"n": name}}, headers=api.headers(None, ro))
    error = r.json()["errors"][0]
    assert {"code": error["extensions"]["code"], "error": error["message"]} == rest_error(rest)
    assert rest_error(rest) == {"code": 119, "error": "read-only masterKey isn't allowed to create a schema."}


def test_a_class_made_over_graphql_reaches_another_process(make_server: Any) -> None:
    first = make_server()
    second = make_server(database_url=first.database_url)
    one, two = Gql(first), Gql(second)
    name = unique("Shared")
    t = name[:1].upper() + name[1:]
    assert two.raw(TYPE_FIELDS, {"t": t}).json()["data"]["__type"] is None
    one(CREATE, {"n": name, "f": {"addNumbers": [{"name": "size"}]}})
    import time

    deadline = time.time() + 10
    while two.raw(TYPE_FIELDS, {"t": t}).json()["data"]["__type"] is None:
        assert time.time() < deadline, "the second process never rebuilt its GraphQL schema"
        time.sleep(0.1)
    one(UPDATE, {"n": name, "f": {"addStrings": [{"name": "colour"}]}})
    while "colour" not in {f["name"] for f in two(TYPE_FIELDS, {"t": t})["__type"]["fields"]}:
        assert time.time() < deadline, "the field never reached the second process"
        time.sleep(0.1)
