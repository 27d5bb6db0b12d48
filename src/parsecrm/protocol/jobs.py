"""`POST /jobs/<name>` (and `/jobs` with `jobName` in the body), `cloud_code/jobs` (GET the `_JobSchedule` rows,
POST one, PUT/DELETE `cloud_code/jobs/<id>`: Parse Dashboard's scheduled jobs) and `GET cloud_code/jobs/data`:
parse-server's FunctionsRouter.handleCloudJob and CloudCodeRouter, master key only. The rows are run by
parsecrm/jobschedule.py."""

from __future__ import annotations

from typing import Any

from .. import errors, jobs, objects
from ..backend import Backend
from ..errors import ParseError
from ..objects import Unit
from ..values import iso, now_ms
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


def _job_schedule(backend: Backend, call: Call) -> dict[str, Any]:
    """The body's `job_schedule` (CloudCodeRouter's validateJobSchedule and formatJobSchedule): a job that is not
    deployed is refused (141: parse-server answers code 1, a 500 the SDK would retry), `startAfter` defaults to now."""
    body = call.body if isinstance(call.body, dict) else {}
    schedule = body.get("job_schedule")
    if not isinstance(schedule, dict):
        raise ParseError(errors.INVALID_JSON, "job_schedule must be an object.")
    name = schedule.get("jobName")
    if name is not None and (not isinstance(name, str) or name not in backend.cloud.jobs):
        raise ParseError(errors.SCRIPT_FAILED, "Cannot Schedule a job that is not deployed")
    return schedule if "startAfter" in schedule else {**schedule, "startAfter": iso(now_ms())}


async def create_schedule(backend: Backend, call: Call, unit: Unit | None) -> Reply:
    _master(call)
    created = await objects.create(backend, call.caller, "_JobSchedule", _job_schedule(backend, call), unit=unit)
    return Reply(created, 201)


async def edit_schedule(backend: Backend, call: Call, unit: Unit | None, oid: str) -> Reply:
    _master(call)
    return Reply(
        await objects.update(backend, call.caller, "_JobSchedule", oid, _job_schedule(backend, call), unit=unit)
    )


async def delete_schedule(backend: Backend, call: Call, unit: Unit | None, oid: str) -> Reply:
    _master(call)
    return Reply(await objects.delete(backend, call.caller, "_JobSchedule", oid, unit=unit))
