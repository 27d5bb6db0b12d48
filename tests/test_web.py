"""The web app's static files are served next to the API: files by path, index.html for app routes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from conftest import Server


def test_static_app_beside_the_api(make_server: Callable[..., Server], tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>CRM</title>")
    (tmp_path / "assets" / "app.js").write_text("console.log('crm')")
    (tmp_path.parent / "secret.txt").write_text("not for clients")
    srv = make_server({"CRM_WEB_DIR": str(tmp_path)})
    root = srv.url.rsplit("/parse", 1)[0]
    page = httpx.get(root + "/")
    assert page.status_code == 200 and "<title>CRM</title>" in page.text
    assert page.headers["content-type"].startswith("text/html")
    js = httpx.get(root + "/assets/app.js")
    assert js.text == "console.log('crm')" and "immutable" in js.headers["cache-control"]
    assert "<title>CRM</title>" in httpx.get(root + "/deals/abc123").text  # client-side routes get the app
    escape = httpx.get(root + "/%2e%2e/secret.txt")
    assert "not for clients" not in escape.text
    assert httpx.get(srv.url + "/health").json() == {"status": "ok"}  # the API is unaffected


def test_no_sibling_directory_escape(make_server: Callable[..., Server], tmp_path: Path) -> None:
    """`/../dist-private/secret.txt` with CRM_WEB_DIR=…/dist resolved to …/dist-private/secret.txt, which *starts
    with* …/dist as a string: the old prefix check served it (issue 8, item 8)."""
    dist, private = tmp_path / "dist", tmp_path / "dist-private"
    dist.mkdir()
    private.mkdir()
    (dist / "index.html").write_text("<!doctype html><title>CRM</title>")
    (private / "secret.txt").write_text("sibling secret")
    srv = make_server({"CRM_WEB_DIR": str(dist), "CRM_DB_POOL_SIZE": "2"})
    root = srv.url.rsplit("/parse", 1)[0]
    for path in ("/%2e%2e/dist-private/secret.txt", "/..%2fdist-private/secret.txt", "/../dist-private/secret.txt"):
        r = httpx.get(root + path)
        assert "sibling secret" not in r.text, path
