"""Scheduled jobs: the `_JobSchedule` rows Parse Dashboard's "Schedule a job" form writes are run by every
`crm serve` process (parse-server stores them and leaves running them to an outside scheduler).

A row's fields, as the Dashboard (src/dashboard/Data/Jobs/JobEdit.react.js) and parse-server's CloudCodeRouter
write them:

- `jobName`: the `@cloud.job` to run; `params`: a JSON object *as a string* (`"{}"`), the job's params;
- `startAfter`: ISO date string. The first run is then ("Start immediately" writes the creation time; parse-server
  fills it in when absent, and so do we: a row made without it starts at its `createdAt`);
- `repeatMinutes`: absent or 0, the job runs once, at `startAfter`. Otherwise it also runs on the allowed days at
  `timeOfDay` and every `repeatMinutes` after it until midnight UTC ("every 15 minutes after 12:00 UTC"; `1440`
  is the form's "daily"; a day or more: once a day at `timeOfDay`). Only times at or after `startAfter` count;
- `timeOfDay`: `"HH:MM"`, `"HH:MM:SS"` or the form's `"HH:MM:SS.sssZ"`, UTC; absent: midnight;
- `daysOfWeek`: absent or null, every day. The form writes seven flags, `[1,1,1,1,1,1,1]`, Monday first (as the
  published parse-server schedulers read them); a list of day numbers 0-6 (0 Sunday, as JavaScript's
  `getUTCDay()` and cron) is read too. A seven-item list of only 0/1 is read as flags. It limits the repeats, not
  the start run;
- `lastRun`: milliseconds since the epoch of the last run started, written by the process that started it.

`due(schedule, now)` (pure) names the run a schedule owes at `now`: the latest scheduled time not after `now` that
is later than `lastRun`. Runs missed while no server was up are owed once, not once each. The loop (`start`) asks
it every `CRM_JOB_SCHEDULER_TICK` seconds for every row and claims each owed run with a conditional update of
`lastRun` (the version the process read, `objects.update(expected=…)`): of several processes and workers on one
database exactly one claim succeeds, with no leader and nothing to lose on a restart. The winner starts the job as
`POST /jobs/<name>` does (parsecrm/jobs.py: master caller, `_JobStatus` row, `source: "schedule"`). A run is
claimed before it starts: a process killed in between loses that run (at most once, never twice). A row naming a
job the Cloud Code lacks, or that cannot be read, is logged once per row and problem, and skipped.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson

from . import errors, jobs, objects
from .errors import ParseError
from .security.caller import MASTER
from .values import now_ms, parse_iso, parse_iso_or_none

log = logging.getLogger("parsecrm.jobschedule")

MINUTE_MS = 60_000
DAY_MS = 86_400_000
PAGE = 1000  # schedules read per query
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?(?:Z|[+-]00:?00)?")


class BadSchedule(ValueError):
    """A `_JobSchedule` row that cannot be read (the reason is the message)."""


@dataclass(frozen=True)
class Schedule:
    job_name: str
    params: dict[str, Any]  # Parse JSON, as a POST /jobs body
    start: int  # ms since the epoch: startAfter, else the row's createdAt
    repeat: int  # ms between runs within a day; 0: runs once, at `start`
    time_of_day: int  # ms after midnight UTC of the first repeat of a day
    days: frozenset[int] | None  # allowed days, Monday 0 … Sunday 6 (Python's weekday()); None: every day
    last_run: int | None  # ms since the epoch


def parse(row: dict[str, Any]) -> Schedule:
    """A `_JobSchedule` row (Parse JSON, as a find returns it) as a Schedule, or BadSchedule."""
    name = row.get("jobName")
    if not isinstance(name, str) or not name:
        raise BadSchedule("jobName is missing")
    return Schedule(
        job_name=name,
        params=_params(row.get("params")),
        start=_start(row.get("startAfter"), row.get("createdAt")),
        repeat=_repeat(row.get("repeatMinutes")),
        time_of_day=_time_of_day(row.get("timeOfDay")),
        days=_days(row.get("daysOfWeek")),
        last_run=_last_run(row.get("lastRun")),
    )


def _params(raw: Any) -> dict[str, Any]:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}
    if not isinstance(raw, str):
        raise BadSchedule("params must be a JSON object in a string")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadSchedule("params is not valid JSON") from exc
    if not isinstance(value, dict):
        raise BadSchedule("params must be a JSON object")
    return value


def _ms(text: str) -> int | None:
    found = parse_iso_or_none(text)
    return None if found is None else int(found.timestamp() * 1000)


def _start(start_after: Any, created_at: Any) -> int:
    if start_after is not None and start_after != "":
        found = _ms(start_after) if isinstance(start_after, str) else None
        if found is None:
            raise BadSchedule("startAfter is not an ISO date")
        return found
    found = _ms(created_at) if isinstance(created_at, str) else None
    if found is None:
        raise BadSchedule("the row has neither startAfter nor createdAt")
    return found


def _number(raw: Any) -> bool:
    return isinstance(raw, (int, float)) and not isinstance(raw, bool) and raw == raw and abs(raw) != float("inf")


def _repeat(raw: Any) -> int:
    if raw is None:
        return 0
    if not _number(raw) or raw < 0:
        raise BadSchedule("repeatMinutes must be a number of minutes, 0 or more")
    return round(raw * MINUTE_MS)


def _time_of_day(raw: Any) -> int:
    if raw is None or raw == "":
        return 0
    match = _TIME.fullmatch(raw.strip()) if isinstance(raw, str) else None
    if match is None:
        raise BadSchedule("timeOfDay must look like HH:MM:SS (UTC)")
    hours, minutes, seconds = int(match[1]), int(match[2]), int(match[3] or 0)
    if hours > 23 or minutes > 59 or seconds > 59:
        raise BadSchedule("timeOfDay is not a time of day")
    return ((hours * 60 + minutes) * 60 + seconds) * 1000


def _days(raw: Any) -> frozenset[int] | None:
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise BadSchedule("daysOfWeek must be a list")
    if len(raw) == 7 and all(isinstance(v, int) and v in (0, 1) for v in raw):  # flags, Monday first
        return frozenset(i for i, flag in enumerate(raw) if flag)
    if not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 6 for v in raw):
        raise BadSchedule("daysOfWeek must be seven 0/1 flags (Monday first) or day numbers 0-6 (0 Sunday)")
    return frozenset((v - 1) % 7 for v in raw)  # Sunday 0 → 6, Monday 1 → 0


def _last_run(raw: Any) -> int | None:
    if raw is None:
        return None
    if not _number(raw):
        raise BadSchedule("lastRun must be a number (ms since the epoch)")
    return int(raw)


def latest(schedule: Schedule, now: int) -> int | None:
    """The latest time (ms) not after `now` at which the schedule runs, or None when its first is still to come."""
    if now < schedule.start:
        return None
    if not schedule.repeat:
        return schedule.start
    repeat = _latest_repeat(schedule, now)
    return repeat if repeat is not None and repeat > schedule.start else schedule.start


def _latest_repeat(schedule: Schedule, now: int) -> int | None:
    today = now - now % DAY_MS
    for back in range(8):  # today, then up to a week back for an allowed day
        day = today - back * DAY_MS
        if schedule.days is not None and weekday(day) not in schedule.days:
            continue
        first = day + schedule.time_of_day
        last = min(now, day + DAY_MS - 1)
        if first > last:  # today's first run is still to come
            continue
        return first + (last - first) // schedule.repeat * schedule.repeat
    return None


def weekday(ms: int) -> int:
    """Monday 0 … Sunday 6 of the UTC day `ms` falls in (1 January 1970 was a Thursday)."""
    return (ms // DAY_MS + 3) % 7


def due(schedule: Schedule, now: int) -> int | None:
    """The scheduled time (ms) of the run the schedule owes at `now`, or None: the latest one not after `now`,
    if it is later than `lastRun` (so runs missed while nothing ran are owed once)."""
    found = latest(schedule, now)
    if found is None or (schedule.last_run is not None and found <= schedule.last_run):
        return None
    return found


# -- the loop, in every server process ------------------------------------------------------------------------------


class Scheduler:
    """Runs due schedules every `tick` seconds; `warned` keeps each row's logged problem, so it is logged once."""

    def __init__(self, backend: Any, tick: float) -> None:
        self.backend = backend
        self.tick = tick
        self.warned: dict[str, str] = {}  # objectId -> the problem last logged for it

    async def run(self) -> None:
        failing = False
        while True:
            try:
                await self.once()
                failing = False
            except Exception as exc:  # the database is away, …: try again next tick (the traceback once a spell)
                log.warning("the job scheduler's tick failed: %s", exc, exc_info=not failing)
                failing = True
            await asyncio.sleep(self.tick)

    async def once(self) -> int:
        """One tick: start every run owed now that this process claims; returns how many it started."""
        now = int(now_ms().timestamp() * 1000)
        started = 0
        seen: set[str] = set()
        async for row in self._rows():
            seen.add(row["objectId"])
            try:
                started += await self._consider(row, now)
            except ParseError as exc:  # e.g. a beforeSave hook of _JobSchedule refusing the claim
                self._warn(row["objectId"], f"_JobSchedule {row['objectId']} could not be run: {exc.message}")
        self.warned = {k: v for k, v in self.warned.items() if k in seen}
        return started

    async def _rows(self) -> AsyncIterator[dict[str, Any]]:
        after = ""
        while True:
            where = {"objectId": {"$gt": after}} if after else {}
            rows = await objects.query_json(
                self.backend, MASTER, "_JobSchedule", {"where": where, "order": "objectId", "limit": PAGE}
            )
            for row in rows:
                yield row
            if len(rows) < PAGE:
                return
            after = rows[-1]["objectId"]

    async def _consider(self, row: dict[str, Any], now: int) -> bool:
        object_id: str = row["objectId"]
        version = parse_iso(row["updatedAt"])
        if int(version.timestamp() * 1000) >= now:
            # changed this very millisecond (by our clock): a claim now might not change updatedAt, and another
            # process's claim based on the same version would pass too. Next tick.
            return False
        try:
            schedule = parse(row)
        except BadSchedule as exc:
            self._warn(object_id, f"_JobSchedule {object_id} is skipped: {exc}")
            return False
        if schedule.job_name not in self.backend.cloud.jobs:
            self._warn(object_id, f"_JobSchedule {object_id} names the job {schedule.job_name!r}, which is not defined")
            return False
        self.warned.pop(object_id, None)  # readable now: a problem it has again is logged again
        if due(schedule, now) is None:
            return False
        try:  # the claim: only if the row is still the version read, so one process of many wins
            await objects.update(self.backend, MASTER, "_JobSchedule", object_id, {"lastRun": now}, expected=version)
        except ParseError as exc:
            if exc.code in (errors.VERSION_CONFLICT, errors.OBJECT_NOT_FOUND):
                return False  # another process claimed it, or the row was edited or deleted meanwhile
            raise
        job_id = await jobs.start(self.backend, MASTER, schedule.job_name, schedule.params, source="schedule")
        log.info("scheduled job %s started (_JobSchedule %s, _JobStatus %s)", schedule.job_name, object_id, job_id)
        return True

    def _warn(self, object_id: str, message: str) -> None:
        if self.warned.get(object_id) != message:
            self.warned[object_id] = message
            log.warning("%s", message)


def start(backend: Any) -> asyncio.Task[None] | None:
    """Start this process's scheduler (when CRM_JOB_SCHEDULER is on); cancel the task before `jobs.stop()`."""
    settings = backend.settings
    if not settings.job_scheduler:
        return None
    return asyncio.create_task(Scheduler(backend, settings.job_scheduler_tick).run())
