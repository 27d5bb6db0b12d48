"""Jobs (issue 15): `@cloud.job` functions started by `POST /jobs/<name>` with the master key, followed through
`_JobStatus` (running → succeeded / failed, message), and the Dashboard's `cloud_code/jobs` routes."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import Api, Server, unique

HOOKS = Path(__file__).resolve().parent / "fixtures" / "auth_hooks.py"
READ_ONLY = "ro-master-key"


@pytest.fixture(scope="module")
def jobs_api(make_server: Callable[..., Server]) -> Api:
    return Api(make_server({"PARSE_CLOUD": str(HOOKS), "PARSE_READ_ONLY_MASTER_KEY": READ_ONLY}))


def start(api: Api, name: str, params: dict[str, Any] | None = None) -> str:
    r = api.post(f"jobs/{name}", params or {})
    assert (r.status_code, r.json()) == (200, {}), r.text
    return r.headers["X-Parse-Job-Status-Id"]


def status(api: Api, job_id: str) -> dict[str, Any]:
    r = api.get(f"classes/_JobStatus/{job_id}")
    assert r.status_code == 200, r.text
    return r.json()


def wait_until(api: Api, job_id: str, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """Poll the job's status until `done` holds (a state, not a time: the bound only stops a broken run)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = status(api, job_id)
        if done(found):
            return found
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never reached the state: {status(api, job_id)}")


def finished(s: dict[str, Any]) -> bool:
    return s["status"] != "running"


def test_a_job_runs_and_succeeds(jobs_api: Api) -> None:
    job_id = start(jobs_api, "countUsers", {"prefix": "abc"})
    done = wait_until(jobs_api, job_id, finished)
    assert done["status"] == "succeeded", done
    assert done["jobName"] == "countUsers" and done["source"] == "api"
    assert done["params"] == {"prefix": "abc"}
    assert done["message"].endswith("users, prefix abc")
    assert done["startedAt"]["__type"] == "Date" and done["finishedAt"]["__type"] == "Date"


def test_jobs_route_with_the_name_in_the_body(jobs_api: Api) -> None:
    r = jobs_api.post("jobs", {"jobName": "countUsers", "prefix": "body"})
    assert r.status_code == 200, r.text
    done = wait_until(jobs_api, r.headers["X-Parse-Job-Status-Id"], finished)
    assert done["status"] == "succeeded" and done["message"].endswith("prefix body")


def test_a_failing_job_is_recorded_as_failed(jobs_api: Api) -> None:
    done = wait_until(jobs_api, start(jobs_api, "failing"), finished)
    assert (done["status"], done["message"]) == ("failed", "the job went wrong")
    assert "ValueError: the job went wrong" in jobs_api.server.log()  # its traceback is logged


def test_running_then_released(jobs_api: Api) -> None:
    key = unique("rel")
    job_id = start(jobs_api, "slow", {"key": key})
    running = wait_until(jobs_api, job_id, lambda s: s.get("message") == "waiting for the release row")
    assert running["status"] == "running" and "finishedAt" not in running
    assert jobs_api.post("classes/JobRelease", {"key": key}).status_code == 201
    done = wait_until(jobs_api, job_id, finished)
    assert (done["status"], done["message"]) == ("succeeded", "released")


def test_bad_calls(jobs_api: Api) -> None:
    user = jobs_api.signup(unique("jobs"))
    r = jobs_api.post("jobs/countUsers", {}, as_=user["sessionToken"])
    assert (r.status_code, r.json()["code"]) == (403, 119)
    r = jobs_api.post("jobs/countUsers", {}, as_=None)
    assert (r.status_code, r.json()["code"]) == (403, 119)
    r = jobs_api.post("jobs/nosuchjob", {})
    assert (r.status_code, r.json()) == (400, {"code": 141, "error": "Invalid job."})
    r = jobs_api.post("jobs", {})
    assert (r.status_code, r.json()["code"]) == (400, 141)
    r = jobs_api.post("jobs/countUsers", {}, as_=None, headers={"X-Parse-Master-Key": READ_ONLY})
    assert (r.status_code, r.json()["code"]) == (400, 119)
    # _JobStatus is the master key's: users neither read nor write it
    r = jobs_api.get("classes/_JobStatus", as_=user["sessionToken"])
    assert (r.status_code, r.json()["code"]) == (400, 119)
    r = jobs_api.post("classes/_JobStatus", {"status": "succeeded"}, as_=user["sessionToken"])
    assert (r.status_code, r.json()["code"]) == (400, 119)


def test_cloud_code_jobs_routes(jobs_api: Api) -> None:
    data = jobs_api.get("cloud_code/jobs/data")
    assert data.status_code == 200, data.text
    assert data.json() == {"in_use": [], "jobs": ["countUsers", "failing", "slow"]}
    assert jobs_api.get("cloud_code/jobs").json() == []
    r = jobs_api.get("cloud_code/jobs/data", as_=None)
    assert (r.status_code, r.json()["code"]) == (403, 119)
    ro = jobs_api.get("cloud_code/jobs/data", as_=None, headers={"X-Parse-Master-Key": READ_ONLY})
    assert ro.status_code == 200


def test_a_job_running_at_shutdown_ends_as_failed(make_server: Callable[..., Server]) -> None:
    server = make_server({"PARSE_CLOUD": str(HOOKS)})
    api = Api(server)
    job_id = start(api, "slow", {"key": unique("never")})  # nobody releases it
    wait_until(api, job_id, lambda s: s.get("message") == "waiting for the release row")
    server.stop()  # SIGTERM: a graceful shutdown
    after = Api(make_server({"PARSE_CLOUD": str(HOOKS)}, database_url=server.database_url))
    done = status(after, job_id)
    assert (done["status"], done["message"]) == ("failed", "The server stopped before the job finished.")
    assert done["finishedAt"]["__type"] == "Date"
