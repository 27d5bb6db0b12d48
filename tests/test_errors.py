"""Bad input gets Parse's error shape with the right code and status: never a 500, never a stack trace."""

from __future__ import annotations

import httpx
import pytest

from conftest import Api, Server, unique


def raw(
    server: Server, method: str, path: str, content: bytes, headers: dict[str, str] | None = None
) -> httpx.Response:
    h = {"X-Parse-Application-Id": server.app_id, "X-Parse-Master-Key": server.master_key}
    h.update(headers or {})
    return httpx.request(method, server.url + "/" + path, content=content, headers=h, timeout=30)


@pytest.mark.parametrize(
    ("method", "path", "content", "status", "code"),
    [
        ("POST", "classes/Bad", b"{not json", 400, 107),
        ("POST", "classes/Bad", b"[1,2,3]", 400, 107),
        ("POST", "classes/1Bad", b"{}", 400, 107),
        ("POST", "classes/Bad", b'{"1x": 1}', 400, 105),
        ("POST", "classes/Bad", b'{"a": {"__op": "Increment", "amount": "x"}}', 400, 107),
        ("POST", "classes/Bad", b'{"a": {"$where": 1}}', 400, 121),
        ("POST", "classes/Bad", b'{"a": {"__type": "GeoPoint", "latitude": 91, "longitude": 2}}', 400, 111),
        ("POST", "classes/Bad", b'{"a": {"__type": "Date", "iso": "yesterday"}}', 400, 111),
        ("POST", "classes/Bad", b'{"a": {"__type": "Pointer", "className": "X"}}', 400, 106),
        ("POST", "classes/Bad", b'{"ACL": {"*": {"read": "yes"}}}', 400, 123),
        ("GET", "classes/Bad?where=%7Bbroken", b"", 400, 107),
        ("GET", 'classes/Bad?where={"a":{"$bogus":1}}', b"", 400, 102),
        ("GET", 'classes/Bad?where={"ACL":1}', b"", 400, 102),
        ("GET", 'classes/Bad?where={"_rperm":1}', b"", 400, 105),
        ("GET", 'classes/Bad?where={"a;drop table x":1}', b"", 400, 105),
        ("GET", 'classes/Bad?where={"$or":{}}', b"", 400, 102),
        ("GET", 'classes/Bad?where={"a":{"$regex":"(unclosed"}}', b"", 400, 102),
        ("GET", 'classes/Bad?where={"a":{"$in":5}}', b"", 400, 107),  # parse-server: INVALID_JSON
        ("GET", "classes/Bad?limit=abc", b"", 400, 102),
        ("GET", "classes/Bad?limit=-1", b"", 400, 102),
        ("GET", "classes/Bad?bogus=1", b"", 400, 102),
        ("GET", "classes/Bad?order=_rperm", b"", 400, 105),
        ("GET", "classes/Bad/abc?where=1", b"", 400, 102),
        ("POST", "batch", b'{"requests": 5}', 400, 107),
        ("GET", "nosuchroute", b"", 404, 108),
        ("PUT", "health2", b"", 404, 108),
        ("DELETE", "login", b"", 405, 108),
        ("POST", "functions/missing", b"{}", 400, 141),
        ("POST", "schemas/BadType", b'{"fields": {"x": {"type": "Wat"}}}', 400, 111),
        ("POST", "schemas/BadPointer", b'{"fields": {"x": {"type": "Pointer"}}}', 400, 135),
        ("POST", "schemas/Bad", b"{}", 400, 103),
        ("POST", "files/a%3Cb.txt", b"hello", 400, 122),
        ("DELETE", "files/nope.txt", b"", 400, 153),
    ],
)
def test_bad_input(server: Server, api: Api, method: str, path: str, content: bytes, status: int, code: int) -> None:
    api.post("classes/Bad", {"a": "seed"})
    r = raw(server, method, path, content)
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"] == code, body
    assert isinstance(body["error"], str) and "Traceback" not in body["error"]


def test_unknown_app_id_is_403(server: Server) -> None:
    r = httpx.get(server.url + "/classes/X", headers={"X-Parse-Application-Id": "nope"})
    assert r.status_code == 403 and r.json() == {"error": "unauthorized"}
    r = httpx.post(server.url + "/classes/X", content=b"garbage")
    assert r.status_code == 403 and r.json() == {"error": "unauthorized"}


def test_huge_body_is_refused(server: Server) -> None:
    r = raw(server, "POST", "classes/Huge", b'{"a":"' + b"x" * (21 * 1024 * 1024) + b'"}')
    assert r.status_code == 413 and r.json()["code"] == 107


def test_wrong_type_in_where_is_not_an_error(api: Api) -> None:
    cls = unique("Wt")
    api.post(f"classes/{cls}", {"n": 1, "d": {"__type": "Date", "iso": "2025-01-01T00:00:00.000Z"}})
    for where in ({"n": "1"}, {"n": {"$gt": "a"}}, {"d": 5}, {"d": {"$lt": True}}, {"n": {"$in": ["x", None]}}):
        r = api.get(f"classes/{cls}", params={"where": where})
        assert r.status_code == 200 and r.json()["results"] == [], (where, r.text)


def test_failed_write_leaves_nothing(api: Api) -> None:
    cls = unique("Atomic")
    api.post(f"classes/{cls}", {"n": 1})
    r = api.post(f"classes/{cls}", {"fresh": "new field", "n": "wrong type"})
    assert r.json()["code"] == 111
    assert "fresh" not in api.get(f"schemas/{cls}").json()["fields"]  # the field added in the same save rolled back
    assert api.get(f"classes/{cls}", params={"count": 1, "limit": 0}).json()["count"] == 1


def test_injection_strings_are_plain_values(api: Api) -> None:
    cls = unique("Inj")
    evil = 'x\'); DROP TABLE "_User"; --'
    oid = api.post(f"classes/{cls}", {"name": evil}).json()["objectId"]
    assert api.get(f"classes/{cls}", params={"where": {"name": evil}}).json()["results"][0]["objectId"] == oid
    assert api.get("classes/_User", params={"limit": 1}).status_code == 200
