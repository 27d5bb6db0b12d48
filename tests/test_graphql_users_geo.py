"""GraphQL's user mutations beyond log-in (resetPassword, confirmResetPassword, sendVerificationEmail, logInWith),
geo constraints and GeoPoint/Polygon/Bytes values, and `have`/`haveNot` on the polymorphic pointer — each against a
real server and checked against the REST request that does the same: the same mails, codes, rate limits, results
and permissions."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import test_security
from conftest import Api, Server, unique
from graphql_client import Gql
from parsecrm.graphql.naming import find_field
from test_security import World, pointer

world = test_security.world  # reps A and B, a manager, each rep's Company/Contact/Deal/Activity

RESET = 'mutation($e: String!) { resetPassword(input: {email: $e, clientMutationId: "r"}) { ok clientMutationId } }'
CONFIRM = """mutation($u: String!, $p: String!, $t: String!) {
  confirmResetPassword(input: {username: $u, password: $p, token: $t}) { ok } }"""
LOG_IN = """mutation($u: String!, $p: String!) {
  logIn(input: {username: $u, password: $p}) { viewer { sessionToken user { objectId } } } }"""
LOG_IN_WITH = """mutation($a: Object!, $f: UserLoginWithInput) {
  logInWith(input: {authData: $a, fields: $f}) { viewer { sessionToken user { objectId username email } } } }"""
SEND_VERIFICATION = "mutation($e: String!) { sendVerificationEmail(input: {email: $e}) { ok } }"
VIEWER = "{ viewer { user { objectId } } }"
HTTP = httpx.Client(timeout=60)


@pytest.fixture(scope="module")
def gql(server: Server) -> Gql:
    return Gql(server)


def wait_for(found: Callable[[], list[str]], what: str, count: int = 1) -> list[str]:
    for _ in range(100):
        got = found()
        if len(got) >= count:
            return got
        time.sleep(0.1)
    raise AssertionError(f"no {what}")


def reset_links(server: Server, email: str) -> list[str]:
    return re.findall(r"(http\S+request_password_reset\?token=\S+)", "".join(server.mails(email)))


def rest_error(r: httpx.Response) -> dict[str, Any]:
    body = r.json()
    return {"code": body["code"], "error": body["error"]}


# -- resetPassword / confirmResetPassword ----------------------------------------------------------------------------


def test_reset_password_mails_the_link_and_confirm_sets_the_password(gql: Gql, api: Api, server: Server) -> None:
    user = api.signup(email=f"{unique('gr')}@example.com")
    assert gql(RESET, {"e": user["email"].upper()}, as_=None)["resetPassword"] == {"ok": True, "clientMutationId": "r"}
    [link] = wait_for(lambda: reset_links(server, user["email"]), "reset mail")
    assert "Reset your password" in server.mails(user["email"])[0]  # the very mail REST's request sends
    token = link.split("token=")[1]
    assert token not in server.log()

    # a wrong token fails as the link's own form fails (REST): 101, the same message
    rest = rest_error(HTTP.post(link.split("token=")[0] + "token=nope", data={"new_password": "x-123456"}))
    assert rest["code"] == 101
    assert gql.error(CONFIRM, {"u": user["username"], "p": "x-123456", "t": "nope"}, as_=None) == rest
    # the right token with someone else's name fails the same way, and leaves the token usable
    other = api.signup()
    assert gql.error(CONFIRM, {"u": other["username"], "p": "x-123456", "t": token}, as_=None) == rest
    assert gql.error(CONFIRM, {"u": "", "p": "x-123456", "t": token}, as_=None)["code"] == 200

    assert gql(CONFIRM, {"u": user["username"], "p": "new-pw-789", "t": token}, as_=None)["confirmResetPassword"] == {
        "ok": True
    }
    ended = gql.raw(VIEWER, as_=user["sessionToken"])  # every session ends, as after REST's reset
    assert (ended.status_code, ended.json()["code"]) == (400, 209)
    logged = gql(LOG_IN, {"u": user["username"], "p": "new-pw-789"}, as_=None)["logIn"]["viewer"]
    assert logged["user"]["objectId"] == user["objectId"]
    assert api.post("login", {"username": user["username"], "password": user["password"]}, as_=None).status_code == 404
    assert gql.error(CONFIRM, {"u": user["username"], "p": "again-123", "t": token}, as_=None) == rest  # once only


def test_reset_password_answers_as_rest_does(gql: Gql, api: Api, server: Server) -> None:
    nobody = f"{unique('nobody')}@example.com"
    assert gql(RESET, {"e": nobody}, as_=None)["resetPassword"]["ok"] is True  # no account probing
    assert api.post("requestPasswordReset", {"email": nobody}, as_=None).json() == {}
    time.sleep(0.3)
    assert server.mails(nobody) == []
    rest = rest_error(api.post("requestPasswordReset", {"email": ""}, as_=None))
    assert rest["code"] == 204
    assert gql.error(RESET, {"e": ""}, as_=None) == rest


# -- logInWith ------------------------------------------------------------------------------------------------------


def test_log_in_with_auth_data_signs_up_then_logs_in(gql: Gql, api: Api) -> None:
    ident = unique("anon-")
    auth = {"anonymous": {"id": ident}}
    email = f"{unique('aw')}@example.com"
    first = gql(LOG_IN_WITH, {"a": auth, "f": {"email": email}}, as_=None)["logInWith"]["viewer"]
    assert len(first["user"]["username"]) == 25 and first["user"]["email"] == email
    assert first["sessionToken"].startswith("r:")
    session = api.get("sessions/me", as_=first["sessionToken"]).json()
    assert session["createdWith"] == {"action": "signup", "authProvider": "anonymous"}
    again = gql(LOG_IN_WITH, {"a": auth}, as_=None)["logInWith"]["viewer"]
    assert again["user"]["objectId"] == first["user"]["objectId"] and again["sessionToken"] != first["sessionToken"]
    assert api.get("sessions/me", as_=again["sessionToken"]).json()["createdWith"]["action"] == "login"
    assert gql(VIEWER, as_=again["sessionToken"])["viewer"]["user"]["objectId"] == first["user"]["objectId"]
    r = api.post("users", {"authData": auth}, as_=None)  # REST's authData log-in finds the same user
    assert (r.status_code, r.json()["objectId"]) == (200, first["user"]["objectId"])

    for bad in ({"nope": {"id": "x"}}, {"anonymous": {"id": 5}}):
        rest = rest_error(api.post("users", {"authData": bad}, as_=None))
        assert gql.error(LOG_IN_WITH, {"a": bad}, as_=None) == rest


# -- verification mail and rate limits (a server with both on) ------------------------------------------------------


@pytest.fixture(scope="module")
def strict(make_server: Callable[..., Server]) -> Server:
    return make_server(
        {
            "PARSE_VERIFY_USER_EMAILS": "true",
            "PARSE_RATE_LIMITS": "true",
            "PARSE_RATE_LIMIT_LOGIN_USER": "3/60",
            "PARSE_RATE_LIMIT_RESET_IP": "2/60",
            "PARSE_LOGIN_MAX_FAILURES": "0",  # what is measured is the rate limit alone
            "CRM_DB_POOL_SIZE": "4",
        }
    )


def from_ip(gql: Gql, ip: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    r = gql.raw(query, variables, as_=None, headers={"X-Forwarded-For": ip})
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_send_verification_email_mails_a_new_link(strict: Server) -> None:
    api, gql = Api(strict), Gql(strict)
    user = api.signup(email=f"{unique('v')}@example.com")
    links = re.compile(r"(http://\S+/apps/[^/\s]+/verify_email\?token=\S+)")

    def found() -> list[str]:
        return [m for mail in strict.mails(user["email"]) for m in links.findall(mail)]

    [first] = wait_for(found, "verification mail")
    assert from_ip(gql, "10.9.0.1", SEND_VERIFICATION, {"e": user["email"]})["data"] == {
        "sendVerificationEmail": {"ok": True}
    }
    first_again, second = wait_for(found, "second verification mail", 2)
    assert first_again == first and second != first
    assert HTTP.get(first).status_code == 400 and HTTP.get(second).status_code == 200  # the new link replaced it
    assert api.get("users/me", as_=user["sessionToken"]).json()["emailVerified"] is True
    rest = rest_error(api.post("verificationEmailRequest", {"email": ""}, as_=None))
    assert gql.error(SEND_VERIFICATION, {"e": ""}, as_=None) == rest == {"code": 204, "error": rest["error"]}


def test_log_in_is_rate_limited_per_account_like_rest(strict: Server) -> None:
    api, gql = Api(strict), Gql(strict)
    user = api.signup()
    codes = []
    for i in range(4):  # four addresses, one account: its bucket holds three
        out = from_ip(gql, f"10.8.{i}.1", LOG_IN, {"u": user["username"], "p": "wrong"})
        codes.append(out["errors"][0]["extensions"]["code"])
    assert codes == [101, 101, 101, 100]
    assert out["errors"][0]["message"] == "Too many requests."
    r = HTTP.post(
        strict.url + "/login",
        json={"username": user["username"], "password": user["password"]},
        headers={"X-Parse-Application-Id": strict.app_id, "X-Forwarded-For": "10.8.9.1"},
    )
    assert r.status_code == 429  # one bucket: REST's /login is refused too


def test_reset_password_is_rate_limited_per_address_like_rest(strict: Server) -> None:
    gql = Gql(strict)
    codes = []
    for _ in range(3):
        out = from_ip(gql, "10.7.0.1", RESET, {"e": f"{unique('x')}@example.com"})
        codes.append(out["errors"][0]["extensions"]["code"] if "errors" in out else "ok")
    assert codes == ["ok", "ok", 100]
    r = HTTP.post(
        strict.url + "/requestPasswordReset",
        json={"email": f"{unique('y')}@example.com"},
        headers={"X-Parse-Application-Id": strict.app_id, "X-Forwarded-For": "10.7.0.1"},
    )
    assert r.status_code == 429


# -- geo --------------------------------------------------------------------------------------------------------------


def gp(latitude: float, longitude: float) -> dict[str, Any]:
    return {"__type": "GeoPoint", "latitude": latitude, "longitude": longitude}


CITIES = {
    "nyc": (40.7128, -74.006),
    "boston": (42.3601, -71.0589),
    "la": (34.0522, -118.2437),
    "sf": (37.7749, -122.4194),
    "london": (51.5074, -0.1278),
}
RING = [[36.0, -125.0], [36.0, -115.0], [40.0, -115.0], [40.0, -125.0]]  # [lat, lng] around San Francisco


@pytest.fixture(scope="module")
def places(api: Api) -> str:
    cls = unique("Place")
    for name, (lat, lng) in CITIES.items():
        body: dict[str, Any] = {"name": name, "location": gp(lat, lng)}
        if name == "sf":
            body["area"] = {"__type": "Polygon", "coordinates": RING}
            body["blob"] = {"__type": "Bytes", "base64": "aGVsbG8="}
        assert api.post(f"classes/{cls}", body).status_code == 201
    assert api.post(f"classes/{cls}", {"name": "nowhere"}).status_code == 201
    return cls


def geo_query(cls: str, ordered: bool) -> str:
    order = "" if ordered else ", order: [name_ASC]"
    return (
        f"query($w: {cls}WhereInput) {{ {find_field(cls)}(where: $w{order}) "
        "{ edges { node { name location { latitude longitude } } } } }"
    )


def both(gql: Gql, api: Api, cls: str, where: dict[str, Any], rest: dict[str, Any], as_: str = "master") -> list:
    """The names GraphQL and REST find for the same where (REST's order for near queries, else by name)."""
    ordered = any("$nearSphere" in c for c in rest.values() if isinstance(c, dict))
    got = gql(geo_query(cls, ordered), {"w": where}, as_=as_)[find_field(cls)]["edges"]
    params: dict[str, Any] = {"where": rest} if ordered else {"where": rest, "order": "name"}
    r = api.get(f"classes/{cls}", params, as_=as_)
    assert r.status_code == 200, r.text
    names = [e["node"]["name"] for e in got]
    assert names == [o["name"] for o in r.json()["results"]], where
    return names


def test_geo_constraints_find_what_rest_finds(gql: Gql, api: Api, places: str) -> None:
    nyc, sf = {"latitude": 40.7128, "longitude": -74.006}, {"latitude": 37.7749, "longitude": -122.4194}

    def near(at: dict[str, float], **limit: float) -> tuple[dict[str, Any], dict[str, Any]]:
        return {"nearSphere": at, **limit}, {"$nearSphere": gp(**at), **{"$" + k: v for k, v in limit.items()}}

    corners = {"bottomLeft": {"latitude": 30, "longitude": -125}, "upperRight": {"latitude": 41, "longitude": -70}}
    cases: list[tuple[dict[str, Any], dict[str, Any], list[str]]] = [
        (*near(nyc), ["nyc", "boston", "la", "sf", "london"]),
        (*near(nyc, maxDistanceInKilometers=400), ["nyc", "boston"]),
        (*near(sf, maxDistanceInMiles=400), ["sf", "la"]),
        (*near(nyc, maxDistanceInRadians=0.01), ["nyc"]),
        (*near(nyc, maxDistance=0.1), ["nyc", "boston"]),
        ({"within": {"box": corners}}, {"$within": {"$box": [gp(30, -125), gp(41, -70)]}}, ["la", "nyc", "sf"]),
        (
            {"geoWithin": {"polygon": [{"latitude": la, "longitude": lo} for la, lo in RING]}},
            {"$geoWithin": {"$polygon": [gp(la, lo) for la, lo in RING]}},
            ["sf"],
        ),
        (
            {"geoWithin": {"centerSphere": {"center": sf, "distance": 0.1}}},
            {"$geoWithin": {"$centerSphere": [gp(**sf), 0.1]}},
            ["la", "sf"],
        ),
        ({"exists": False}, {"$exists": False}, ["nowhere"]),
    ]
    for where, rest, expected in cases:
        assert both(gql, api, places, {"location": where}, {"location": rest}) == expected
    inside, outside = {"latitude": 37.0, "longitude": -120.0}, {"latitude": 45.0, "longitude": -120.0}
    for point, expected in ((inside, ["sf"]), (outside, [])):
        rest_point = {"$geoIntersects": {"$point": gp(**point)}}
        assert both(gql, api, places, {"area": {"geoIntersects": {"point": point}}}, {"area": rest_point}) == expected
    assert both(
        gql, api, places, {"blob": {"equalTo": "aGVsbG8="}}, {"blob": {"__type": "Bytes", "base64": "aGVsbG8="}}
    ) == ["sf"]


def test_geo_errors_are_rest_errors(gql: Gql, api: Api, places: str) -> None:
    query = geo_query(places, True)
    bad = {"latitude": 95.5, "longitude": 0}
    rest = rest_error(api.get(f"classes/{places}", {"where": {"location": {"$nearSphere": gp(95.5, 0)}}}))
    assert rest["code"] == 107
    assert gql.error(query, {"w": {"location": {"nearSphere": bad}}}) == rest
    sphere = {"center": {"latitude": 0, "longitude": 0}, "distance": 1}
    both_given = {"polygon": [{"latitude": 0, "longitude": 0}] * 3, "centerSphere": sphere}
    assert gql.error(query, {"w": {"location": {"geoWithin": both_given}}})["code"] == 107
    err = gql.error(query, {"w": {"location": {"maxDistance": 1}}})
    assert err == rest_error(api.get(f"classes/{places}", {"where": {"location": {"$maxDistance": 1}}}))


def test_geo_values_read_and_write_in_parse_servers_types(gql: Gql, api: Api, places: str) -> None:
    key = places[:1].lower() + places[1:]
    point = "{ latitude longitude }"
    read = f"query($id: ID!) {{ {key}(id: $id) {{ name location {point} area {point} blob }} }}"
    sf = api.get(f"classes/{places}", {"where": {"name": "sf"}}).json()["results"][0]
    got = gql(read, {"id": sf["objectId"]})[key]
    assert got["location"] == {"latitude": 37.7749, "longitude": -122.4194}
    assert [[p["latitude"], p["longitude"]] for p in got["area"]] == sf["area"]["coordinates"]  # closed, as stored
    assert got["blob"] == "aGVsbG8="
    made = gql(
        f"mutation($f: Create{places}FieldsInput) {{ create{places}(input: {{fields: $f}}) "
        f"{{ {key} {{ objectId }} }} }}",
        {
            "f": {
                "name": "made",
                "location": {"latitude": 1.5, "longitude": 2.5},
                "area": [
                    {"latitude": 0, "longitude": 0},
                    {"latitude": 0, "longitude": 1},
                    {"latitude": 1, "longitude": 1},
                ],
                "blob": "AAE=",
            }
        },
    )[f"create{places}"][key]
    stored = api.get(f"classes/{places}/{made['objectId']}").json()
    assert stored["location"] == gp(1.5, 2.5) and stored["blob"] == {"__type": "Bytes", "base64": "AAE="}
    assert stored["area"] == {"__type": "Polygon", "coordinates": [[0, 0], [0, 1], [1, 1], [0, 0]]}
    update = (
        f"mutation($id: ID!, $f: Update{places}FieldsInput) {{ update{places}(input: {{id: $id, fields: $f}}) "
        f"{{ {key} {{ location {{ latitude }} }} }} }}"
    )
    assert gql(update, {"id": made["objectId"], "f": {"location": None}})[f"update{places}"][key]["location"] is None
    err = gql.error(update, {"id": made["objectId"], "f": {"location": {"latitude": 91.5, "longitude": 0}}})
    rest = rest_error(api.put(f"classes/{places}/{made['objectId']}", {"location": gp(91.5, 0)}))
    assert err == rest and rest["code"] == 111


def test_geo_queries_see_what_rest_lets_the_caller_see(gql: Gql, api: Api, places: str) -> None:
    owner, other = api.signup(), api.signup()
    body = {"name": "private", "location": gp(40.7, -74.0), "ACL": {owner["objectId"]: {"read": True}}}
    assert api.post(f"classes/{places}", body).status_code == 201
    where, rest = (
        {"location": {"nearSphere": {"latitude": 40.7, "longitude": -74.0}, "maxDistanceInKilometers": 10}},
        {"location": {"$nearSphere": gp(40.7, -74.0), "$maxDistanceInKilometers": 10}},
    )
    assert both(gql, api, places, where, rest, as_=owner["sessionToken"]) == ["private", "nyc"]
    assert both(gql, api, places, where, rest, as_=other["sessionToken"]) == ["nyc"]


# -- File fields: FileInput {file}, FileWhereInput ---------------------------------------------------------------------


def test_file_fields_link_filter_and_unlink(gql: Gql, api: Api) -> None:
    cls = unique("Doc")
    key = cls[:1].lower() + cls[1:]
    user = api.signup()
    saved = []
    for name in ("contract.pdf", "invoice.pdf"):
        r = api.client.post(f"files/{name}", content=b"%PDF-1.4", headers=api.headers(user["sessionToken"]))
        assert r.status_code == 201, r.text
        saved.append(r.json())
    assert (
        api.post(f"classes/{cls}", {"title": "first", "scan": {"__type": "File", "name": saved[0]["name"]}}).status_code
        == 201
    )
    create = (
        f"mutation($f: Create{cls}FieldsInput) {{ create{cls}(input: {{fields: $f}}) "
        f"{{ {key} {{ objectId scan {{ name url }} }} }} }}"
    )
    made = gql(create, {"f": {"title": "second", "scan": {"file": saved[1]["name"]}}})[f"create{cls}"][key]
    assert made["scan"] == {"name": saved[1]["name"], "url": saved[1]["url"]}  # as REST's upload answered
    assert api.get(f"classes/{cls}/{made['objectId']}").json()["scan"]["name"] == saved[1]["name"]
    plural = find_field(cls)
    find = (
        f"query($w: {cls}WhereInput) {{ {plural}(where: $w, order: [title_ASC]) {{ edges {{ node {{ title }} }} }} }}"
    )

    def titles(where: dict[str, Any], rest: dict[str, Any]) -> list[str]:
        got = [e["node"]["title"] for e in gql(find, {"w": {"scan": where}})[find_field(cls)]["edges"]]
        r = api.get(f"classes/{cls}", {"where": {"scan": rest}, "order": "title"})
        assert got == [o["title"] for o in r.json()["results"]]
        return got

    assert titles({"equalTo": saved[0]["name"]}, {"__type": "File", "name": saved[0]["name"]}) == ["first"]
    assert titles({"in": [saved[0]["name"], saved[1]["name"]]}, {"$in": [f["name"] for f in saved]}) == [
        "first",
        "second",
    ]
    assert titles({"notEqualTo": saved[0]["name"]}, {"$ne": {"__type": "File", "name": saved[0]["name"]}}) == ["second"]
    assert titles({"exists": False}, {"$exists": False}) == []
    update = (
        f"mutation($id: ID!, $f: Update{cls}FieldsInput) {{ update{cls}(input: {{id: $id, fields: $f}}) "
        f"{{ {key} {{ scan {{ name }} }} }} }}"
    )
    assert gql(update, {"id": made["objectId"], "f": {"scan": None}})[f"update{cls}"][key]["scan"] is None
    assert gql.error(update, {"id": made["objectId"], "f": {"scan": {}}}) == {
        "code": 130,
        "error": "Invalid file upload.",
    }


# -- have / haveNot on the polymorphic pointer ----------------------------------------------------------------------

ACTIVITIES = "query($w: ActivityWhereInput) { activities(where: $w, first: 1000) { edges { node { objectId } } } }"


def same_ids(gql: Gql, api: Api, where: dict[str, Any], rest: dict[str, Any], as_: str) -> set[str]:
    got = {e["node"]["objectId"] for e in gql(ACTIVITIES, {"w": where}, as_=as_)["activities"]["edges"]}
    r = api.get("classes/Activity", {"where": rest, "limit": 1000}, as_=as_)
    assert r.status_code == 200, r.text
    assert got == {o["objectId"] for o in r.json()["results"]}
    return got


def test_have_on_the_polymorphic_pointer(gql: Gql, api: Api, world: World) -> None:
    tag = world.tag
    on_contact = api.post(
        "classes/Activity",
        {"type": "call", "subject": f"{tag} on contact", "relatedTo": pointer("Contact", world.ids["a"]["Contact"])},
        as_=world.a,
    ).json()["objectId"]
    b_deal = {"title": {"equalTo": f"{tag}-b Deal"}}
    rest_b_deal = {"relatedTo": {"$inQuery": {"className": "Deal", "where": {"title": f"{tag}-b Deal"}}}}
    # B's deal: the manager finds B's activity, rep A finds nothing (A may not read that deal, nor that activity)
    where = {"relatedTo": {"have": {"Deal": b_deal}}}
    assert same_ids(gql, api, where, rest_b_deal, world.manager) == {world.ids["b"]["Activity"]}
    assert same_ids(gql, api, where, rest_b_deal, world.a) == set()

    a_contact, a_deal = {"name": {"equalTo": f"{tag}-a Person"}}, {"title": {"equalTo": f"{tag}-a Deal"}}
    rest_or = {
        "$or": [
            {"relatedTo": {"$inQuery": {"className": "Contact", "where": {"name": f"{tag}-a Person"}}}},
            {"relatedTo": {"$inQuery": {"className": "Deal", "where": {"title": f"{tag}-a Deal"}}}},
        ]
    }
    either = same_ids(gql, api, {"relatedTo": {"have": {"Contact": a_contact, "Deal": a_deal}}}, rest_or, world.a)
    assert either == {on_contact, world.ids["a"]["Activity"]}

    mine = {"subject": {"in": [f"{tag}-a call", f"{tag} on contact"]}}
    rest_not = {
        "subject": {"$in": [f"{tag}-a call", f"{tag} on contact"]},
        "relatedTo": {"$notInQuery": {"className": "Deal", "where": {"title": f"{tag}-a Deal"}}},
    }
    where = {**mine, "relatedTo": {"haveNot": {"Deal": a_deal}}}
    assert same_ids(gql, api, where, rest_not, world.a) == {on_contact}
    both_ways = {**mine, "relatedTo": {"have": {"Contact": a_contact}, "exists": True}}
    assert gql(ACTIVITIES, {"w": both_ways}, as_=world.a)["activities"]["edges"] == [{"node": {"objectId": on_contact}}]
    assert gql.error(ACTIVITIES, {"w": {"relatedTo": {"have": {}}}}, as_=world.a)["code"] == 102
