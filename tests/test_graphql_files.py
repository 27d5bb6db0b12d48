"""File uploads over GraphQL on a real server (parse-server's `createFile(input: {upload})` and `FileInput.upload`,
sent as the GraphQL multipart request spec says, with httpx's multipart encoder): stored by the files code REST's
`POST /files/<name>` runs — the same names, URLs, permissions, extension rules and size limit — and refused with
REST's answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest

from conftest import Api, Server, unique
from graphql_client import Gql

CREATE_FILE = 'mutation($u: Upload!) { createFile(input: {upload: $u, clientMutationId: "f"}) '
CREATE_FILE += "{ clientMutationId fileInfo { name url } } }"


def multipart(
    gql: Gql,
    query: str,
    variables: dict[str, Any],
    files: dict[str, tuple[str, tuple[str, bytes, str]]],
    as_: str | None = "master",
) -> httpx.Response:
    """POST a multipart GraphQL request: `files` maps a variable path (e.g. `variables.u`) to its (part name, file)."""
    operations = {"query": query, "variables": variables}
    mapping = {part: [path] for path, (part, _) in files.items()}
    return gql.client.post(
        gql.url,
        data={"operations": orjson.dumps(operations).decode(), "map": orjson.dumps(mapping).decode()},
        files={part: file for part, file in files.values()},
        headers=gql.api.headers(as_),
    )


def rest_upload(api: Api, name: str, data: bytes, kind: str, as_: str | None) -> httpx.Response:
    return api.client.post(f"files/{name}", content=data, headers={**api.headers(as_), "Content-Type": kind})


def one_error(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    [error] = r.json()["errors"]
    return {"code": error["extensions"]["code"], "error": error["message"]}


@pytest.fixture(scope="module")
def gql(server: Server) -> Gql:
    return Gql(server)


def test_create_file_stores_as_rest_does(gql: Gql, api: Api) -> None:
    user = api.signup()["sessionToken"]
    r = multipart(
        gql, CREATE_FILE, {"u": None}, {"variables.u": ("0", ("notes.txt", b"hello there", "text/plain"))}, user
    )
    assert r.status_code == 200, r.text
    out = r.json()["data"]["createFile"]
    assert out["clientMutationId"] == "f"
    info = out["fileInfo"]
    rest = rest_upload(api, "notes.txt", b"hello there", "text/plain", user).json()
    assert info["name"].endswith("_notes.txt") and rest["name"].endswith("_notes.txt") and info["name"] != rest["name"]
    assert info["url"].rsplit("/", 1)[0] == rest["url"].rsplit("/", 1)[0]  # the same place as REST's
    got = httpx.get(info["url"])
    assert got.status_code == 200 and got.content == b"hello there"
    assert got.headers["content-type"].startswith("text/plain")


def test_file_input_upload_links_the_new_file(gql: Gql, api: Api) -> None:
    cls = unique("Scan")
    key = cls[:1].lower() + cls[1:]
    assert (
        api.post(
            f"schemas/{cls}", {"className": cls, "fields": {"title": {"type": "String"}, "doc": {"type": "File"}}}
        ).status_code
        == 200
    )
    user = api.signup()["sessionToken"]
    create = (
        f"mutation($f: Create{cls}FieldsInput) {{ create{cls}(input: {{fields: $f}}) "
        f"{{ {key} {{ objectId doc {{ name url }} }} }} }}"
    )
    pdf = b"%PDF-1.4 test"
    r = multipart(
        gql,
        create,
        {"f": {"title": "one", "doc": {"upload": None}}},
        {"variables.f.doc.upload": ("1", ("contract.pdf", pdf, "application/pdf"))},
        user,
    )
    assert r.status_code == 200, r.text
    made = r.json()["data"][f"create{cls}"][key]
    assert made["doc"]["name"].endswith("_contract.pdf")
    stored = api.get(f"classes/{cls}/{made['objectId']}").json()
    assert stored["doc"] == {"__type": "File", "name": made["doc"]["name"], "url": made["doc"]["url"]}
    assert httpx.get(made["doc"]["url"]).content == pdf

    # a write that fails after its upload leaves no file: the write is refused, the stored file removed again
    api.put(f"schemas/{cls}", {"classLevelPermissions": {"find": {"*": True}, "get": {"*": True}, "create": {}}})
    r = multipart(
        gql,
        create,
        {"f": {"title": "two", "doc": {"upload": None}}},
        {"variables.f.doc.upload": ("1", ("second.pdf", pdf, "application/pdf"))},
        user,
    )
    rest = api.post(f"classes/{cls}", {"title": "two"}, as_=user)
    assert one_error(r) == {"code": rest.json()["code"], "error": rest.json()["error"]}
    assert api.get(f"classes/{cls}", {"where": {"title": "two"}}).json()["results"] == []
    names = api.get(f"classes/{cls}").json()["results"]
    assert [o["doc"]["name"] for o in names] == [made["doc"]["name"]]
    orphans = [n for n in _stored_names(api) if n.endswith("_second.pdf")]
    assert orphans == []


def _stored_names(api: Api) -> list[str]:
    """Every stored file's name (the master key's view of `_File` through the database)."""
    import asyncio

    import asyncpg

    async def names() -> list[str]:
        conn = await asyncpg.connect(api.server.database_url)
        try:
            return [r["name"] for r in await conn.fetch('SELECT "name" FROM "_File"')]
        finally:
            await conn.close()

    return asyncio.run(names())


def test_uploads_are_refused_as_rest_refuses_them(gql: Gql, api: Api) -> None:
    # no session: public uploads are off by default, as REST answers
    rest = rest_upload(api, "a.txt", b"x", "text/plain", None).json()
    r = multipart(gql, CREATE_FILE, {"u": None}, {"variables.u": ("0", ("a.txt", b"x", "text/plain"))}, None)
    assert one_error(r) == rest == {"code": 130, "error": "File upload by public is disabled."}
    user = api.signup()["sessionToken"]
    for name in ("page.html", "a<b>.txt"):  # the extension rule, the name rule
        rest = rest_upload(api, name, b"x", "text/html", user).json()
        r = multipart(gql, CREATE_FILE, {"u": None}, {"variables.u": ("0", (name, b"x", "text/html"))}, user)
        assert one_error(r) == rest
    # an Upload sent without multipart, and malformed multipart requests: REST's 400/107 for unreadable bodies
    r = gql.raw(CREATE_FILE, {"u": "not a file"}, as_=user)
    assert r.status_code == 200 and "Upload value invalid" in r.json()["errors"][0]["message"]
    operations = orjson.dumps({"query": CREATE_FILE, "variables": {"u": None}}).decode()
    for data, files in (
        ({"operations": operations, "map": '{"9": ["variables.u"]}'}, {"0": ("a.txt", b"x", "text/plain")}),
        ({"operations": operations, "map": '{"0": ["query"]}'}, {"0": ("a.txt", b"x", "text/plain")}),
        ({"operations": operations, "map": "nope"}, {"0": ("a.txt", b"x", "text/plain")}),
        ({"operations": "[]", "map": "{}"}, {"0": ("a.txt", b"x", "text/plain")}),
    ):
        r = gql.client.post(gql.url, data=data, files=files, headers=gql.api.headers(user))
        assert r.status_code == 400 and r.json()["errors"][0]["extensions"]["code"] == 107, r.text


def test_size_limits(make_server: Callable[..., Server]) -> None:
    srv = make_server({"PARSE_FILE_MAX_BYTES": "1000", "PARSE_MAX_BODY_BYTES": "100000"})
    gql, api = Gql(srv), Api(srv)
    user = api.signup()["sessionToken"]
    ok = multipart(
        gql, CREATE_FILE, {"u": None}, {"variables.u": ("0", ("ok.bin", b"x" * 1000, "application/octet-stream"))}, user
    )
    assert ok.status_code == 200 and ok.json()["data"]["createFile"]["fileInfo"]["name"]
    # over the file limit, within the body limit: REST's error, as a GraphQL error
    rest = rest_upload(api, "big.bin", b"x" * 5000, "application/octet-stream", user)
    assert rest.status_code == 413
    r = multipart(
        gql,
        CREATE_FILE,
        {"u": None},
        {"variables.u": ("0", ("big.bin", b"x" * 5000, "application/octet-stream"))},
        user,
    )
    assert one_error(r) == rest.json() == {"code": 130, "error": "File size exceeds maximum allowed: 1000 bytes."}
    # over the request limit (the JSON limit plus one file): refused before it is read whole, as REST refuses
    r = multipart(
        gql,
        CREATE_FILE,
        {"u": None},
        {"variables.u": ("0", ("huge.bin", b"x" * 200_000, "application/octet-stream"))},
        user,
    )
    assert r.status_code == 413 and r.json() == rest.json()
    # a JSON request keeps the JSON limit
    r = gql.client.post(gql.url, content=b'{"query": "' + b" " * 150_000 + b'{ health }"}', headers=api.headers(user))
    assert r.status_code == 413 and r.json()["code"] == 107
    assert [n for n in _stored_names(api) if n.endswith(("_big.bin", "_huge.bin"))] == []
