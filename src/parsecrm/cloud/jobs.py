"""What a background job receives: `@cloud.job("name")` functions get a JobRequest (parse-server's job `request`).
The server side that starts and follows jobs is parsecrm/jobs.py.

from parsecrm.cloud import Cloud
from parsecrm.cloud.jobs import JobRequest

@cloud.job("nightlyCleanup")
async def cleanup(req: JobRequest) -> str:
    await req.message("started")
    ...
    return "removed 12 stale deals"
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from .requests import Request

MESSAGE_LIMIT = 10_000  # characters of a message or result kept in _JobStatus


@dataclass(kw_only=True)
class JobRequest(Request):
    """What a job receives (parse-server's job `request`): the master key's caller and data API (`req.query`,
    `req.save`, …), the job's name, its `_JobStatus` id and its decoded params."""

    job_name: str
    job_id: str
    params: dict[str, Any]
    trigger: str = "job"
    # sets _JobStatus.message (given by the runner, parsecrm/jobs.py)
    reporter: Callable[[str, str], Awaitable[None]] | None = None

    async def message(self, text: str) -> None:
        """Set the job's `message` in _JobStatus now (progress a dashboard can show)."""
        if self.reporter is not None:
            await self.reporter(self.job_id, text[:MESSAGE_LIMIT])
