"""System classes' guarded keys, through every transport: a row per (class, key) of `changes.SYSTEM_KEYS`.

The table walks the server's own guard table, so a key added there is tested here, and a transport added to
TRANSPORTS is tried for every key. The account takeover of issue 8 (a rep moving her session's `user` to the
manager) is the `_Session.user` row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest

from conftest import Api, unique
from parsecrm.changes import SYSTEM_KEYS


@dataclass
class Victim:
    """A signed-up rep whose own records the test tries to rewrite, and the user she tries to become."""

    token: str
    user_id: str
    session_id: str
    target_id: str
    installation_id: str = ""  # the objectId of an installation she registered
    target_anonymous_id: str = ""  # the anonymous authData id the target user linked


@pytest.fixture(scope="module")
def victim(api: Api) -> Victim:
    me = api.signup(unique("sys_me"))
    target = api.signup(unique("sys_target"))
    target_anon = unique("anon")
    linked = api.put(f"users/{target['objectId']}", {"authData": {"anonymous": {"id": target_anon}}}, as_="master")
    assert linked.status_code == 200, linked.text
    sid = api.get("sessions/me", as_=me["sessionToken"]).json()["objectId"]
    made = api.post("installations", {"installationId": unique("dev"), "deviceType": "ios"}, as_=me["sessionToken"])
    assert made.status_code == 201, made.text  # registering one's own device is allowed, with both keys
    return Victim(me["sessionToken"], me["objectId"], sid, target["objectId"], made.json()["objectId"], target_anon)


def hostile_value(key: str, v: Victim) -> Any:
    return {
        "user": {"__type": "Pointer", "className": "_User", "objectId": v.target_id},
        "sessionToken": "r:" + unique("stolen"),
        "installationId": unique("inst"),
        "expiresAt": {"__type": "Date", "iso": "2999-01-01T00:00:00.000Z"},
        "createdWith": {"action": "login", "authProvider": "password"},
        "ACL": {"*": {"read": True, "write": True}},
        "emailVerified": True,
        "authData": {"anonymous": {"id": v.target_anonymous_id}},  # the target's credentials: a takeover
        "deviceType": "android",
    }[key]


ROUTES = {"_Session": "sessions", "_User": "users", "_Installation": "installations"}


def object_path(cls: str, v: Victim) -> str:
    oid = {"_Session": v.session_id, "_User": v.user_id, "_Installation": v.installation_id}[cls]
    return f"{ROUTES[cls]}/{oid}"


def via_rest(api: Api, path: str, body: dict[str, Any], token: str) -> tuple[int, dict[str, Any]]:
    r = api.put(path, body, as_=token)
    return r.status_code, r.json()


def via_classes_route(api: Api, path: str, body: dict[str, Any], token: str) -> tuple[int, dict[str, Any]]:
    route, oid = path.split("/")
    cls = next(c for c, r in ROUTES.items() if r == route)
    r = api.put(f"classes/{cls}/{oid}", body, as_=token)
    return r.status_code, r.json()


def via_batch(api: Api, path: str, body: dict[str, Any], token: str) -> tuple[int, dict[str, Any]]:
    r = api.post("batch", {"requests": [{"method": "PUT", "path": f"/parse/{path}", "body": body}]}, as_=token)
    assert r.status_code == 200, r.text
    item = r.json()[0]
    return (400 if "error" in item else 200), item.get("error", item.get("success"))


def via_text_plain(api: Api, path: str, body: dict[str, Any], token: str) -> tuple[int, dict[str, Any]]:
    """The JS SDK's envelope: a text/plain POST whose JSON carries the method and the credentials."""
    envelope = {**body, "_method": "PUT", "_ApplicationId": api.server.app_id, "_SessionToken": token}
    if api.server.javascript_key:
        envelope["_JavaScriptKey"] = api.server.javascript_key
    r = httpx.post(
        f"{api.server.url}/{path}", content=orjson.dumps(envelope), headers={"Content-Type": "text/plain"}, timeout=30
    )
    return r.status_code, r.json()


TRANSPORTS: dict[str, Callable[[Api, str, dict[str, Any], str], tuple[int, dict[str, Any]]]] = {
    "rest": via_rest,
    "classes": via_classes_route,
    "batch": via_batch,
    "text/plain": via_text_plain,
}
GUARDED = [(cls, key) for cls, keys in SYSTEM_KEYS.items() for key in keys]
# `authData` is written by its owner through the provider path (auth/authdata.py), which refuses credentials that
# belong to another user with 208; the raw key (e.g. dotted) keeps the guard's 119 (tests/test_authdata.py).
EXPECTED_CODE = {("_User", "authData"): 208}


@pytest.mark.parametrize("transport", sorted(TRANSPORTS))
@pytest.mark.parametrize(("cls", "key"), GUARDED, ids=[f"{c}.{k}" for c, k in GUARDED])
def test_clients_cannot_write_guarded_keys(api: Api, victim: Victim, cls: str, key: str, transport: str) -> None:
    path = object_path(cls, victim)
    before = api.get(path, as_="master").json()
    status, body = TRANSPORTS[transport](api, path, {key: hostile_value(key, victim)}, victim.token)
    guard = SYSTEM_KEYS[cls][key]
    assert (status, body.get("code")) == (400, EXPECTED_CODE.get((cls, key), guard.code)), (status, body)
    after = api.get(path, as_="master").json()
    assert after == before  # nothing was written, not even updatedAt
    me = api.get("users/me", as_=victim.token)
    assert (me.status_code, me.json()["objectId"]) == (200, victim.user_id)


def test_dotted_keys_are_guarded_too(api: Api, victim: Victim) -> None:
    r = api.put(f"sessions/{victim.session_id}", {"user.objectId": victim.target_id}, as_=victim.token)
    assert (r.status_code, r.json()["code"]) == (400, SYSTEM_KEYS["_Session"]["user"].code)


def test_a_rep_cannot_write_someone_elses_session(api: Api, victim: Victim) -> None:
    other = api.signup(unique("sys_other"))
    other_sid = api.get("sessions/me", as_=other["sessionToken"]).json()["objectId"]
    r = api.put(f"sessions/{other_sid}", {"note": "x"}, as_=victim.token)
    assert (r.status_code, r.json()["code"]) == (404, 101)


def test_master_moves_a_session_and_the_token_follows_at_once(api: Api) -> None:
    """The master key may reassign a session (parse-server allows it); the token must mean the new user on the very
    next request, not after the session cache expires."""
    a, b = api.signup(unique("sys_a")), api.signup(unique("sys_b"))
    assert api.get("users/me", as_=a["sessionToken"]).json()["objectId"] == a["objectId"]  # now cached
    sid = api.get("sessions/me", as_=a["sessionToken"]).json()["objectId"]
    pointer = {"__type": "Pointer", "className": "_User", "objectId": b["objectId"]}
    assert api.put(f"sessions/{sid}", {"user": pointer}, as_="master").status_code == 200
    assert api.get("users/me", as_=a["sessionToken"]).json()["objectId"] == b["objectId"]


@pytest.mark.parametrize("key", ["sessionToken", "installationId", "ACL"])
def test_even_the_master_key_cannot_change_what_a_session_is_made_with(api: Api, key: str) -> None:
    user = api.signup(unique("sys_m"))
    sid = api.get("sessions/me", as_=user["sessionToken"]).json()["objectId"]
    v = Victim(user["sessionToken"], user["objectId"], sid, user["objectId"])
    r = api.put(f"sessions/{sid}", {key: hostile_value(key, v)}, as_="master")
    assert (r.status_code, r.json()["code"]) == (400, SYSTEM_KEYS["_Session"][key].code)


def test_clients_never_add_fields_to_system_classes(api: Api) -> None:
    """Issue 8 item 6: a new column on `_Session` (or a relation table) is DDL on a table every request reads; only
    the master key may add fields to system classes, whatever PARSE_ALLOW_CLIENT_CLASS_CREATION says (the test
    server allows client class creation)."""
    user = api.signup()
    token = user["sessionToken"]
    sid = api.get("sessions/me", as_=token).json()["objectId"]
    me = {"__type": "Pointer", "className": "_User", "objectId": user["objectId"]}
    for path, body in [
        (f"sessions/{sid}", {"pwnField": "x"}),
        (f"sessions/{sid}", {"pwnRel": {"__op": "AddRelation", "objects": [me]}}),
        (f"users/{user['objectId']}", {"pwnField": "x"}),
    ]:
        r = api.put(path, body, as_=token)
        assert (r.status_code, r.json()["code"]) == (400, 119), (path, r.text)
    fields = api.get("schemas/_Session").json()["fields"]
    assert "pwnField" not in fields and "pwnRel" not in fields
    assert "pwnField" not in api.get("schemas/_User").json()["fields"]


def test_an_installation_saves_without_adding_fields(api: Api) -> None:
    """The SDKs' installation fields are part of `_Installation`, so a client saves one although it may never add
    a field to a system class."""
    body = {"installationId": unique("inst"), "deviceType": "web", "appName": "crm", "channels": [], "badge": 0}
    r = api.post("installations", body, as_=None)
    assert r.status_code == 201, r.text
    assert (
        api.post("installations", {**body, "installationId": unique("inst"), "color": "red"}, as_=None).json()["code"]
        == 119
    )


@pytest.mark.parametrize("key", ["installationId", "deviceType"])
def test_an_installation_stays_the_device_it_was_registered_as(api: Api, victim: Victim, key: str) -> None:
    """parse-server refuses (136) to change either, the master key included: another device's id would take over
    its pushes."""
    r = api.put(f"installations/{victim.installation_id}", {key: hostile_value(key, victim)}, as_="master")
    assert (r.status_code, r.json()["code"]) == (400, 136)
    r = api.put(f"installations/{victim.installation_id}", {"badge": 3}, as_=victim.token)
    assert r.status_code == 200, r.text  # other fields stay writable


def test_clients_cannot_list_or_delete_installations(api: Api, victim: Victim) -> None:
    assert api.get("installations", as_=victim.token).json()["code"] == 119
    r = api.delete(f"installations/{victim.installation_id}", as_=victim.token)
    assert (r.status_code, r.json()["code"]) == (400, 119)
    assert api.get(f"installations/{victim.installation_id}", as_=victim.token).status_code == 200


@pytest.mark.parametrize("cls", sorted(ROUTES))
def test_system_classes_get_no_client_fields(api: Api, victim: Victim, cls: str) -> None:
    """addField is master-only on every system class (Policy.check): a client's unknown key adds no column."""
    key = "pwn" + unique("f").replace("_", "")
    r = api.put(object_path(cls, victim), {key: "x"}, as_=victim.token)
    assert (r.status_code, r.json()["code"]) == (400, 119), r.text
    assert key not in api.get(f"schemas/{cls}").json()["fields"]
