"""Input limits and value ranges (issue 8, items 8 and 9): deep JSON is refused when decoded, numbers stay finite.
(The bounds on queries and statements are in test_limits.py.)

Before: a `where` nested ~350 levels, a saved value nested 500 and function params or sign-up fields nested 900
answered 500 and wrote ~180 KB of traceback each; an Increment past 1.8e308 stored Infinity on hooked classes.
"""

from __future__ import annotations

import httpx
import orjson
import pytest

from conftest import Api, Server, unique

HTTP = httpx.Client(timeout=60)  # one pool: a client per request reloads the CA bundle (~50 ms)

DEPTHS = (101, 350, 500, 900)


def nested_object(depth: int) -> bytes:
    """A JSON object nested `depth` levels: {"a":{"a":…{"a":1}…}}."""
    return b'{"a":' * (depth - 1) + b'{"a":1' + b"}" * depth


def nested_array(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def nested_or(depth: int) -> str:
    """A `where` whose $or/$and nesting is `depth` JSON levels deep."""
    levels = depth // 2
    return '{"$or":[' * levels + '{"a":1}' + "]}" * levels


def raw(server: Server, method: str, path: str, content: bytes = b"", token: str | None = None, **kw) -> httpx.Response:
    h = {"X-Parse-Application-Id": server.app_id, "Content-Type": "application/json"}
    if token == "master":
        h["X-Parse-Master-Key"] = server.master_key
    elif token:
        h["X-Parse-Session-Token"] = token
    return HTTP.request(method, server.url + "/" + path, content=content, headers=h, timeout=30, **kw)


def assert_too_deep(r: httpx.Response) -> None:
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["code"] == 107 and "nested more than 100 levels" in body["error"], body


@pytest.mark.parametrize("depth", DEPTHS)
def test_deep_json_is_a_4xx_everywhere(server: Server, depth: int) -> None:
    log_before = server.log_path.stat().st_size
    cls = unique("Deep")
    assert_too_deep(raw(server, "POST", f"classes/{cls}", b'{"v":' + nested_array(depth) + b"}", "master"))
    assert_too_deep(raw(server, "POST", f"classes/{cls}", b'{"v":' + nested_object(depth) + b"}", "master"))
    signup = b'{"username":"' + unique("deep").encode() + b'","password":"pw","v":' + nested_object(depth) + b"}"
    assert_too_deep(raw(server, "POST", "users", signup))
    assert_too_deep(raw(server, "POST", "functions/anything", b'{"p":' + nested_array(depth) + b"}"))
    assert_too_deep(raw(server, "GET", "classes/Deal", params={"where": nested_or(depth + 1)}, token="master"))
    # the JS SDK's transport: a text/plain POST with _method GET, the query in the body
    keys = {"_method": "GET", "_ApplicationId": server.app_id, "_MasterKey": server.master_key}
    envelope = orjson.dumps(keys)[:-1] + b',"where":' + nested_or(depth + 1).encode() + b"}"
    assert_too_deep(HTTP.post(f"{server.url}/classes/Deal", content=envelope, timeout=30))
    batch = {"requests": [{"method": "POST", "path": f"/parse/classes/{cls}", "body": {"v": 1}}]}
    body = orjson.dumps(batch)[:-1] + b',"x":' + nested_array(depth) + b"}"
    assert_too_deep(raw(server, "POST", "batch", body, "master"))
    context = {"X-Parse-Cloud-Context": nested_object(depth).decode()}
    r = HTTP.post(
        f"{server.url}/classes/{cls}",
        json={"v": 1},
        timeout=30,
        headers={"X-Parse-Application-Id": server.app_id, "X-Parse-Master-Key": server.master_key, **context},
    )
    assert_too_deep(r)
    grown = server.log_path.stat().st_size - log_before
    assert grown < 2000, server.log()  # no tracebacks


def test_nesting_up_to_the_limit_still_works(api: Api) -> None:
    cls = unique("Deep")
    value = orjson.loads(nested_object(99))  # + the body object itself = 100 levels
    r = api.post(f"classes/{cls}", {"v": value})
    assert r.status_code == 201, r.text
    assert api.get(f"classes/{cls}/{r.json()['objectId']}").json()["v"] == value
    # a `where` that deep decodes, and then meets the tighter where-depth limit: a clear 102, not a crash
    r = api.get(f"classes/{cls}", params={"where": orjson.loads(nested_or(99))})  # 49 $or, 99 levels
    assert (r.status_code, r.json()["code"]) == (400, 102), r.text
    assert "PARSE_MAX_WHERE_DEPTH" in r.json()["error"]
    r = api.get(f"classes/{cls}", params={"where": orjson.loads(nested_or(16))})  # 8 $or, within both limits
    assert r.status_code == 200, r.text


def test_the_depth_and_size_limits_are_configurable(make_server) -> None:
    srv = make_server({"PARSE_MAX_JSON_DEPTH": "5", "PARSE_MAX_QUERY_BYTES": "2000", "CRM_DB_POOL_SIZE": "3"})
    r = raw(srv, "POST", f"classes/{unique('D')}", b'{"v":' + nested_array(5) + b"}", "master")
    assert r.status_code == 400 and "more than 5 levels" in r.json()["error"], r.text
    assert raw(srv, "POST", f"classes/{unique('D')}", b'{"v":' + nested_array(4) + b"}", "master").status_code == 201
    r = raw(srv, "GET", "classes/Deal", token="master", params={"where": '{"title":"' + "x" * 2000 + '"}'})
    assert (r.status_code, r.json()["code"]) == (414, 107)
    r = raw(srv, "GET", "classes/Deal", token="master", params={"where": '{"title":"' + "x" * 1900 + '"}'})
    assert r.status_code == 200


@pytest.mark.parametrize("cls", ["Deal", "Plain"])  # Deal: a hooked class (the sum is made in Python); Plain: in SQL
def test_increment_never_stores_infinity(api: Api, cls: str) -> None:
    user = api.signup()
    token = user["sessionToken"]
    name = "amount" if cls == "Deal" else "n"
    body = {"title": "big", name: 1e308} if cls == "Deal" else {name: 1e308}
    klass = cls if cls == "Deal" else unique("Plain")
    oid = api.post(f"classes/{klass}", body, as_=token).json()["objectId"]
    r = api.put(f"classes/{klass}/{oid}", {name: {"__op": "Increment", "amount": 1e308}}, as_=token)
    assert (r.status_code, r.json()["code"]) == (400, 111), r.text
    assert api.get(f"classes/{klass}/{oid}", as_=token).json()[name] == 1e308  # unchanged, still a number
    r = api.post(
        "batch",
        {
            "requests": [
                {
                    "method": "PUT",
                    "path": f"/parse/classes/{klass}/{oid}",
                    "body": {name: {"__op": "Increment", "amount": 1e308}},
                }
            ]
        },
        as_=token,
    )
    assert r.json()[0]["error"]["code"] == 111


def test_cloud_code_cannot_store_infinity(make_server, tmp_path) -> None:
    hooks = tmp_path / "inf_hooks.py"
    hooks.write_text(
        "from parsecrm.cloud import Cloud\n"
        "cloud = Cloud()\n"
        "@cloud.before_save('Gauge')\n"
        "async def blow_up(req):\n"
        "    req.object.set('n', float('inf') if req.object.get('kind') == 'inf' else 10 ** 400)\n"
    )
    srv = make_server({"PARSE_CLOUD": str(hooks), "CRM_DB_POOL_SIZE": "3"})
    for kind in ("inf", "bigint"):
        r = raw(srv, "POST", "classes/Gauge", orjson.dumps({"kind": kind}), "master")
        assert (r.status_code, r.json()["code"]) == (400, 111), r.text
    r = raw(srv, "GET", "classes/Gauge", token="master")
    assert r.json()["results"] == []
