"""Every cell of the permission matrix (tests/permission_matrix.py) through every transport.

One server of its own (with a read-only master key, e-mail verification on, and a Cloud Code job), one small world:
reps A and B, a manager, and per class one probe object of A's ("mine") and one of B's ("theirs"). Deletes get fresh
objects. Each (class, transport) is one test that tries every caller x operation and reports every mismatching cell
at once; so is each transport for the other routes (ROUTE_EXPECTED), and GraphQL for the conditional writes.
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
from permission_matrix import (
    CALLERS,
    CLASSES,
    EXPECTED,
    OPERATIONS,
    ROUTE_EXPECTED,
    ROUTE_OPS,
    ROUTE_TRANSPORTS,
    TRANSPORTS,
    expected,
    render_markdown,
    route_expected,
)

READ_ONLY_KEY = "matrix-read-only-key"
HTTP = httpx.Client(timeout=30)  # one connection pool: a client per call would load the CA bundle each time
PASSWORD = "matrix-pw"
HOOKS = ROOT / "tests" / "fixtures" / "auth_hooks.py"  # Cloud Code with the job `countUsers`
STALE = "2000-01-01T00:00:00.000Z"  # a version no object has now: a conditional write based on it is stale
ALIASES = {"_User": "users", "_Role": "roles", "_Session": "sessions", "_Installation": "installations"}
GRAPHQL_CLASSES = ("Company", "Contact", "Deal", "Activity", "DealStageChange", "_User", "_Role")  # with `ifMatch`


def ptr(cls: str, oid: str) -> dict[str, str]:
    return {"__type": "Pointer", "className": cls, "objectId": oid}


@dataclass
class Call:
    method: str
    path: str  # relative to the mount, e.g. "classes/Deal"
    body: dict[str, Any] | None = None  # the JSON body, or a GET's parameters
    version: str | None = None  # a conditional write's expected version (If-Match / _ifMatch)


# -- transports: each turns a Call made as some caller into (ok, Parse code or None, JSON answer) -------------------

Credentials = dict[str, str]  # {"token": …} | {"master": …} | {}
Answer = tuple[bool, int | None, Any]


def via_rest(server: Server, who: Credentials, call: Call) -> Answer:
    headers = {"X-Parse-Application-Id": server.app_id}
    if "token" in who:
        headers["X-Parse-Session-Token"] = who["token"]
    if "master" in who:
        headers["X-Parse-Master-Key"] = who["master"]
    if call.version is not None:
        headers["If-Match"] = call.version
    params = {k: (orjson.dumps(v).decode() if isinstance(v, (dict, list)) else v) for k, v in (call.body or {}).items()}
    if call.method == "GET":
        r = HTTP.get(f"{server.url}/{call.path}", params=params, headers=headers)
    else:
        r = HTTP.request(call.method, f"{server.url}/{call.path}", json=call.body or {}, headers=headers)
    return answer(r)


def answer(r: httpx.Response) -> Answer:
    """(ok, the Parse code — or `HTTP <status>` for a refusal without one, as `unauthorized` or an HTML page's — ,
    the JSON body)."""
    if r.headers.get("content-type", "").startswith("text/html"):
        return r.status_code < 400, None if r.status_code < 400 else f"HTTP {r.status_code}", {}
    body = r.json()
    if r.status_code < 400:
        return True, None, body
    return False, body.get("code", f"HTTP {r.status_code}"), body


def via_batch(server: Server, who: Credentials, call: Call) -> Answer:
    headers = {"X-Parse-Application-Id": server.app_id}
    if "token" in who:
        headers["X-Parse-Session-Token"] = who["token"]
    if "master" in who:
        headers["X-Parse-Master-Key"] = who["master"]
    body = {**(call.body or {}), **({"_ifMatch": call.version} if call.version is not None else {})}
    item = {"method": call.method, "path": f"/parse/{call.path}", "body": body}
    r = HTTP.post(f"{server.url}/batch", json={"requests": [item]}, headers=headers)
    if r.status_code >= 400:  # the batch itself refused (e.g. the caller's credentials)
        return answer(r)
    (result,) = r.json()
    if "error" in result:
        return False, result["error"]["code"], result["error"]
    return True, None, result["success"]


def via_text_plain(server: Server, who: Credentials, call: Call) -> Answer:
    """The JS SDK in a browser: every call a text/plain POST, method and credentials inside the JSON."""
    envelope: dict[str, Any] = {**(call.body or {}), "_method": call.method, "_ApplicationId": server.app_id}
    if call.version is not None:
        envelope["_ifMatch"] = call.version
    if "token" in who:
        envelope["_SessionToken"] = who["token"]
    if "master" in who:
        envelope["_MasterKey"] = who["master"]
    r = HTTP.post(f"{server.url}/{call.path}", content=orjson.dumps(envelope), headers={"Content-Type": "text/plain"})
    return answer(r)


def via_alias(server: Server, who: Credentials, call: Call) -> Answer:
    """REST on a system class's alias: `classes/_User/x` as `users/x` (aggregate has no alias)."""
    head, _, rest = call.path.partition("/")
    cls, _, tail = rest.partition("/")
    if head == "classes" and cls in ALIASES:
        call = Call(call.method, ALIASES[cls] + (f"/{tail}" if tail else ""), call.body, call.version)
    return via_rest(server, who, call)


def via_graphql(server: Server, who: Credentials, call: Call) -> Answer:
    """An update or delete `Call` as the `update<Class>` / `delete<Class>` mutation, its version as `ifMatch`."""
    _, cls, oid = call.path.split("/")
    t = cls.lstrip("_")
    verb = "update" if call.method == "PUT" else "delete"
    query = (
        f"mutation($id: ID!, $v: Date) {{ {verb}{t}(input: {{id: $id, ifMatch: $v}}) "
        f"{{ {t[:1].lower() + t[1:]} {{ objectId }} }} }}"
    )
    headers = {"X-Parse-Application-Id": server.app_id}
    if "token" in who:
        headers["X-Parse-Session-Token"] = who["token"]
    if "master" in who:
        headers["X-Parse-Master-Key"] = who["master"]
    url = server.url.rsplit("/", 1)[0] + "/graphql"
    r = HTTP.post(url, json={"query": query, "variables": {"id": oid, "v": call.version}}, headers=headers)
    if r.status_code != 200:  # refused whole (the keys)
        return answer(r)
    errors = r.json().get("errors")
    if not errors:
        return True, None, r.json()["data"]
    (error,) = errors
    return False, error["extensions"]["code"], error["extensions"]


TRANSPORT_CALLS: dict[str, Callable[[Server, Credentials, Call], Answer]] = {
    "REST": via_rest,
    "batch": via_batch,
    "text/plain": via_text_plain,
    "alias": via_alias,
    "GraphQL": via_graphql,
}


def asked(transport: str, cls: str, op: str) -> bool:
    """Which cells a transport can ask: the aliases exist for the system classes, GraphQL asks the conditional
    writes of the classes it exposes with `ifMatch` (not sessions or installations)."""
    if transport == "alias":
        return cls in ALIASES
    if transport == "GraphQL":
        return cls in GRAPHQL_CLASSES and op.endswith("_stale")
    return True


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
        if cls in ("_JobStatus", "_JobSchedule"):  # rows only the master key writes: nobody's
            return api.post(f"classes/{cls}", {"jobName": "probe", "ACL": {}}).json()["objectId"], None
        raise AssertionError(cls)


@pytest.fixture(scope="module")
def world(make_server: Callable[..., Server]) -> World:
    env = {
        "PARSE_READ_ONLY_MASTER_KEY": READ_ONLY_KEY,
        "CRM_DB_POOL_SIZE": "5",
        "PARSE_CLOUD": str(HOOKS),
        "PARSE_VERIFY_USER_EMAILS": "true",
    }
    server = make_server(env)
    api = Api(server)
    users = {name: api.signup(unique(f"mx_{name}"), PASSWORD) for name in ("a", "b", "manager")}
    b_email = f"{users['b']['username']}@example.com"  # B's address, unverified (a mail was sent)
    assert api.put(f"users/{users['b']['objectId']}", {"email": b_email}, as_=users["b"]["sessionToken"]).is_success
    users["b"]["email"] = b_email
    verified = api.signup(unique("mx_verified"), PASSWORD, email=unique("mxv") + "@example.com")
    assert api.put(f"users/{verified['objectId']}", {"emailVerified": True}).is_success
    users["verified"] = verified
    users["c"] = api.signup(unique("mx_c"), PASSWORD)  # wrong passwords lock an account: C's, not B's
    config = {"params": {"mxPublic": 1, "mxSecret": 2}, "masterKeyOnly": {"mxSecret": True}}
    assert api.put("config", config).is_success
    managers = api.get("roles", params={"where": {"name": "Managers"}}).json()["results"][0]["objectId"]
    grant = {"users": {"__op": "AddRelation", "objects": [ptr("_User", users["manager"]["objectId"])]}}
    assert api.put(f"roles/{managers}", grant).status_code == 200
    who: dict[str, Credentials] = {
        "anonymous": {},
        "wrong_key": {"master": "not-the-master-key"},
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
    "_JobStatus": lambda: {"jobName": "m", "status": "succeeded"},
    "_JobSchedule": lambda: {"jobName": "m", "description": "m"},
}


def probe_set(probes: dict[str, str], seen: set[str]) -> str:
    return {
        frozenset(): "none",
        frozenset({probes["mine"]}): "mine",
        frozenset({probes["theirs"]}): "theirs",
        frozenset(probes.values()): "both",
    }[frozenset(seen)]


def stale_answer(
    world: World, caller: str, cls: str, op: str, send: Callable[[Server, Credentials, Call], Answer]
) -> Any:
    """A conditional write based on an old version. A 409 must carry `current` exactly when the caller may read
    the object (and then that object), so a refusal cannot show someone an object they may not read."""
    who = world.who[caller]
    oid = world.probes[cls]["mine" if "_mine" in op else "theirs"]
    method = "PUT" if op.startswith("update") else "DELETE"
    ok, code, body = send(world.server, who, Call(method, f"classes/{cls}/{oid}", {}, STALE))
    if ok:
        return "ok (a stale version was written)"
    if code != 409:
        # refused as the unconditional write is: the update_*/delete_* rows ask that of the other transports
        if send is via_graphql:
            _, plain_code, _ = send(world.server, who, Call(method, f"classes/{cls}/{oid}"))
            if plain_code != code:
                return f"{code}, but {plain_code} without ifMatch"
        return code
    reader = via_text_plain if send is via_text_plain else via_rest  # the same caller (see permission_matrix.expected)
    readable, _, _ = reader(world.server, who, Call("GET", f"classes/{cls}/{oid}"))
    current = body.get("current")
    if readable and (current or {}).get("objectId") != oid:
        return "409 without current"
    if not readable and current is not None:
        return "409 leaking current"
    return 409


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
        return probe_set(probes, {o["objectId"] for o in body["results"]})
    if op == "aggregate":
        pipeline = [{"$match": pair}, {"$group": {"_id": "$objectId"}}]
        ok, code, body = send(world.server, who, Call("GET", f"aggregate/{cls}", {"pipeline": pipeline}))
        if not ok:
            return code
        return probe_set(probes, {o["objectId"] for o in body["results"]})
    if op == "create":
        ok, code, _ = send(world.server, who, Call("POST", path, CREATE_BODIES[cls]()))
        return "ok" if ok else code
    if op.endswith("_stale"):
        return stale_answer(world, caller, cls, op, send)
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
    unasked = [(c, op) for c in CALLERS for op in ROUTE_OPS if (c, op) not in ROUTE_EXPECTED]
    assert not unasked, f"no expectation for {unasked[:10]}"
    assert set(ROUTE_CALLS) == set(ROUTE_OPS)


CASES = [(cls, t) for cls in CLASSES for t in TRANSPORTS if any(asked(t, cls, op) for op in OPERATIONS)]


@pytest.mark.parametrize(("cls", "transport"), CASES)
def test_permission_matrix(world: World, cls: str, transport: str) -> None:
    cells = [(caller, op) for caller in CALLERS for op in OPERATIONS if asked(transport, cls, op)]
    with ThreadPoolExecutor(4) as pool:  # cells are independent: each delete has its own fresh object
        answers = list(pool.map(lambda cell: answer_for(world, cell[0], cls, cell[1], transport), cells))
    wrong = [
        f"{caller} {op}: expected {expected(caller, cls, op, transport)}, got {got}"
        for (caller, op), got in zip(cells, answers, strict=True)
        if got != expected(caller, cls, op, transport)
    ]
    assert not wrong, f"{cls} via {transport}:\n  " + "\n  ".join(wrong)


# -- the other routes ----------------------------------------------------------------------------------------------

Judge = Callable[[Answer], Any]


def plain(answer: Answer) -> Any:
    ok, code, _ = answer
    return "ok" if ok else code


def empty(answer: Answer) -> Any:
    """The e-mail routes: `{}` whatever the address, so the answer tells nobody whether it has an account."""
    ok, code, body = answer
    return ("ok" if body == {} else f"ok but {body}") if ok else code


def config_view(answer: Answer) -> Any:
    ok, code, body = answer
    if not ok:
        return code
    params = body["params"]
    if params.get("mxSecret") == 2 and body.get("masterKeyOnly", {}).get("mxSecret") is True:
        return "all"
    public = params.get("mxPublic") == 1 and "mxSecret" not in params and "masterKeyOnly" not in body
    return "public" if public else body


def scratch_class(world: World) -> str:
    name = unique("MxScratch")
    assert world.api.post(f"schemas/{name}", {"className": name}).is_success
    return name


def fresh_session(world: World, caller: str) -> Credentials:
    """The caller with a session of its own to end (log-out must not end the session the other cells use)."""
    user = {"rep": "a", "manager": "manager"}.get(caller)
    if user is None:
        return world.who[caller]
    body = {"username": world.users[user]["username"], "password": PASSWORD}
    return {"token": world.api.post("login", body, as_=None).json()["sessionToken"]}


RouteCase = Callable[[World, str], tuple[Credentials, Call, Judge]]


def ask(method: str, path: str, body: dict[str, Any] | None = None, judge: Judge = plain) -> RouteCase:
    return lambda world, caller: (world.who[caller], Call(method, path, body), judge)


# a schedule the scheduler never runs (its first run is centuries away)
NEVER_DUE = {"jobName": "countUsers", "startAfter": "2999-01-01T00:00:00.000Z", "timeOfDay": "00:00:00.000Z"}


def schedule(world: World) -> str:
    """A fresh `_JobSchedule` row, made with the master key."""
    made = world.api.post("cloud_code/jobs", {"job_schedule": NEVER_DUE})
    assert made.is_success, made.text
    return str(made.json()["objectId"])


def _b(world: World, key: str) -> Any:
    return world.users["b"][key]


ROUTE_CALLS: dict[str, RouteCase] = {
    "run_job": ask("POST", "jobs/countUsers", {"prefix": "mx"}),
    "run_job_by_body": ask("POST", "jobs", {"jobName": "countUsers"}),
    "run_unknown_job": ask("POST", "jobs/noSuchJob"),
    "list_job_schedules": ask("GET", "cloud_code/jobs"),
    "job_data": ask("GET", "cloud_code/jobs/data"),
    "schedule_job": ask("POST", "cloud_code/jobs", {"job_schedule": NEVER_DUE}),
    "edit_job_schedule": lambda w, c: (
        w.who[c],
        Call("PUT", f"cloud_code/jobs/{schedule(w)}", {"job_schedule": NEVER_DUE}),
        plain,
    ),
    "delete_job_schedule": lambda w, c: (w.who[c], Call("DELETE", f"cloud_code/jobs/{schedule(w)}"), plain),
    "login_as": lambda w, c: (w.who[c], Call("POST", "loginAs", {"userId": _b(w, "objectId")}), plain),
    "login_as_unknown": ask("POST", "loginAs", {"userId": "noSuchUser"}),
    "verification_mail_unknown": ask("POST", "verificationEmailRequest", {"email": "nobody@example.com"}, empty),
    "verification_mail_unverified": lambda w, c: (
        w.who[c],
        Call("POST", "verificationEmailRequest", {"email": _b(w, "email")}),
        empty,
    ),
    "verification_mail_verified": lambda w, c: (
        w.who[c],
        Call("POST", "verificationEmailRequest", {"email": w.users["verified"]["email"]}),
        empty,
    ),
    "password_reset_unknown": ask("POST", "requestPasswordReset", {"email": "nobody@example.com"}, empty),
    "password_reset_known": lambda w, c: (
        w.who[c],
        Call("POST", "requestPasswordReset", {"email": _b(w, "email")}),
        empty,
    ),
    "reset_link_bogus": lambda w, c: (
        w.who[c],
        Call("POST", f"apps/{w.server.app_id}/request_password_reset", {"token": "bogus", "new_password": "x-12345"}),
        plain,
    ),
    "invite_link_bogus": lambda w, c: (
        w.who[c],
        Call("POST", f"apps/{w.server.app_id}/invite", {"token": "bogus", "username": unique("mx"), "password": "pw"}),
        plain,
    ),
    "verify_email_page_bogus": lambda w, c: (
        w.who[c],
        Call("GET", f"apps/{w.server.app_id}/verify_email", {"token": "bogus"}),
        plain,
    ),
    "log_in_other": lambda w, c: (
        w.who[c],
        Call("POST", "login", {"username": _b(w, "username"), "password": PASSWORD}),
        plain,
    ),
    "log_in_wrong_password": lambda w, c: (
        w.who[c],
        Call("POST", "login", {"username": w.users["c"]["username"], "password": "wrong-pw"}),
        plain,
    ),
    "verify_password_other": lambda w, c: (
        w.who[c],
        Call("POST", "verifyPassword", {"username": _b(w, "username"), "password": PASSWORD}),
        plain,
    ),
    "log_out": lambda w, c: (fresh_session(w, c), Call("POST", "logout"), empty),
    "users_me": ask("GET", "users/me"),
    "sessions_me": ask("GET", "sessions/me"),
    "upgrade_session": ask("POST", "upgradeToRevocableSession"),
    "schemas_all": ask("GET", "schemas"),
    "schema_one": ask("GET", "schemas/Deal"),
    "schema_create": lambda w, c: (w.who[c], Call("POST", f"schemas/{unique('MxNewClass')}", {}), plain),
    "schema_update": lambda w, c: (
        w.who[c],
        Call("PUT", f"schemas/{scratch_class(w)}", {"fields": {"extra": {"type": "String"}}}),
        plain,
    ),
    "schema_drop": lambda w, c: (w.who[c], Call("DELETE", f"schemas/{scratch_class(w)}"), plain),
    "purge": lambda w, c: (w.who[c], Call("DELETE", f"purge/{scratch_class(w)}"), plain),
    "config_get": ask("GET", "config", judge=config_view),
    "config_put": ask("PUT", "config", {"params": {"mxPublic": 1}}),
    "server_info": ask("GET", "serverInfo"),
    "function_unknown": ask("POST", "functions/noSuchFunction"),
    "event": ask("POST", "events/AppOpened", {"dimensions": {}}),
    "health": ask("GET", "health"),
}


@pytest.mark.parametrize("transport", ROUTE_TRANSPORTS)
def test_other_routes(world: World, transport: str) -> None:
    send = TRANSPORT_CALLS[transport]

    def answer(cell: tuple[str, str]) -> Any:
        caller, op = cell
        who, call, judge = ROUTE_CALLS[op](world, caller)
        return judge(send(world.server, who, call))

    cells = [(caller, op) for op in ROUTE_OPS for caller in CALLERS]
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(answer, cells))
    wrong = [
        f"{caller} {op}: expected {route_expected(caller, op, transport)}, got {got}"
        for (caller, op), got in zip(cells, answers, strict=True)
        if got != route_expected(caller, op, transport)
    ]
    assert not wrong, f"routes via {transport}:\n  " + "\n  ".join(wrong)


def test_the_documented_matrix_is_the_tested_one() -> None:
    doc = (ROOT / "docs" / "permissions.md").read_text()
    assert doc == render_markdown(TRANSPORTS), "regenerate: python tests/permission_matrix.py > docs/permissions.md"
