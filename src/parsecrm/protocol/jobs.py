"""`POST /jobs/<name>` (and `/jobs` with `jobName` in the body), `GET /cloud_code/jobs`, `/cloud_code/jobs/data`:
parse-server's FunctionsRouter.handleCloudJob and CloudCodeRouter, master key only."""

from __future__ import annotations

from typing import Any

from .. import errors, jobs
from ..backend import Backend
from ..errors import ParseError
from ..objects import Unit
from .reply import Reply
from .transport import Call


def _master(call: Call) -> None:
    if not (call.caller.master or call.caller.read_only):
        raise ParseError(errors.OPERATION_FORBIDDEN, "unauthorized: master key is required", status=403)


async def run(backend: Backend, call: Call, unit: Unit | None, name: str | None = None) -> Reply:
    _master(call)
    params: dict[str, Any] = call.params()
    job = name or params.get("jobName")
    if not isinstance(job, str) or not job:
        raise ParseError(errors.SCRIPT_FAILED, "Invalid job.")
    job_id = await jobs.start(backend, call.caller, job, params)
    return Reply({}, headers=[(b"x-parse-job-status-id", job_id.encode())])


async def scheduled(backend: Backend, call: Call, unit: Unit | None) -> Reply:
    _master(call)
    return Reply(await jobs.schedules(backend, call.caller))


async def data(backend: Backend, call: Call, unit: Unit | None) -> Reply:
    _master(call)
    in_use = [s.get("jobName") for s in await jobs.schedules(backend, call.caller)]
    return Reply({"in_use": in_use, "jobs": sorted(backend.cloud.jobs)})
