"""The official SDK against email verification (issue 15): verification.sdk.mjs, against a server that verifies
emails and whose outbox the test reads. Its sibling files authdata.test.mjs and jobs.test.mjs run in the whole suite
(tests/test_sdk.py, whose server loads the same Cloud Code); name them in FILES to run them alone while working."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import Server

SDK_DIR = Path(__file__).resolve().parent / "sdk"
HOOKS = Path(__file__).resolve().parent / "fixtures" / "auth_hooks.py"
# verification.sdk.mjs is not a *.test.mjs: the whole suite's server does not verify emails
FILES: dict[str, dict[str, str]] = {"verification.sdk.mjs": {"PARSE_VERIFY_USER_EMAILS": "true"}}


@pytest.mark.parametrize("name", sorted(FILES))
def test_sdk_file(make_server: Callable[..., Server], tmp_path: Path, name: str) -> None:
    mail_dir = tmp_path / "outbox"
    server = make_server({"PARSE_CLOUD": str(HOOKS), "CRM_MAIL_DIR": str(mail_dir), **FILES[name]})
    node = shutil.which("node")
    assert node, "Node.js is required for the SDK suite"
    if not (SDK_DIR / "node_modules" / "parse").is_dir():
        pytest.fail("tests/sdk/node_modules is missing: run `make sdk-deps`")
    env = {
        **os.environ,
        "PARSE_SERVER_URL": server.url,
        "PARSE_APP_ID": server.app_id,
        "PARSE_MASTER_KEY": server.master_key,
        "PARSE_JS_KEY": "",
        "MAIL_DIR": str(mail_dir),
    }
    env.pop("PEER", None)
    proc = subprocess.run(
        [node, "--test", "--test-timeout=120000", "--test-reporter=spec", name],
        cwd=SDK_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    info = "\N{INFORMATION SOURCE}"
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout[-12000:]}\n{proc.stderr[-3000:]}\n{server.log()}"
    assert f"{info} fail 0" in proc.stdout and f"{info} skipped 0" in proc.stdout, proc.stdout[-3000:]
