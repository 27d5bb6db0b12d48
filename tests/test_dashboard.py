"""Parse Dashboard (npm `parse-dashboard`, unchanged) against a real server, driven in Debian's Chromium through
`playwright-core` (tests/dashboard). `make test` installs both; a missing part is a failure, never a skip."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from conftest import Api, Server, free_port

DASH_DIR = Path(__file__).resolve().parent / "dashboard"
CHROMIUM = "/usr/bin/chromium"


def _start_dashboard(server: Server, tmp_path: Path) -> tuple[subprocess.Popen[bytes], str, Path]:
    config = {
        "apps": [{"serverURL": server.url, "appId": server.app_id, "masterKey": server.master_key, "appName": "CRM"}],
        "users": [{"user": "admin", "pass": "dashboard-pass"}],
    }
    path = tmp_path / "dashboard.json"
    path.write_text(json.dumps(config))
    port = free_port()
    log = tmp_path / "dashboard.log"
    proc = subprocess.Popen(
        [str(DASH_DIR / "node_modules" / ".bin" / "parse-dashboard"), "--config", str(path), "--host", "127.0.0.1",
         "--port", str(port), "--allowInsecureHTTP"],
        stdout=log.open("wb"), stderr=subprocess.STDOUT, cwd=DASH_DIR,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"parse-dashboard exited:\n{log.read_text()}")
        try:
            if httpx.get(url + "/login", timeout=1).status_code == 200:
                return proc, url, log
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.terminate()
    raise RuntimeError(f"parse-dashboard did not start:\n{log.read_text()}")


def test_dashboard_against_our_server(make_server: Callable[..., Server], tmp_path: Path) -> None:
    node = shutil.which("node")
    assert node, "Node.js is required"
    if not (DASH_DIR / "node_modules" / "parse-dashboard").is_dir():
        pytest.fail("tests/dashboard/node_modules is missing: run `make test` (it runs `npm ci` there)")
    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: `make test` installs it with apt-get"
    hooks = Path(__file__).resolve().parent / "fixtures" / "auth_hooks.py"  # jobs for the Jobs page
    server = make_server({"CRM_DB_POOL_SIZE": "3", "PARSE_CLOUD": str(hooks)})
    api = Api(server)
    for title, stage in [("Dash deal won 1", "won"), ("Dash deal won 2", "won"), ("Dash deal lead 1", "lead")]:
        assert api.post("classes/Deal", {"title": title, "stage": stage, "amount": 1000}).status_code == 201
    assert api.post("classes/DashNote", {"text": "a note"}).status_code == 201
    assert api.put("config", {"params": {"dashboardGreeting": "hello from parsecrm"}}).status_code == 200
    proc, url, log = _start_dashboard(server, tmp_path)
    try:
        env = {**os.environ, "DASHBOARD_URL": url, "DASHBOARD_USER": "admin", "DASHBOARD_PASS": "dashboard-pass",
               "PARSE_SERVER_URL": server.url, "PARSE_APP_ID": server.app_id,
               "PARSE_MASTER_KEY": server.master_key, "CHROMIUM": CHROMIUM}
        run = subprocess.run([node, "--test", "--test-reporter=spec", "dashboard.test.mjs"], cwd=DASH_DIR, env=env,
                             capture_output=True, text=True, timeout=300)
    finally:
        proc.terminate()
        proc.wait(10)
        server.stop()
    assert run.returncode == 0, f"{run.stdout[-8000:]}\n{run.stderr[-3000:]}\n{log.read_text()[-2000:]}\n{server.log()}"
    info = "\N{INFORMATION SOURCE}"  # the spec reporter's marker
    for line in (f"{info} pass 12", f"{info} fail 0", f"{info} skipped 0"):
        assert line in run.stdout, run.stdout
