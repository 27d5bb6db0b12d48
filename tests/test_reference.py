"""The API reference: the OpenAPI document (validated, and exercised by schemathesis against a live server), the
schema page and its JSON exports, and the three pages in a real browser (tests/browser, Debian chromium): GraphiQL at
/graphql as a signed-in user and as an anonymous caller, the REST explorer, the schema page."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from openapi_spec_validator import validate

from conftest import Api, Server

ROOT = Path(__file__).resolve().parents[1]
BROWSER_DIR = Path(__file__).resolve().parent / "browser"


def origin(server: Server) -> str:
    return server.url.rsplit("/", 1)[0]


def test_openapi_document_is_valid_and_follows_the_schema(server: Server, api: Api) -> None:
    doc = httpx.get(server.url + "/openapi.json").json()
    validate(doc)
    assert doc["openapi"] == "3.1.0"
    for path in ("/classes/Deal", "/classes/Deal/{objectId}", "/users", "/login", "/functions/{name}"):
        assert path in doc["paths"], path
    deal = doc["components"]["schemas"]["Deal"]["properties"]
    assert deal["amount"]["type"] == "number" and "stage" in deal
    assert doc["components"]["schemas"]["DealCreate"]["required"] == ["title"]
    where = next(p for p in doc["paths"]["/classes/Deal"]["get"]["parameters"] if p["name"] == "where")
    assert where["in"] == "query"
    assert doc["paths"]["/classes/Deal"]["get"]["responses"]["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
    # a class added at run time is in the next document
    api.post("schemas/RefProbe", {"className": "RefProbe", "fields": {"level": {"type": "Number"}}})
    doc = httpx.get(server.url + "/openapi.json").json()
    assert "/classes/RefProbe" in doc["paths"]
    assert doc["components"]["schemas"]["RefProbe"]["properties"]["level"]["type"] == "number"


def test_schemathesis_finds_no_server_errors(make_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # its own server: on the shared one, classes that earlier tests made (odd names included) changed what the fixed
    # seed generated, and the coverage phase then sometimes produced a request uvicorn refuses as invalid HTTP (a
    # client-side "Runtime Error", never a 5xx), so the test depended on test order
    server = make_server({"CRM_DB_POOL_SIZE": "4"})
    api = Api(server)
    token = api.signup()["sessionToken"]
    st = shutil.which("st", path=str(Path(sys.executable).parent)) or shutil.which("st")
    assert st, "schemathesis is a test dependency (make test installs it)"
    proc = subprocess.run(
        [
            st,
            "run",
            server.url + "/openapi.json",
            "--checks",
            "not_a_server_error",
            "--phases",
            "examples,fuzzing",
            "--max-examples",
            "15",
            "--max-time",
            "60",
            "--workers",
            "2",
            "--exclude-path-regex",
            "^/(logout|schemas)",  # logging out would end the session the run uses
            "-H",
            f"X-Parse-Application-Id: {server.app_id}",
            "-H",
            f"X-Parse-Session-Token: {token}",
            "--seed",
            "7",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,  # schemathesis keeps a cache folder where it runs
    )
    assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr[-3000:] + server.log()
    assert "Traceback" not in server.log()


def test_schema_page_and_exports(server: Server) -> None:
    page = httpx.get(origin(server) + "/schema")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<g class="entity" data-class="Deal">' in page.text
    assert "Activity.relatedTo → Contact" in page.text and "Activity.relatedTo → Deal" in page.text
    assert "An opportunity moving through the sales pipeline." in page.text  # descriptions from crm/schema.json
    assert "signed-in users" in page.text  # the permissions, in words
    seed = httpx.get(origin(server) + "/schema/classes.json").json()
    deal = next(c for c in seed["classes"] if c["className"] == "Deal")
    assert deal["fields"]["title"]["required"] is True and deal["fields"]["contact"]["targetClass"] == "Contact"
    activity = next(c for c in seed["classes"] if c["className"] == "Activity")
    assert activity["fields"]["relatedTo"]["targetClasses"] == ["Contact", "Deal"]
    parse_format = httpx.get(origin(server) + "/schema/schemas.json").json()
    deal = next(c for c in parse_format["results"] if c["className"] == "Deal")
    assert deal["classLevelPermissions"]["find"] == {"requiresAuthentication": True} and "indexes" in deal


def test_reference_pages_can_be_switched_off(make_server) -> None:  # type: ignore[no-untyped-def]
    srv = make_server({"CRM_API_REFERENCE": "false"})
    for path in ("/schema", "/api", "/parse/openapi.json"):
        r = httpx.get(origin(srv) + path)
        # outside the mount: no page (or, when the web app is built, its shell, whose router shows "not found");
        # under it: the API's own answer (403 without an app id); never the document
        web_app_shell = r.status_code == 200 and 'id="crm-config"' in r.text
        assert web_app_shell or r.status_code in (403, 404), path
        assert "openapi" not in r.text.lower() and ("<html" not in r.text or web_app_shell), path


def test_pages_in_a_real_browser(server: Server, api: Api) -> None:
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    assert Path(chromium).exists(), "Debian chromium is required (make test installs it with apt-get)"
    if not (BROWSER_DIR / "node_modules" / "playwright-core").is_dir():
        pytest.fail("tests/browser/node_modules is missing: run `make test` (it runs `npm ci` there)")
    playground = httpx.get(origin(server) + "/graphql", headers={"Accept": "text/html"})
    if 'id="graphiql"' not in playground.text:
        pytest.fail("GET /graphql is not the GraphiQL build: run `make web` (`make test` does)")
    user = api.signup()
    for i in range(2):
        r = api.post("classes/Deal", {"title": f"browser {i}", "stage": "qualified"}, as_=user["sessionToken"])
        assert r.status_code == 201
    env = {
        **os.environ,
        "BASE_URL": origin(server),
        "APP_ID": server.app_id,
        "SESSION_TOKEN": user["sessionToken"],
        "CHROMIUM": chromium,
    }
    proc = subprocess.run(
        ["node", "--test", "--test-reporter=spec", "reference.test.mjs"],
        cwd=BROWSER_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr[-3000:]
    info = "\N{INFORMATION SOURCE}"  # the spec reporter's summary marker
    assert f"{info} pass 4" in proc.stdout and f"{info} fail 0" in proc.stdout, proc.stdout[-3000:]


def test_banner_lists_the_reference_urls(server: Server) -> None:
    banner = server.log_path.read_text(errors="replace")[:5000]  # the start: the shared server's log grows
    base = origin(server)
    assert f"GraphQL            {base}/graphql" in banner
    assert f"{base}/schema   {base}/api   {base}/parse/openapi.json" in banner
