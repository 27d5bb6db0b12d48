"""Fuzzing the HTTP API (issue 8): random request bodies, field operations, `where` trees and find parameters,
function params, sign-ups, batches and aggregate pipelines, as an anonymous client, a signed-in rep and the master
key. Whatever arrives, the answer is never a 5xx and never a stack trace, and the server keeps serving.

Budget: FUZZ_EXAMPLES examples per target (default 100, under a minute for all targets on the CI machine; raise it
for a longer local run: `FUZZ_EXAMPLES=2000 pytest tests/test_fuzz.py`).
"""

from __future__ import annotations

import contextlib
import json
import os
import string
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from conftest import Api, Server, unique

HTTP = httpx.Client(timeout=60)  # one pool: a client per request reloads the CA bundle (~50 ms)

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
    print_blob=True,
)

# -- building blocks --------------------------------------------------------------------------------------------------

FIELDS = [
    "title",
    "amount",
    "stage",
    "n",
    "s",
    "a",
    "o",
    "o.x",
    "d",
    "p",
    "assignedTo",
    "createdBy",
    "ACL",
    "objectId",
    "createdAt",
    "updatedAt",
    "_rperm",
    "__proto__",
    "$where",
    "a.b.c",
    "authData",
    "emailVerified",
    "sessionToken",
    "password",
    "username",
    "email",
    "inviteToken",
    "users",
    "roles",
    "",
]
CLASSES = [
    "Deal",
    "Company",
    "Contact",
    "Activity",
    "DealStageChange",
    "_User",
    "_Role",
    "_Session",
    "_Installation",
    "FuzzA",
    "_Idempotency",
    "_SCHEMA",
    "Bad Class",
    "",
]
OPERATORS = [
    "$lt",
    "$lte",
    "$gt",
    "$gte",
    "$ne",
    "$eq",
    "$in",
    "$nin",
    "$exists",
    "$regex",
    "$options",
    "$all",
    "$containedBy",
    "$select",
    "$dontSelect",
    "$inQuery",
    "$notInQuery",
    "$relatedTo",
    "$text",
    "$search",
    "$near",
    "$within",
    "$geoWithin",
    "$maxDistance",
    "$or",
    "$and",
    "$nor",
    "$not",
    "$elemMatch",
    "$size",
    "$type",
    "$mod",
    "$where",
    "$bogus",
]
OPS = [
    "Increment",
    "Add",
    "AddUnique",
    "Remove",
    "AddRelation",
    "RemoveRelation",
    "Batch",
    "Delete",
    "SetOnInsert",
    "Bogus",
]
TYPES = ["Date", "Pointer", "Object", "Relation", "GeoPoint", "File", "Bytes", "Polygon", "ACL", "Bogus"]

numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, -1, 2**31, 2**53, 2**63 - 1, 2**63, 2**64, -(2**63), 1e308, -1e308, 5e-324, 1e-7]),
)
texts = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "",
            "lead",
            "won",
            "*",
            "role:Admins",
            "r:0123",
            "\x00",
            "'; drop table x;--",
            "(a+)+$",
            "^(e+)(e+)\\3\\2\\1$",
            "{",
            "[",
            "\\",
            "%",
            "_",
            "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:59:59-14:00",
            "1 day ago",
            "in nan days",
            "in inf days",
            "klingon",
        ]
    ),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)


def parse_typed(values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.fixed_dictionaries({"__type": st.just("Date"), "iso": texts}),
        st.fixed_dictionaries(
            {"__type": st.sampled_from(["Pointer", "Object"]), "className": st.sampled_from(CLASSES), "objectId": texts}
        ),
        st.fixed_dictionaries(
            {"__type": st.sampled_from(TYPES)},
            optional={"latitude": values, "longitude": values, "name": values, "base64": values},
        ),
    )


json_values = st.recursive(
    st.one_of(scalars, parse_typed(scalars)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(FIELDS), st.text(max_size=8)), inner, max_size=4),
    ),
    max_leaves=12,
)
op_lists = st.lists(st.fixed_dictionaries({"__op": st.sampled_from(OPS)}), max_size=2)
field_ops = st.one_of(
    st.fixed_dictionaries(
        {"__op": st.sampled_from(OPS)},
        optional={
            "amount": json_values,
            "objects": st.one_of(st.lists(json_values, max_size=3), json_values),
            "ops": op_lists,
        },
    ),
    json_values,
)
bodies = st.dictionaries(st.one_of(st.sampled_from(FIELDS), st.text(max_size=10)), field_ops, max_size=5)


def where_trees() -> st.SearchStrategy[Any]:
    leaf = st.one_of(
        json_values,
        st.dictionaries(st.sampled_from(OPERATORS), json_values, min_size=1, max_size=2),
        st.fixed_dictionaries({"$lt": st.fixed_dictionaries({"$relativeTime": texts})}),
        st.fixed_dictionaries(
            {
                "$text": st.fixed_dictionaries(
                    {
                        "$search": st.fixed_dictionaries(
                            {"$term": texts}, optional={"$language": texts, "$caseSensitive": json_values}
                        )
                    }
                )
            }
        ),
    )
    return st.recursive(
        st.dictionaries(st.sampled_from(FIELDS), leaf, max_size=3),
        lambda inner: st.one_of(
            st.dictionaries(
                st.sampled_from(["$or", "$and", "$nor"]), st.lists(inner, max_size=3), min_size=1, max_size=1
            ),
            st.dictionaries(st.sampled_from(FIELDS), st.one_of(leaf, inner), max_size=3),
        ),
        max_leaves=8,
    )


find_params = st.fixed_dictionaries(
    {},
    optional={
        "where": st.one_of(where_trees(), texts),
        "limit": st.one_of(numbers, texts),
        "skip": st.one_of(numbers, texts),
        "order": st.one_of(texts, st.sampled_from(["-createdAt", "amount,-title", "o.x", "ACL", "_rperm"])),
        "keys": st.one_of(texts, st.sampled_from(["title,amount", "o.x", "ACL", "-title"])),
        "excludeKeys": texts,
        "include": st.one_of(texts, st.sampled_from(["assignedTo", "*", "company.owner", "createdBy"])),
        "count": st.one_of(st.booleans(), texts, numbers),
        "explain": st.booleans(),
        "hint": texts,
    },
)

# -- the harness ----------------------------------------------------------------------------------------------------


class Caller:
    def __init__(self, server: Server, token: str | None = None, master: bool = False) -> None:
        self.server = server
        self.headers = {"X-Parse-Application-Id": server.app_id, "Content-Type": "application/json"}
        if master:
            self.headers["X-Parse-Master-Key"] = server.master_key
        elif token:
            self.headers["X-Parse-Session-Token"] = token
        self.client = httpx.Client(base_url=server.url + "/", timeout=60)

    def send(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> httpx.Response:
        content = json.dumps(body) if body is not None else None  # stdlib: integers beyond 64 bits too
        query = {k: v if isinstance(v, str) else json.dumps(v) for k, v in (params or {}).items()}
        r = self.client.request(method, path, content=content, params=query, headers=self.headers)
        check(r, method, path, body, params)
        return r


def check(r: httpx.Response, method: str, path: str, body: Any, params: Any) -> None:
    with contextlib.suppress(InvalidArgument):  # outside a hypothesis test (fixtures use the same client)
        note(f"{method} /{path} body={str(body)[:500]} params={str(params)[:500]} → {r.status_code} {r.text[:300]}")
    assert r.status_code < 500, f"{r.status_code} {r.text[:300]}"
    assert "Traceback" not in r.text and 'File "/' not in r.text
    if r.status_code >= 400:
        answer = r.json()
        assert isinstance(answer.get("error"), str), answer
        assert r.status_code == 403 or isinstance(answer.get("code"), int), answer
    elif r.headers.get("content-type", "").startswith("application/json"):
        r.json()


@pytest.fixture(scope="module")
def fuzzed(make_server: Callable[..., Server]) -> Server:
    """A server of its own: the master key's random saves add fields to classes, which other tests must not see."""
    return make_server({"CRM_DB_POOL_SIZE": "4"})


@pytest.fixture(scope="module")
def callers(fuzzed: Server) -> dict[str, Caller]:
    server, api = fuzzed, Api(fuzzed)
    rep = api.signup(unique("fuzz"))
    return {
        "anonymous": Caller(server),
        "rep": Caller(server, rep["sessionToken"]),
        "master": Caller(server, master=True),
    }


@pytest.fixture(scope="module")
def targets(callers: dict[str, Caller]) -> dict[str, str]:
    """One object per class that the updates aim at (a deal, and a plain class with every basic type)."""
    deal = callers["rep"].send("POST", "classes/Deal", {"title": "fuzz target", "amount": 10}).json()["objectId"]
    # its own class: the random creates of test_create_bodies may give FuzzA's fields other types first
    plain = callers["rep"].send("POST", "classes/FuzzT", {"n": 1, "s": "x", "a": [1], "o": {"x": 1}}).json()
    return {"Deal": deal, "FuzzT": plain["objectId"]}


def still_serving(server: Server, api: Api) -> None:
    assert HTTP.get(server.url + "/health", timeout=10).json() == {"status": "ok"}
    assert api.get("classes/Deal", params={"limit": 1}).status_code == 200


who = st.sampled_from(["anonymous", "rep", "master"])


# -- the targets ----------------------------------------------------------------------------------------------------


@FUZZ
@given(caller=who, cls=st.sampled_from(["Deal", "FuzzA", "Company", "Activity", "_Role", "_Installation"]), body=bodies)
def test_create_bodies(callers: dict[str, Caller], caller: str, cls: str, body: dict[str, Any]) -> None:
    callers[caller].send("POST", f"classes/{cls}", body)


@FUZZ
@given(caller=st.sampled_from(["rep", "master"]), cls=st.sampled_from(["Deal", "FuzzT"]), body=bodies)
def test_field_operations(
    callers: dict[str, Caller], targets: dict[str, str], caller: str, cls: str, body: dict[str, Any]
) -> None:
    callers[caller].send("PUT", f"classes/{cls}/{targets[cls]}", body)


@FUZZ
@given(caller=who, cls=st.sampled_from(["Deal", "FuzzA", "_User", "_Session", "DealStageChange"]), params=find_params)
def test_where_and_find_parameters(callers: dict[str, Caller], caller: str, cls: str, params: dict[str, Any]) -> None:
    callers[caller].send("GET", f"classes/{cls}", params=params)


@FUZZ
@given(
    caller=who,
    name=st.sampled_from(["pipelineSummary", "inviteUser", "requestInvite", "nope", "a/b"]),
    params=st.dictionaries(
        st.one_of(st.sampled_from(["email", "stage", "where", "limit"]), st.text(max_size=6)), json_values, max_size=4
    ),
)
def test_function_params(callers: dict[str, Caller], caller: str, name: str, params: dict[str, Any]) -> None:
    callers[caller].send("POST", f"functions/{name}", params)


@FUZZ
@given(
    body=bodies,
    username=st.one_of(texts, numbers, st.none()),
    password=st.one_of(texts, numbers, st.none()),
    email=st.one_of(texts, st.just("a@b.co"), st.none()),
)
def test_sign_up_fields(
    callers: dict[str, Caller], body: dict[str, Any], username: Any, password: Any, email: Any
) -> None:
    fields = {**body, "username": username, "password": password}
    if email is not None:
        fields["email"] = email
    callers["anonymous"].send("POST", "users", fields)


sub_requests = st.fixed_dictionaries(
    {
        "method": st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "x"]),
        "path": st.one_of(
            st.sampled_from(
                [
                    "/parse/classes/Deal",
                    "/parse/classes/FuzzA",
                    "/parse/users",
                    "/parse/login",
                    "/parse/batch",
                    "/parse/functions/pipelineSummary",
                    "/parse/classes/Deal/x",
                    '/parse/classes/FuzzA?where={"n":1}',
                    "/other/classes/Deal",
                ]
            ),
            texts,
        ),
    },
    optional={"body": st.one_of(bodies, json_values)},
)


@FUZZ
@given(caller=who, requests=st.lists(sub_requests, max_size=4), transaction=st.one_of(st.booleans(), json_values))
def test_batches(callers: dict[str, Caller], caller: str, requests: list[Any], transaction: Any) -> None:
    callers[caller].send("POST", "batch", {"requests": requests, "transaction": transaction})


stages = st.dictionaries(
    st.sampled_from(["$match", "$group", "$project", "$sort", "$limit", "$skip", "$count", "$unwind", "$bogus"]),
    st.one_of(
        numbers,
        texts,
        where_trees(),
        st.dictionaries(st.sampled_from(["_id", "n", "objectId", "total"]), json_values, max_size=3),
    ),
    min_size=1,
    max_size=1,
)


@FUZZ
@given(
    caller=who,
    cls=st.sampled_from(["Deal", "FuzzA"]),
    params=st.fixed_dictionaries(
        {},
        optional={
            "pipeline": st.lists(stages, max_size=3),
            "distinct": texts,
            "where": st.one_of(where_trees(), texts),
        },
    ),
)
def test_aggregate(callers: dict[str, Caller], caller: str, cls: str, params: dict[str, Any]) -> None:
    callers[caller].send("GET", f"aggregate/{cls}", params=params)


@FUZZ
@given(
    raw=st.one_of(st.binary(max_size=200), st.text(alphabet=string.printable, max_size=200).map(str.encode)),
    path=st.sampled_from(["classes/Deal", "users", "login", "batch", "functions/pipelineSummary"]),
)
def test_raw_bytes(fuzzed: Server, raw: bytes, path: str) -> None:
    server = fuzzed
    for content_type in ("application/json", "text/plain"):
        r = HTTP.post(
            f"{server.url}/{path}",
            content=raw,
            timeout=30,
            headers={"X-Parse-Application-Id": server.app_id, "Content-Type": content_type},
        )
        check(r, "POST", path, raw, None)


def test_the_server_kept_serving(fuzzed: Server) -> None:
    """Runs after the targets above (pytest keeps file order): the same server still answers, and its log holds
    no server error from them."""
    still_serving(fuzzed, Api(fuzzed))
    assert "unexpected error" not in fuzzed.log_path.read_text()  # errors.reply_for's line for every 5xx
