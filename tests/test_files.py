"""Files: upload rules (who, which extensions, how big), safe serving, master-only delete, File fields, adapters,
and `crm files orphans`. Real servers, real HTTP; the SDK's own file round trip is in tests/sdk/files.test.mjs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from conftest import ROOT, Api, Server, free_port, unique


@pytest.fixture()
def own_server(make_server: Callable[..., Server]) -> Iterator[Callable[..., Server]]:
    """A server with its own settings for one test: a small pool, stopped when the test ends (the machine's
    PostgreSQL is shared, and idle servers would hold its connections)."""
    started: list[Server] = []

    def make(env: dict[str, str] | None = None) -> Server:
        started.append(make_server({"CRM_DB_POOL_SIZE": "3", **(env or {})}))
        return started[-1]

    yield make
    for srv in started:
        srv.stop()


def upload(api: Api, name: str, data: bytes, content_type: str, as_: str | None = "master") -> httpx.Response:
    headers = api.headers(as_, {"Content-Type": content_type})
    return api.client.post(f"files/{name}", content=data, headers=headers)


def test_upload_serve_and_field(api: Api) -> None:
    user = api.signup()
    r = upload(api, "notes.txt", b"hello files", "text/plain", as_=user["sessionToken"])
    assert r.status_code == 201, r.text
    saved = r.json()
    assert saved["name"].endswith("_notes.txt") and len(saved["name"]) == 32 + 1 + len("notes.txt")
    assert r.headers["location"] == saved["url"]
    assert saved["url"] == f"{api.server.url}/files/{api.server.app_id}/{saved['name']}"
    got = httpx.get(saved["url"])  # no credentials: the unguessable name is the capability
    assert got.status_code == 200 and got.content == b"hello files"
    assert got.headers["content-type"] == "text/plain"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert "content-disposition" not in got.headers  # plain text is safe to show inline

    cls = unique("Doc")
    file_value = {"__type": "File", "name": saved["name"], "url": "ignored"}
    created = api.post(f"classes/{cls}", {"attachment": file_value})
    assert created.status_code == 201, created.text
    assert api.get(f"schemas/{cls}").json()["fields"]["attachment"] == {"type": "File"}
    row = api.get(f"classes/{cls}/{created.json()['objectId']}").json()
    assert row["attachment"] == {"__type": "File", "name": saved["name"], "url": saved["url"]}
    found = api.get(f"classes/{cls}", params={"where": {"attachment": file_value}}).json()["results"]
    assert [o["objectId"] for o in found] == [created.json()["objectId"]]
    assert api.post(f"classes/{cls}", {"attachment": "text"}).json()["code"] == 111
    assert api.post(f"classes/{cls}", {"attachment": {"__type": "File"}}).json()["code"] == 111


def test_executable_types_are_downloads(api: Api) -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    r = upload(api, "logo.svg", svg, "image/svg+xml", as_=api.signup()["sessionToken"])
    assert r.status_code == 201, r.text
    got = httpx.get(r.json()["url"])
    assert got.content == svg
    assert got.headers["content-disposition"] == 'attachment; filename="logo.svg"'
    assert got.headers["content-type"] == "application/octet-stream"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in got.headers["content-security-policy"]
    # a name that lies about its type changes nothing: the declared type decides, and HTML is never inline
    r = upload(api, "photo.png", b"<html><script>alert(1)</script>", "text/html")
    got = httpx.get(r.json()["url"])
    assert got.headers["content-type"] == "application/octet-stream" and "attachment" in got.headers[
        "content-disposition"]


def test_html_refused_by_default_and_served_as_attachment_when_allowed(
    api: Api, own_server: Callable[..., Server]
) -> None:
    token = api.signup()["sessionToken"]
    r = upload(api, "page.html", b"<script>alert(1)</script>", "text/html", as_=token)
    assert r.status_code == 400 and r.json() == {"code": 130, "error": "File upload of extension html is disabled."}
    assert upload(api, "page.HTM", b"x", "text/html", as_=token).json()["code"] == 130

    open_server = Api(own_server({"PARSE_FILE_EXTENSIONS": "*"}))
    r = upload(open_server, "page.html", b"<script>alert(1)</script>", "text/html", as_=open_server.signup()[
        "sessionToken"])
    assert r.status_code == 201, r.text
    got = httpx.get(r.json()["url"])
    assert got.headers["content-disposition"] == 'attachment; filename="page.html"'
    assert got.headers["content-type"] == "application/octet-stream"
    assert got.headers["x-content-type-options"] == "nosniff"


def test_who_may_upload_and_delete(api: Api, own_server: Callable[..., Server]) -> None:
    r = upload(api, "a.txt", b"x", "text/plain", as_=None)
    assert r.status_code == 400 and r.json() == {"code": 130, "error": "File upload by public is disabled."}
    rep = api.signup()["sessionToken"]
    saved = upload(api, "a.txt", b"x", "text/plain", as_=rep).json()
    r = api.delete(f"files/{saved['name']}", as_=rep)  # a rep cannot delete a file
    assert r.status_code == 403 and r.json()["code"] == 119
    assert httpx.get(saved["url"]).status_code == 200
    assert api.delete(f"files/{saved['name']}").status_code == 200  # the master key can
    gone = httpx.get(saved["url"])
    assert gone.status_code == 404 and gone.headers["x-content-type-options"] == "nosniff"
    assert api.delete(f"files/{saved['name']}").json()["code"] == 153

    locked = Api(own_server({"PARSE_FILE_UPLOAD_AUTHENTICATED": "false", "PARSE_FILE_UPLOAD_PUBLIC": "true"}))
    assert upload(locked, "a.txt", b"x", "text/plain", as_=None).status_code == 201
    r = upload(locked, "a.txt", b"x", "text/plain", as_=locked.signup()["sessionToken"])
    assert r.json() == {"code": 130, "error": "File upload by authenticated user is disabled."}
    assert upload(locked, "a.txt", b"x", "text/plain").status_code == 201  # master always may


def test_names_and_sizes(own_server: Callable[..., Server]) -> None:
    api = Api(own_server({"PARSE_FILE_MAX_BYTES": "1000", "PARSE_MAX_BODY_BYTES": "100000"}))
    token = api.signup()["sessionToken"]
    assert upload(api, "ok.bin", b"x" * 1000, "application/octet-stream", as_=token).status_code == 201
    r = upload(api, "big.bin", b"x" * 1001, "application/octet-stream", as_=token)
    assert r.status_code == 413 and r.json() == {"code": 130, "error": "File size exceeds maximum allowed: 1000 bytes."}
    r = upload(api, "huge.bin", b"x" * 3_000_000, "application/octet-stream", as_=token)  # over the body limit
    assert r.status_code == 413 and r.json()["code"] == 130
    for bad in ("..hidden", "a%2Fb", "-x", "x" * 129, "a<b>.txt"):
        r = upload(api, bad, b"x", "text/plain", as_=token)
        assert r.json()["code"] == 122, (bad, r.text)
    assert api.client.post("files", headers=api.headers(token)).json()["code"] == 122
    assert api.client.get(f"files/wrong-app/{'0' * 32}_x.txt").status_code == 403


def test_filesystem_adapter(own_server: Callable[..., Server], tmp_path: Path) -> None:
    api = Api(own_server({"PARSE_FILES_ADAPTER": "filesystem", "PARSE_FILES_DIR": str(tmp_path)}))
    saved = upload(api, "doc.pdf", b"%PDF-1.4 data", "application/pdf").json()
    assert (tmp_path / saved["name"]).read_bytes() == b"%PDF-1.4 data"
    got = httpx.get(saved["url"])
    assert got.content == b"%PDF-1.4 data" and got.headers["content-type"] == "application/pdf"
    assert api.delete(f"files/{saved['name']}").status_code == 200
    assert not (tmp_path / saved["name"]).exists()
    assert sorted(os.listdir(tmp_path)) == []  # no temporary files left behind


def test_orphans_command(api: Api) -> None:
    token = api.signup()["sessionToken"]
    names = [upload(api, f"f{i}.txt", b"x", "text/plain", as_=token).json()["name"] for i in range(4)]
    cls = unique("Att")
    file_of = {n: {"__type": "File", "name": n} for n in names}
    api.post(f"classes/{cls}", {"main": file_of[names[0]], "more": [file_of[names[1]]]})
    api.post(f"classes/{cls}", {"meta": {"deep": {"logo": file_of[names[2]]}}})

    env = {**api.server.env, "DATABASE_URL": api.server.database_url}
    cmd = [sys.executable, "-m", "parsecrm.cli", "files", "orphans", "--min-age", "0"]
    listed = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert names[3] in listed.stdout.split() and not set(names[:3]) & set(listed.stdout.split())
    recent = subprocess.run([*cmd[:-1], "3600"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert names[3] not in recent.stdout  # just uploaded: perhaps its object is being saved right now
    deleted = subprocess.run([*cmd, "--delete"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert deleted.returncode == 0 and names[3] in deleted.stdout, deleted.stderr
    base = f"{api.server.url}/files/{api.server.app_id}/"
    assert httpx.get(base + names[3]).status_code == 404
    assert all(httpx.get(base + n).status_code == 200 for n in names[:3])


def test_large_file_round_trip_and_ranges(api: Api) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)  # several 1 MiB chunks of the PostgreSQL adapter
    saved = upload(api, "blob.bin", data, "application/octet-stream").json()
    got = httpx.get(saved["url"])
    assert got.content == data and "attachment" in got.headers["content-disposition"]
    assert got.headers["accept-ranges"] == "bytes"
    # ranges, as media players and PDF viewers ask for them
    part = httpx.get(saved["url"], headers={"Range": "bytes=1048570-1048585"})
    assert part.status_code == 206 and part.content == data[1048570:1048586]
    assert part.headers["content-range"] == f"bytes 1048570-1048585/{len(data)}"
    tail = httpx.get(saved["url"], headers={"Range": "bytes=-5"})
    assert tail.status_code == 206 and tail.content == data[-5:]
    rest = httpx.get(saved["url"], headers={"Range": "bytes=3145728-"})
    assert rest.status_code == 206 and rest.content == data[3145728:]
    beyond = httpx.get(saved["url"], headers={"Range": f"bytes={len(data)}-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{len(data)}"
    several = httpx.get(saved["url"], headers={"Range": "bytes=0-1,5-6"})
    assert several.status_code == 200 and several.content == data


@pytest.fixture()
def s3_endpoint() -> Iterator[str]:
    """A real S3-compatible HTTP server (moto's) on a free port, as the S3 adapter's protocol peer."""
    moto = shutil.which("moto_server", path=str(Path(sys.executable).parent))
    assert moto, "moto_server is missing: make test installs the test extras (moto[server])"
    port = free_port()
    proc = subprocess.Popen([moto, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def _s3(method: str, url: str) -> httpx.Response:
    from datetime import UTC, datetime

    from parsecrm.files.s3 import sign

    headers = sign(method, url, b"", "us-east-1", "test-access", "test-secret", datetime.now(UTC))
    return httpx.request(method, url, headers=headers)


def test_s3_adapter(own_server: Callable[..., Server], s3_endpoint: str) -> None:
    assert _s3("PUT", f"{s3_endpoint}/crm-files").status_code == 200  # create the bucket
    api = Api(own_server({
        "PARSE_FILES_ADAPTER": "s3", "PARSE_S3_ENDPOINT": s3_endpoint, "PARSE_S3_BUCKET": "crm-files",
        "PARSE_S3_ACCESS_KEY": "test-access", "PARSE_S3_SECRET_KEY": "test-secret", "PARSE_S3_PREFIX": "app1/",
    }))
    data = os.urandom(70_000)
    saved = upload(api, "scan one.png", data, "image/png").json()
    stored = _s3("GET", f"{s3_endpoint}/crm-files/app1/{saved['name'].replace(' ', '%20')}")
    assert stored.status_code == 200 and stored.content == data  # the bytes live in the object store
    got = httpx.get(saved["url"])
    assert got.content == data and got.headers["content-type"] == "image/png"
    assert api.delete(f"files/{saved['name']}").status_code == 200
    assert _s3("GET", f"{s3_endpoint}/crm-files/app1/{saved['name'].replace(' ', '%20')}").status_code == 404
    assert httpx.get(saved["url"]).status_code == 404


def test_file_fields_in_graphql_and_openapi(own_server: Callable[..., Server]) -> None:
    """A class with a File field keeps GraphQL (FileInfo: name, url) and the OpenAPI document working."""
    from graphql_client import Gql

    server = own_server()
    api = Api(server)
    saved = upload(api, "contract.pdf", b"%PDF-1.4", "application/pdf").json()
    api.post("classes/Contract", {"title": "MSA", "scan": {"__type": "File", "name": saved["name"]}})
    data = Gql(server)("{ contracts { edges { node { title scan { name url } } } } }")
    node = data["contracts"]["edges"][0]["node"]
    assert node == {"title": "MSA", "scan": {"name": saved["name"], "url": saved["url"]}}
    doc = httpx.get(server.url + "/openapi.json")
    assert doc.status_code == 200 and "scan" in doc.text
