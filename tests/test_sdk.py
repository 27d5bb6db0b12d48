"""Runs the official-SDK conformance suite (tests/sdk, Node's test runner) against a live server."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import Server

SDK_DIR = Path(__file__).resolve().parent / "sdk"


def test_official_sdk_suite(make_server: Callable[..., Server]) -> None:
    # its own server, with a JavaScript key, so the key checks run too (nothing in the suite is skipped)
    live = "Deal,Activity,Contact,Company,LiveSecret,LivePointer,LiveOpen"  # livequery.test.mjs makes the Live* ones
    hooks = str(Path(__file__).resolve().parent / "fixtures" / "auth_hooks.py")  # authdata/jobs tests' Cloud Code
    server = make_server({"PARSE_JAVASCRIPT_KEY": "sdk-js-key", "PARSE_LIVE_QUERY_CLASSES": live, "PARSE_CLOUD": hooks})
    server.javascript_key = "sdk-js-key"
    node = shutil.which("node")
    assert node, "Node.js is required for the SDK suite (make test installs its packages)"
    if not (SDK_DIR / "node_modules" / "parse").is_dir():
        pytest.fail("tests/sdk/node_modules is missing: run `make test` (it runs `npm ci` there)")
    env = {**os.environ, "PARSE_SERVER_URL": server.url, "PARSE_APP_ID": server.app_id,
           "PARSE_MASTER_KEY": server.master_key, "PARSE_JS_KEY": server.javascript_key}
    env.pop("PEER", None)
    proc = subprocess.run(
        [node, "--test", "--test-timeout=120000", "--test-reporter=spec"], cwd=SDK_DIR, env=env,
        capture_output=True, text=True, timeout=900,
    )
    info, cross = "\N{INFORMATION SOURCE}", "\N{HEAVY MULTIPLICATION X}"  # the spec reporter's markers
    summary = "\n".join(line for line in proc.stdout.splitlines() if line.startswith((info, cross)))
    assert proc.returncode == 0, f"SDK suite failed:\n{proc.stdout[-15000:]}\n{proc.stderr[-3000:]}\n{server.log()}"
    assert f"{info} fail 0" in summary and f"{info} skipped 0" in summary, summary
    passed = int(next(line.split()[-1] for line in summary.splitlines() if line.startswith(f"{info} pass ")))
    assert passed >= 230, summary  # every file ran (a file that failed to load would show fewer)
