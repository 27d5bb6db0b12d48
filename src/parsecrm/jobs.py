"""Background jobs, the runner (a job's request type is in parsecrm/cloud/jobs.py): `@cloud.job("name")` functions,
started with the master key by `POST /jobs/<name>` and followed in `_JobStatus` (parse-server's StatusHandler):
`running` when started, `succeeded` with the job's return value as `message`, or `failed` with its error as
`message`; `req.message(text)` sets `message` meanwhile.

from parsecrm.cloud import Cloud
from parsecrm.cloud.jobs import JobRequest

@cloud.job("nightlyCleanup")
async def cleanup(req: JobRequest) -> str:
    await req.message("started")
    ...
    return "removed 12 stale deals"

Invariant: a started job always ends with `succeeded` or `failed` in `_JobStatus`: a job still running when its
server process shuts down is cancelled and recorded as failed (it is not resumed). Only a process that dies without
shutting down (killed, crashed) leaves its jobs `running`. Jobs run with the master key.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from . import errors, objects
from .cloud.jobs import MESSAGE_LIMIT, JobRequest
from .cloud.registry import call
from .errors import ParseError
from .security.caller import MASTER, Caller
from .values import decode, iso, now_ms

log = logging.getLogger("parsecrm.jobs")

# parse-server's _JobStatus columns (SchemaController.defaultColumns), plus startedAt as its StatusHandler sets it.
JOB_STATUS_FIELDS: dict[str, dict[str, Any]] = {
    "jobName": {"type": "String"},
    "source": {"type": "String"},
    "status": {"type": "String"},
    "message": {"type": "String"},
    "params": {"type": "Object"},
    "startedAt": {"type": "Date"},
    "finishedAt": {"type": "Date"},
}
JOB_SCHEDULE_FIELDS: dict[str, dict[str, Any]] = {
    "jobName": {"type": "String"},
    "description": {"type": "String"},
    "params": {"type": "String"},
    "startAfter": {"type": "String"},
    "daysOfWeek": {"type": "Array"},
    "timeOfDay": {"type": "String"},
    "lastRun": {"type": "Number"},
    "repeatMinutes": {"type": "Number"},
}
MASTER_ONLY_CLP: dict[str, Any] = {
    op: {} for op in ("find", "count", "get", "create", "update", "delete", "addField")
} | {"protectedFields": {}}
STOPPED = "The server stopped before the job finished."
RUNNING: dict[str, asyncio.Task[None]] = {}  # job id -> its task, in this process


async def prepare(backend: Any) -> None:
    """At start-up: the master-only `_JobStatus` and `_JobSchedule` classes (an operator's CLP is kept)."""
    for name, fields in (("_JobStatus", JOB_STATUS_FIELDS), ("_JobSchedule", JOB_SCHEDULE_FIELDS)):
        current = await backend.schemas.get(name)
        missing = {k: v for k, v in fields.items() if current is None or k not in current.fields}
        if current is None or missing:
            clp = current.clp if current is not None and current.clp is not None else MASTER_ONLY_CLP
            await backend.schemas.ensure_class(name, missing, clp)
    backend.schemas.invalidate()


async def start(backend: Any, caller: Caller, name: str, params: dict[str, Any], source: str = "api") -> str:
    """Record the job as running and start it in the background; returns its _JobStatus objectId.
    `params` is Parse JSON (kept as sent in _JobStatus.params); the job gets it decoded. `source` is `api`
    (POST /jobs) or `schedule` (a `_JobSchedule` run, parsecrm/jobschedule.py)."""
    if caller.read_only or not caller.master:
        raise ParseError(errors.OPERATION_FORBIDDEN, "read-only masterKey isn't allowed to run a job.")
    fn = backend.cloud.jobs.get(name)
    if fn is None:
        raise ParseError(errors.SCRIPT_FAILED, "Invalid job.")
    status = {
        "jobName": name,
        "source": source,
        "status": "running",
        "params": params,
        "startedAt": {"__type": "Date", "iso": iso(now_ms())},
        "ACL": {},
    }
    created = await objects.create(backend, MASTER, "_JobStatus", status)
    decoded = {k: decode(v) for k, v in params.items()}
    req = JobRequest(
        caller=caller,
        data=objects.CloudData(backend, caller, None),
        backend=backend,
        job_name=name,
        job_id=created["objectId"],
        params=decoded,
        reporter=_report(backend),
    )
    task = RUNNING[req.job_id] = asyncio.create_task(_run(backend, fn, req))  # held, so it is not collected
    task.add_done_callback(lambda _t: RUNNING.pop(req.job_id, None))
    return req.job_id


async def stop() -> None:
    """At shutdown, before the pool closes: cancel the jobs still running here; each records itself as failed."""
    tasks = list(RUNNING.values())
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def _run(backend: Any, fn: Any, req: JobRequest) -> None:
    try:
        result = await call(fn, req)  # logs a job's own exception with its traceback, as a hook's
    except asyncio.CancelledError:  # the process is shutting down (stop)
        await _finish(backend, req.job_id, "failed", STOPPED)
    except ParseError as exc:
        await _finish(backend, req.job_id, "failed", exc.message)
    except Exception as exc:  # the status write itself failed: nothing more can be recorded
        log.exception("job %s (%s) failed", req.job_name, req.job_id)
        await _finish(backend, req.job_id, "failed", str(exc) or type(exc).__name__)
    else:
        await _finish(backend, req.job_id, "succeeded", None if result is None else _text(result))


def _report(backend: Any) -> Callable[[str, str], Awaitable[None]]:
    async def report(job_id: str, text: str) -> None:
        await _set(backend, job_id, {"message": text})

    return report


async def _finish(backend: Any, job_id: str, status: str, message: str | None) -> None:
    fields: dict[str, Any] = {"status": status, "finishedAt": {"__type": "Date", "iso": iso(now_ms())}}
    if message is not None:
        fields["message"] = message
    try:
        await _set(backend, job_id, fields)
    except Exception:
        log.exception("could not record the end of job %s", job_id)


async def _set(backend: Any, job_id: str, fields: dict[str, Any]) -> None:
    await objects.update(backend, MASTER, "_JobStatus", job_id, fields)


def _text(value: Any) -> str:
    text = value if isinstance(value, str) else orjson.dumps(value, default=str).decode()
    return text[:MESSAGE_LIMIT]


async def schedules(backend: Any, caller: Caller) -> list[dict[str, Any]]:
    """The `_JobSchedule` rows (parsecrm/jobschedule.py runs them)."""
    return await objects.query_json(backend, caller, "_JobSchedule", {"limit": 1000})
