"""Users without a password (issue 15): authData sign-up and log-in, providers from Cloud Code, linking and
unlinking, who may read authData, and /loginAs — over REST against a real server (the SDK's own flows are in
tests/sdk/authdata.test.mjs)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from conftest import Api, Server, unique

HOOKS = Path(__file__).resolve().parent / "fixtures" / "auth_hooks.py"


@pytest.fixture(scope="module")
def auth_api(make_server: Callable[..., Server]) -> Api:
    return Api(make_server({"PARSE_CLOUD": str(HOOKS)}))


def anonymous(api: Api, ident: str, **extra: Any) -> Any:
    return api.post("users", {"authData": {"anonymous": {"id": ident}}, **extra}, as_=None)


def session_of(api: Api, token: str) -> dict[str, Any]:
    return api.get("sessions/me", as_=token).json()


def test_anonymous_sign_up_then_log_in_again(auth_api: Api) -> None:
    ident = unique("anon-")
    first = anonymous(auth_api, ident)
    assert first.status_code == 201, first.text
    body = first.json()
    assert len(body["username"]) == 25 and body["sessionToken"].startswith("r:")
    assert session_of(auth_api, body["sessionToken"])["createdWith"] == {
        "action": "signup",
        "authProvider": "anonymous",
    }
    again = anonymous(auth_api, ident)
    assert again.status_code == 200, again.text  # a log-in, not a second user
    assert again.json()["objectId"] == body["objectId"]
    assert again.json()["authData"] == {"anonymous": {"id": ident}}  # the user sees their own authData
    assert again.json()["sessionToken"] != body["sessionToken"]
    assert session_of(auth_api, again.json()["sessionToken"])["createdWith"]["action"] == "login"
    me = auth_api.get("users/me", as_=again.json()["sessionToken"]).json()
    assert me["objectId"] == body["objectId"] and me["authData"] == {"anonymous": {"id": ident}}


def test_concurrent_first_log_ins_make_one_user(auth_api: Api) -> None:
    ident = unique("race-")
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: anonymous(auth_api, ident), range(6)))
    assert sorted(r.status_code for r in answers) == [200] * 5 + [201]
    assert len({r.json()["objectId"] for r in answers}) == 1
    found = auth_api.get("users", {"where": {"authData.anonymous.id": ident}, "count": 1}).json()
    assert found["count"] == 1


@pytest.mark.parametrize(
    ("auth_data", "status", "code"),
    [
        (None, 400, 252),  # saving authData as null
        ("anonymous", 400, 252),
        ({"nosuch": {"id": "x"}}, 400, 252),  # nobody registered this provider
        ({"anonymous": "not-an-object"}, 400, 252),
        ({"anonymous": {"id": 12}}, 400, 111),
        ({"bad name!": {"id": "x"}}, 400, 105),
        ({"acme": {"id": "a1", "token": "wrong"}}, 404, 101),  # the provider refused
        ({"broken": {"id": "b1"}}, 400, 141),  # the provider's own bug: 141, as a hook's
    ],
)
def test_bad_auth_data_is_refused_and_nothing_is_written(auth_api: Api, auth_data: Any, status: int, code: int) -> None:
    before = auth_api.get("users", {"count": 1, "limit": 0}).json()["count"]
    r = auth_api.post("users", {"authData": auth_data}, as_=None)
    assert (r.status_code, r.json()["code"]) == (status, code), r.text
    assert auth_api.get("users", {"count": 1, "limit": 0}).json()["count"] == before


def test_without_credentials_a_sign_up_still_needs_username_and_password(auth_api: Api) -> None:
    r = auth_api.post("users", {"authData": {"anonymous": None}}, as_=None)
    assert (r.status_code, r.json()["code"]) == (400, 200)
    r = auth_api.post("users", {"authData": {}, "username": unique("np")}, as_=None)
    assert (r.status_code, r.json()["code"]) == (400, 201)


def test_a_provider_validates_and_chooses_what_is_stored(auth_api: Api) -> None:
    ident = unique("acme")
    r = auth_api.post("users", {"authData": {"acme": {"id": ident, "token": f"good-{ident}"}}}, as_=None)
    assert r.status_code == 201, r.text
    user_id = r.json()["objectId"]
    stored = auth_api.get(f"users/{user_id}").json()
    assert stored["authData"] == {"acme": {"id": ident}}  # the validator dropped the token
    assert session_of(auth_api, r.json()["sessionToken"])["createdWith"]["authProvider"] == "acme"
    wrong = auth_api.post("users", {"authData": {"acme": {"id": ident}}}, as_=None)  # id alone logs nobody in
    assert (wrong.status_code, wrong.json()["code"]) == (404, 101)
    ok = auth_api.post("users", {"authData": {"acme": {"id": ident, "token": f"good-{ident}"}}}, as_=None)
    assert (ok.status_code, ok.json()["objectId"]) == (200, user_id)


def test_link_unlink_and_already_linked(auth_api: Api) -> None:
    alice, bob = auth_api.signup(unique("alice")), auth_api.signup(unique("bob"))
    ident = unique("acme")
    acme = {"acme": {"id": ident, "token": f"good-{ident}"}}
    r = auth_api.put(f"users/{alice['objectId']}", {"authData": acme}, as_=alice["sessionToken"])
    assert r.status_code == 200, r.text
    me = auth_api.get("users/me", as_=alice["sessionToken"]).json()
    assert me["authData"] == {"acme": {"id": ident}}
    # the credentials now log Alice in, and her password still works
    assert auth_api.post("users", {"authData": acme}, as_=None).json()["objectId"] == alice["objectId"]
    assert auth_api.post("login", {"username": alice["username"], "password": alice["password"]}).status_code == 200
    # Bob cannot take them over, by linking or by logging in with them while signed in as himself
    before = auth_api.get(f"users/{bob['objectId']}").json()
    r = auth_api.put(f"users/{bob['objectId']}", {"authData": acme}, as_=bob["sessionToken"])
    assert (r.status_code, r.json()) == (400, {"code": 208, "error": "this auth is already used"})
    r = auth_api.post("users", {"authData": acme}, as_=bob["sessionToken"])
    assert (r.status_code, r.json()["code"]) == (400, 208)
    assert auth_api.get(f"users/{bob['objectId']}").json() == before  # nothing written, not even updatedAt
    # nor edit Alice's
    r = auth_api.put(f"users/{alice['objectId']}", {"authData": {"acme": None}}, as_=bob["sessionToken"])
    assert r.json()["code"] == 206
    # a dotted write is still the raw key, guarded
    r = auth_api.put(f"users/{alice['objectId']}", {"authData.acme": {"id": "x"}}, as_=alice["sessionToken"])
    assert (r.status_code, r.json()["code"]) == (400, 119)
    # unlink: null removes the provider; the others stay
    anon = unique("anon-")
    r = auth_api.put(f"users/{alice['objectId']}", {"authData": {"anonymous": {"id": anon}}}, as_=alice["sessionToken"])
    assert r.status_code == 200, r.text
    r = auth_api.put(f"users/{alice['objectId']}", {"authData": {"acme": None}}, as_=alice["sessionToken"])
    assert r.status_code == 200, r.text
    assert auth_api.get(f"users/{alice['objectId']}").json()["authData"] == {"anonymous": {"id": anon}}
    again = auth_api.post("users", {"authData": acme}, as_=None)
    assert again.status_code == 201 and again.json()["objectId"] != alice["objectId"]  # no longer hers


def test_nobody_else_reads_or_filters_on_auth_data(auth_api: Api) -> None:
    ident = unique("anon-")
    owner = anonymous(auth_api, ident).json()
    other = auth_api.signup(unique("peek"))
    # make the owner's row public: authData must stay private even so
    auth_api.put(f"users/{owner['objectId']}", {"ACL": {"*": {"read": True}, owner["objectId"]: {"write": True}}})
    seen = auth_api.get(f"users/{owner['objectId']}", as_=other["sessionToken"]).json()
    assert seen["objectId"] == owner["objectId"] and "authData" not in seen
    assert "authData" not in auth_api.get(f"users/{owner['objectId']}", as_=None).json()
    listed = auth_api.get("users", {"where": {"objectId": owner["objectId"]}}, as_=other["sessionToken"]).json()
    assert listed["results"] and "authData" not in listed["results"][0]
    probe = auth_api.get("users", {"where": {"authData.anonymous.id": ident}}, as_=other["sessionToken"])
    assert probe.status_code == 400 or probe.json()["results"] == [], probe.text
    assert auth_api.get(f"users/{owner['objectId']}", as_=owner["sessionToken"]).json()["authData"]
    assert auth_api.get(f"users/{owner['objectId']}").json()["authData"] == {"anonymous": {"id": ident}}


def test_login_as(auth_api: Api) -> None:
    user = auth_api.signup(unique("las"))
    r = auth_api.post("loginAs", {"userId": user["objectId"]}, as_=user["sessionToken"])
    assert (r.status_code, r.json()["code"]) == (400, 119)
    r = auth_api.post("loginAs", {}, as_="master")
    assert (r.status_code, r.json()["code"]) == (400, 162)
    r = auth_api.post("loginAs", {"userId": "nosuchuser"}, as_="master")
    assert (r.status_code, r.json()) == (404, {"code": 101, "error": "user not found"})
    r = auth_api.post("loginAs", {"userId": user["objectId"]}, as_="master")
    assert r.status_code == 200, r.text
    token = r.json()["sessionToken"]
    assert token != user["sessionToken"] and r.json()["username"] == user["username"]
    assert auth_api.get("users/me", as_=token).json()["objectId"] == user["objectId"]
    assert session_of(auth_api, token)["createdWith"] == {"action": "login", "authProvider": "masterkey"}


def test_rate_limits_count_auth_data_log_ins_as_log_ins(make_server: Callable[..., Server]) -> None:
    api = Api(
        make_server(
            {
                "PARSE_RATE_LIMITS": "true",
                "PARSE_RATE_LIMIT_SIGNUP_IP": "2/3600",
                "PARSE_RATE_LIMIT_LOGIN_IP": "30/60",
            }
        )
    )
    ident = unique("anon-")
    assert anonymous(api, ident).status_code == 201
    assert [anonymous(api, ident).status_code for _ in range(4)] == [200] * 4  # log-ins: not sign-ups
    assert anonymous(api, unique("anon-")).status_code == 201
    r = anonymous(api, unique("anon-"))
    assert (r.status_code, r.json()["code"]) == (429, 100)  # the third new account from this address
