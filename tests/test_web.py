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


def test_graphql_playground_page_from_the_build(make_server: Callable[..., Server], tmp_path: Path) -> None:
    """A browser's GET /graphql gets the built GraphiQL page (graphiql.html) with this server's settings in it; without
    it, a page that says how to build it. A GET with a query, and a POST, stay the API."""
    (tmp_path / "index.html").write_text("<!doctype html><title>CRM</title>")
    srv = make_server({"CRM_WEB_DIR": str(tmp_path)})
    root = srv.url.rsplit("/parse", 1)[0]
    html = {"Accept": "text/html,application/xhtml+xml"}
    missing = httpx.get(root + "/graphql", headers=html)
    assert missing.status_code == 200 and missing.headers["content-type"].startswith("text/html")
    assert "make web" in missing.text and "<script" not in missing.text
    (tmp_path / "graphiql.html").write_text(
        "<!doctype html><head><!-- crm-config: filled in --></head><div id=graphiql></div>"
        '<script type="module" src="/assets/graphiql-x.js"></script>'
    )
    page = httpx.get(root + "/graphql", headers=html)
    assert page.status_code == 200 and 'id="graphiql"' not in missing.text and "<div id=graphiql>" in page.text
    assert f'"appId": "{srv.app_id}"' in page.text and '"graphqlPath": "/graphql"' in page.text
    assert "crm-config: filled in" not in page.text and srv.master_key not in page.text
    assert '"appId"' in httpx.get(root + "/graphiql.html").text  # the file itself, served like index.html
    api = {**html, "X-Parse-Application-Id": srv.app_id}
    r = httpx.get(root + "/graphql", params={"query": "{ health }"}, headers=api)
    assert r.json() == {"data": {"health": True}}
    r = httpx.post(root + "/graphql", json={"query": "{ health }"}, headers=api)
    assert r.json() == {"data": {"health": True}}
