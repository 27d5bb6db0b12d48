"""Logging (issue 8): every 5xx logged once, with its traceback and the request id the client was given; no secret
in any log line or error message; JSON lines on request; an access log that redacts too."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
import orjson
import pytest

from conftest import Api, Server, unique

HTTP = httpx.Client(timeout=60)  # one pool: a client per request reloads the CA bundle (~50 ms)

HOOKS = Path(__file__).resolve().parent / "fixtures" / "fault_hooks.py"


@pytest.fixture(scope="module")
def srv(make_server: Callable[..., Server]) -> Server:
    return make_server({"PARSE_CLOUD": str(HOOKS), "CRM_ACCESS_LOG": "true", "CRM_DB_POOL_SIZE": "3"})


def settle(server: Server) -> str:
    time.sleep(0.3)  # the server writes its log line after answering
    return server.log_path.read_text()


def lines_with(log: str, needle: str) -> list[str]:
    return [line for line in log.splitlines() if needle in line]


def test_a_server_error_is_logged_once_with_traceback_and_request_id(srv: Server) -> None:
    rid = "rid-" + unique()
    r = HTTP.post(
        f"{srv.url}/classes/BrokenSql",
        json={"a": 1},
        timeout=30,
        headers={"X-Parse-Application-Id": srv.app_id, "X-Request-Id": rid},
    )
    assert (r.status_code, r.json()) == (500, {"code": 1, "error": "Internal server error."})
    assert r.headers["x-request-id"] == rid
    log = settle(srv)
    errors = [line for line in lines_with(log, rid) if "ERROR" in line]
    assert len(errors) == 1, log[-3000:]
    after = log[log.index(errors[0]) :]
    assert "Traceback (most recent call last)" in after and "UndefinedTableError" in after, after[:3000]


def test_an_unexpected_error_inside_a_batch_item_is_logged(srv: Server) -> None:
    rid = "rid-" + unique()
    body = {
        "requests": [
            {"method": "POST", "path": "/parse/classes/BrokenSql", "body": {"a": 1}},
            {"method": "POST", "path": "/parse/classes/Fine", "body": {"a": 1}},
        ]
    }
    r = HTTP.post(
        f"{srv.url}/batch", json=body, timeout=30, headers={"X-Parse-Application-Id": srv.app_id, "X-Request-Id": rid}
    )
    assert r.status_code == 200
    first, second = r.json()
    assert first == {"error": {"code": 1, "error": "Internal server error."}} and "success" in second
    log = settle(srv)
    errors = [line for line in lines_with(log, rid) if "ERROR" in line]
    assert len(errors) == 1, log[-3000:]
    assert "Traceback (most recent call last)" in log[log.index(errors[0]) :]


def test_no_secret_reaches_the_log_or_the_client(srv: Server) -> None:
    api = Api(srv)
    user = api.signup(unique("leaky"), "hunter2-password")
    token = user["sessionToken"]
    r = api.post("functions/leak", {"key": srv.master_key}, as_=token)
    assert r.status_code == 400 and r.json()["code"] == 141
    answer = r.text
    r = HTTP.get(f"{srv.url}/apps/{srv.app_id}/request_password_reset", params={"token": "SeCrEtToKeN456"})
    HTTP.post(
        f"{srv.url}/login",
        json={"username": user["username"], "password": "hunter2-password"},
        headers={"X-Parse-Application-Id": srv.app_id},
    )
    log = settle(srv)
    assert "cloud code" in log and "[redacted]" in log  # the hook's failure is logged, redacted
    for secret in (
        token,
        token[2:],
        srv.master_key,
        "hunter22",
        "hunter2-password",
        "SeCrEtToKeN123",
        "SeCrEtToKeN456",
        '"pw1"',
    ):
        assert secret not in log, secret
        assert secret not in answer, secret
    assert "request_password_reset?token=[redacted]" in log  # the access log line, redacted


def test_json_log_lines(make_server: Callable[..., Server]) -> None:
    srv = make_server({"PARSE_CLOUD": str(HOOKS), "CRM_LOG_FORMAT": "json", "CRM_DB_POOL_SIZE": "3"})
    rid = "rid-" + unique()
    HTTP.post(
        f"{srv.url}/classes/BrokenSql",
        json={"a": 1},
        timeout=30,
        headers={"X-Parse-Application-Id": srv.app_id, "X-Request-Id": rid},
    )
    records = [orjson.loads(line) for line in settle(srv).splitlines() if line.startswith("{")]
    mine = [rec for rec in records if rec["request_id"] == rid]
    assert len(mine) == 1 and mine[0]["level"] == "ERROR" and "Traceback" in mine[0]["exception"], records[-3:]
    assert {"time", "logger", "message"} <= set(mine[0])
