"""Every cell of the permission matrix (tests/permission_matrix.py) through every transport.

One server of its own (with a read-only master key), one small world: reps A and B, a manager, and per class one
probe object of A's ("mine") and one of B's ("theirs"). Deletes get fresh objects. Each (class, transport) is one
test that tries every caller x operation and reports every mismatching cell at once.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import pytest

from conftest import ROOT, Api, Server, unique
from permission_matrix import CALLERS, CLASSES, EXPECTED, OPERATIONS, TRANSPORTS, render_markdown

READ_ONLY_KEY = "matrix-read-only-key"
HTTP = httpx.Client(timeout=30)  # one connection pool: a client per call would load the CA bundle each time
PASSWORD = "matrix-pw"


def ptr(cls: str, oid: str) -> dict[str, str]:
    return {"__type": "Pointer", "className": cls, "objectId": oid}


@dataclass
class Call:
    method: str
    path: str  # relative to the mount, e.g. "classes/Deal"
    body: dict[str, Any] | None = None  # the JSON body, or a GET's parameters


# -- transports: each turns a Call made as some caller into (ok, Parse code or None, JSON answer) -------------------

Credentials = dict[str, str]  # {"token": …} | {"master": …} | {}
Answer = tuple[bool, int | None, Any]


def via_rest(server: Server, who: Credentials, call: Call) -> Answer:
    headers = {"X-Parse-Application-Id": server.app_id}
    if "token" in who:
        headers["X-Parse-Session-Token"] = who["token"]
    if "master" in who:
        headers["X-Parse-Master-Key"] = who["master"]
    params = {k: (orjson.dumps(v).decode() if isinstance(v, (dict, list)) else v) for k, v in (call.body or {}).items()}
    if call.method == "GET":
        r = HTTP.get(f"{server.url}/{call.path}", params=params, headers=headers)
    else:
        r = HTTP.request(call.method, f"{server.url}/{call.path}", json=call.body or {}, headers=headers)
    body = r.json()
    return r.status_code < 400, None if r.status_code < 400 else body.get("code"), body


def via_batch(server: Server, who: Credentials, call: Call) -> Answer:
    headers = {"X-Parse-Application-Id": server.app_id}
    if "token" in who:
        headers["X-Parse-Session-Token"] = who["token"]
    if "master" in who:
        headers["X-Parse-Master-Key"] = who["master"]
    item = {"method": call.method, "path": f"/parse/{call.path}", "body": call.body or {}}
    r = HTTP.post(f"{server.url}/batch", json={"requests": [item]}, headers=headers)
    if r.status_code >= 400:  # the batch itself refused (e.g. the caller's credentials)
        return False, r.json().get("code"), r.json()
    (result,) = r.json()
    if "error" in result:
        return False, result["error"]["code"], result["error"]
    return True, None, result["success"]


def via_text_plain(server: Server, who: Credentials, call: Call) -> Answer:
    """The JS SDK in a browser: every call a text/plain POST, method and credentials inside the JSON."""
    envelope: dict[str, Any] = {**(call.body or {}), "_method": call.method, "_ApplicationId": server.app_id}
    if "token" in who:
        envelope["_SessionToken"] = who["token"]
    if "master" in who:
        envelope["_MasterKey"] = who["master"]
    r = HTTP.post(f"{server.url}/{call.path}", content=orjson.dumps(envelope), headers={"Content-Type": "text/plain"})
    body = r.json()
    return r.status_code < 400, None if r.status_code < 400 else body.get("code"), body


TRANSPORT_CALLS: dict[str, Callable[[Server, Credentials, Call], Answer]] = {
    "REST": via_rest,
    "batch": via_batch,
    "text/plain": via_text_plain,
}


# -- the world --------------------------------------------------------------------------------------------------------


@dataclass
class World:
    server: Server
    api: Api
    who: dict[str, Credentials]
    users: dict[str, dict[str, Any]]  # "a", "b", "manager" → signed-up user (objectId, sessionToken, username)
    probes: dict[str, dict[str, str]] = field(default_factory=dict)  # class → {"mine": id, "theirs": id}

    def make(self, cls: str, owner: str) -> tuple[str, str | None]:
        """A fresh object of `cls` belonging to rep `owner` ("a" or "b"); for _User, also that user's token."""
        user = self.users[owner]
        token = user["sessionToken"]
        api = self.api
        if cls in ("Company", "Contact", "Deal"):
            body = {"title": "probe"} if cls == "Deal" else {"name": "probe"}
            return api.post(f"classes/{cls}", body, as_=token).json()["objectId"], None
        if cls == "Activity":
            deal, _ = self.make("Deal", owner)
            body = {"type": "note", "relatedTo": ptr("Deal", deal)}
            return api.post("classes/Activity", body, as_=token).json()["objectId"], None
        if cls == "DealStageChange":
            deal, _ = self.make("Deal", owner)
            rows = api.get("classes/DealStageChange", params={"where": {"deal": ptr("Deal", deal)}}).json()
            return rows["results"][0]["objectId"], None
        if cls == "_User":
            fresh = api.post("users", {"username": unique("mx"), "password": PASSWORD}).json()
            return fresh["objectId"], fresh["sessionToken"]
        if cls == "_Role":
            body = {"name": unique("MatrixRole"), "ACL": {user["objectId"]: {"read": True, "write": True}}}
            return api.post("roles", body).json()["objectId"], None
        if cls == "_Session":
            fresh = api.post("login", {"username": user["username"], "password": PASSWORD}, as_=None).json()
            sid = api.get("sessions/me", as_=fresh["sessionToken"]).json()["objectId"]
            return sid, None
        if cls == "_Installation":
            body = {"installationId": unique("device"), "deviceType": "ios"}
            return api.post("installations", body, as_=token).json()["objectId"], None
        raise AssertionError(cls)


@pytest.fixture(scope="module")
def world(make_server: Callable[..., Server]) -> World:
    server = make_server({"PARSE_READ_ONLY_MASTER_KEY": READ_ONLY_KEY, "CRM_DB_POOL_SIZE": "5"})
    api = Api(server)
    users = {name: api.signup(unique(f"mx_{name}"), PASSWORD) for name in ("a", "b", "manager")}
    managers = api.get("roles", params={"where": {"name": "Managers"}}).json()["results"][0]["objectId"]
    grant = {"users": {"__op": "AddRelation", "objects": [ptr("_User", users["manager"]["objectId"])]}}
    assert api.put(f"roles/{managers}", grant).status_code == 200
    who: dict[str, Credentials] = {
        "anonymous": {},
        "rep": {"token": users["a"]["sessionToken"]},
        "manager": {"token": users["manager"]["sessionToken"]},
        "master": {"master": server.master_key},
        "readonly": {"master": READ_ONLY_KEY},
    }
    w = World(server, api, who, users)
    for cls in CLASSES:
        if cls == "_User":
            w.probes[cls] = {"mine": users["a"]["objectId"], "theirs": users["b"]["objectId"]}
        elif cls == "_Session":
            mine = api.get("sessions/me", as_=users["a"]["sessionToken"]).json()["objectId"]
            theirs = api.get("sessions/me", as_=users["b"]["sessionToken"]).json()["objectId"]
            w.probes[cls] = {"mine": mine, "theirs": theirs}
        else:
            w.probes[cls] = {"mine": w.make(cls, "a")[0], "theirs": w.make(cls, "b")[0]}
    return w


CREATE_BODIES: dict[str, Callable[[], dict[str, Any]]] = {
    "Company": lambda: {"name": "m"},
    "Contact": lambda: {"name": "m"},
    "Deal": lambda: {"title": "m"},
    "Activity": lambda: {"type": "note"},
    "DealStageChange": lambda: {"to": "lead"},
    "_User": lambda: {"username": unique("mxnew"), "password": PASSWORD},
    "_Role": lambda: {"name": unique("MxNew"), "ACL": {"*": {"read": True}}},
    "_Session": lambda: {},
    "_Installation": lambda: {"installationId": unique("mxdev"), "deviceType": "android"},
}


def answer_for(world: World, caller: str, cls: str, op: str, transport: str) -> Any:
    """Run one cell and describe its outcome in the matrix's terms."""
    send = TRANSPORT_CALLS[transport]
    who = dict(world.who[caller])
    probes = world.probes[cls]
    path = f"classes/{cls}"
    pair = {"objectId": {"$in": [probes["mine"], probes["theirs"]]}}
    if op in ("find", "count"):
        params = {"where": pair, **({"count": 1, "limit": 0} if op == "count" else {})}
        ok, code, body = send(world.server, who, Call("GET", path, params))
        if not ok:
            return code
        if op == "count":
            return {0: "none", 1: "mine", 2: "both"}[body["count"]]
        seen = {o["objectId"] for o in body["results"]}
        return {
            frozenset(): "none",
            frozenset({probes["mine"]}): "mine",
            frozenset({probes["theirs"]}): "theirs",
            frozenset(probes.values()): "both",
        }[frozenset(seen)]
    if op == "create":
        ok, code, _ = send(world.server, who, Call("POST", path, CREATE_BODIES[cls]()))
        return "ok" if ok else code
    target = "mine" if op.endswith("_mine") or op == "add_field" else "theirs"
    oid = probes[target]
    if op.startswith("delete"):
        oid, own_token = world.make(cls, "a" if target == "mine" else "b")
        if cls == "_User" and caller == "rep" and target == "mine":
            who = {"token": own_token or ""}  # deleting one's own account: be that fresh account
    if op.startswith("get"):
        call = Call("GET", f"{path}/{oid}")
    elif op.startswith("update"):
        call = Call("PUT", f"{path}/{oid}", {})
    elif op.startswith("delete"):
        call = Call("DELETE", f"{path}/{oid}")
    else:  # add_field: an update that names a field the class does not have yet
        call = Call("PUT", f"{path}/{oid}", {unique("mx").lower(): 1})
    ok, code, _ = send(world.server, who, call)
    return "ok" if ok else code


def test_every_cell_has_a_row() -> None:
    missing = [(c, k, o) for c in CALLERS for k in CLASSES for o in OPERATIONS if (c, k, o) not in EXPECTED]
    assert not missing, f"no expectation for {missing[:10]} (and {max(0, len(missing) - 10)} more)"
    assert set(TRANSPORT_CALLS) == set(TRANSPORTS)


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("cls", CLASSES)
def test_permission_matrix(world: World, cls: str, transport: str) -> None:
    cells = [(caller, op) for caller in CALLERS for op in OPERATIONS]
    with ThreadPoolExecutor(4) as pool:  # cells are independent: each delete has its own fresh object
        answers = list(pool.map(lambda cell: answer_for(world, cell[0], cls, cell[1], transport), cells))
    wrong = [
        f"{caller} {op}: expected {EXPECTED[(caller, cls, op)]}, got {got}"
        for (caller, op), got in zip(cells, answers, strict=True)
        if got != EXPECTED[(caller, cls, op)]
    ]
    assert not wrong, f"{cls} via {transport}:\n  " + "\n  ".join(wrong)


def test_the_documented_matrix_is_the_tested_one() -> None:
    doc = (ROOT / "docs" / "permissions.md").read_text()
    assert doc == render_markdown(TRANSPORTS), "regenerate: python tests/permission_matrix.py > docs/permissions.md"
