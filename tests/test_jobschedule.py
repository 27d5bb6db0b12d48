"""Scheduled jobs (parsecrm/jobschedule.py): the calendar of a `_JobSchedule` row as a pure function of the time
(no waiting on the clock), then real servers running rows made through REST — once, by one of several processes,
and a missed run once at start-up."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from conftest import Api, Server, unique
from parsecrm.jobschedule import DAY_MS, MINUTE_MS, BadSchedule, Schedule, due, latest, parse, weekday

HOOKS = Path(__file__).resolve().parent / "fixtures" / "schedule_hooks.py"
CREATED = "2026-03-02T08:00:00.000Z"  # a Monday


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def row(**fields: Any) -> dict[str, Any]:
    base = {"objectId": "s1", "jobName": "stamp", "createdAt": CREATED, "updatedAt": CREATED}
    return base | fields


def form(start: str, time_of_day: str, repeat: int, **more: Any) -> Schedule:
    """A row as Parse Dashboard's form writes it (JobEdit.react.js): params as a string, seven day flags."""
    fields = {"params": "{}", "daysOfWeek": [1] * 7, "startAfter": start, "timeOfDay": time_of_day}
    return parse(row(**(fields | {"repeatMinutes": repeat} | more)))


def at(text: str) -> int:
    return ms(text)


# -- parsing ---------------------------------------------------------------------------------------------------------


def test_a_dashboard_row_is_read() -> None:
    s = parse(
        row(
            params='{"days": 30, "when": {"__type": "Date", "iso": "2026-01-01T00:00:00.000Z"}}',
            daysOfWeek=[1, 1, 1, 1, 1, 1, 1],
            startAfter="2026-03-02T10:15:00.000Z",
            timeOfDay="02:30:00.000Z",
            repeatMinutes=1440,
            lastRun=1_700_000_000_000,
        )
    )
    assert s.job_name == "stamp"
    assert s.params == {"days": 30, "when": {"__type": "Date", "iso": "2026-01-01T00:00:00.000Z"}}  # Parse JSON
    assert s.start == ms("2026-03-02T10:15:00Z")
    assert (s.repeat, s.time_of_day) == (1440 * MINUTE_MS, (2 * 60 + 30) * MINUTE_MS)
    assert s.days == frozenset(range(7)) and s.last_run == 1_700_000_000_000


def test_defaults_of_a_bare_row() -> None:
    s = parse(row())
    assert s.params == {} and s.start == ms(CREATED)  # no startAfter: from its creation, as parse-server fills in
    assert (s.repeat, s.time_of_day, s.days, s.last_run) == (0, 0, None, None)
    assert parse(row(params="", startAfter="", timeOfDay="", repeatMinutes=0)).params == {}


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("09:05", 9 * 3600 + 300),
        ("9:05", 9 * 3600 + 300),
        ("09:05:30", 9 * 3600 + 330),
        ("09:05:30.000Z", 9 * 3600 + 330),
        ("23:59:59Z", 86399),
        ("00:00:00+00:00", 0),
    ],
)
def test_time_of_day_forms(text: str, seconds: int) -> None:
    assert parse(row(timeOfDay=text, repeatMinutes=60)).time_of_day == seconds * 1000


def test_day_flags_and_day_numbers() -> None:
    # the form's seven flags, Monday first
    assert parse(row(daysOfWeek=[1, 1, 1, 1, 1, 0, 0])).days == frozenset({0, 1, 2, 3, 4})
    assert parse(row(daysOfWeek=[0, 0, 0, 0, 0, 0, 1])).days == frozenset({6})  # Sunday
    assert parse(row(daysOfWeek=[True, False, False, False, False, False, False])).days == frozenset({0})
    assert parse(row(daysOfWeek=[0] * 7)).days == frozenset()
    # day numbers, 0 Sunday (getUTCDay, cron)
    assert parse(row(daysOfWeek=[0])).days == frozenset({6})
    assert parse(row(daysOfWeek=[1, 3, 6])).days == frozenset({0, 2, 5})
    assert parse(row(daysOfWeek=[])).days == frozenset()
    assert parse(row(daysOfWeek=None)).days is None


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"jobName": ""}, "jobName"),
        ({"jobName": None}, "jobName"),
        ({"params": "{not json"}, "params"),
        ({"params": "[1, 2]"}, "params"),
        ({"params": {"a": 1}}, "params"),
        ({"startAfter": "next tuesday"}, "startAfter"),
        ({"startAfter": 1_700_000_000_000}, "startAfter"),
        ({"repeatMinutes": -5}, "repeatMinutes"),
        ({"repeatMinutes": "15"}, "repeatMinutes"),
        ({"repeatMinutes": True}, "repeatMinutes"),
        ({"repeatMinutes": float("nan")}, "repeatMinutes"),
        ({"timeOfDay": "25:00:00"}, "timeOfDay"),
        ({"timeOfDay": "12:60"}, "timeOfDay"),
        ({"timeOfDay": "noon"}, "timeOfDay"),
        ({"timeOfDay": "12:00:00+02:00"}, "timeOfDay"),
        ({"timeOfDay": 930}, "timeOfDay"),
        ({"daysOfWeek": [7]}, "daysOfWeek"),
        ({"daysOfWeek": [-1]}, "daysOfWeek"),
        ({"daysOfWeek": [1.5]}, "daysOfWeek"),
        ({"daysOfWeek": "1111111"}, "daysOfWeek"),
        ({"daysOfWeek": [1, 1, 1, 1, 1, 1, 7]}, "daysOfWeek"),
        ({"lastRun": "yesterday"}, "lastRun"),
        ({"createdAt": None}, "createdAt"),
    ],
)
def test_unreadable_rows(fields: dict[str, Any], problem: str) -> None:
    with pytest.raises(BadSchedule, match=problem):
        parse(row(**fields))


def test_weekday() -> None:
    assert weekday(0) == 3  # 1 January 1970, a Thursday
    assert weekday(ms("2026-03-02T00:00:00Z")) == 0  # Monday
    assert weekday(ms("2026-03-08T23:59:59.999Z")) == 6  # Sunday, its last millisecond
    assert weekday(ms("2026-03-09T00:00:00Z")) == 0


# -- one run ---------------------------------------------------------------------------------------------------------


def test_a_run_once_schedule() -> None:
    s = parse(row(startAfter="2026-03-05T14:00:00.000Z"))
    assert due(s, at("2026-03-05T13:59:59.999Z")) is None  # startAfter in the future
    assert due(s, at("2026-03-05T14:00:00Z")) == at("2026-03-05T14:00:00Z")
    assert due(s, at("2026-04-01T00:00:00Z")) == at("2026-03-05T14:00:00Z")  # long missed: owed, once
    ran = parse(row(startAfter="2026-03-05T14:00:00.000Z", lastRun=at("2026-03-05T14:00:04Z")))
    assert due(ran, at("2026-03-05T14:00:05Z")) is None and due(ran, at("2027-01-01T00:00:00Z")) is None
    # moving startAfter past its last run arms it again
    moved = parse(row(startAfter="2026-03-06T09:00:00.000Z", lastRun=at("2026-03-05T14:00:04Z")))
    assert due(moved, at("2026-03-06T09:00:00Z")) == at("2026-03-06T09:00:00Z")


def test_without_start_after_it_runs_from_its_creation() -> None:
    s = parse(row())
    assert due(s, ms(CREATED) - 1) is None
    assert due(s, ms(CREATED)) == ms(CREATED)
    assert due(parse(row(lastRun=ms(CREATED) + 200)), ms(CREATED) + 60_000) is None


def test_days_do_not_limit_a_run_once_schedule() -> None:
    s = parse(row(startAfter="2026-03-07T10:00:00Z", daysOfWeek=[1, 1, 1, 1, 1, 0, 0]))  # a Saturday
    assert due(s, at("2026-03-07T10:00:01Z")) == at("2026-03-07T10:00:00Z")


# -- daily -----------------------------------------------------------------------------------------------------------


def test_daily_runs_at_start_then_at_its_time() -> None:
    s = form("2026-03-02T10:17:00.000Z", "12:00:00.000Z", 1440)
    assert due(s, at("2026-03-02T10:16:59Z")) is None
    assert due(s, at("2026-03-02T10:17:00Z")) == at("2026-03-02T10:17:00Z")  # "will run immediately"
    after_first = form("2026-03-02T10:17:00.000Z", "12:00:00.000Z", 1440, lastRun=at("2026-03-02T10:17:01Z"))
    assert due(after_first, at("2026-03-02T11:59:59Z")) is None
    assert due(after_first, at("2026-03-02T12:00:00Z")) == at("2026-03-02T12:00:00Z")
    assert due(after_first, at("2026-03-02T23:00:00Z")) == at("2026-03-02T12:00:00Z")
    after_noon = form("2026-03-02T10:17:00.000Z", "12:00:00.000Z", 1440, lastRun=at("2026-03-02T12:00:03Z"))
    assert due(after_noon, at("2026-03-03T11:59:59Z")) is None
    assert due(after_noon, at("2026-03-03T12:00:00Z")) == at("2026-03-03T12:00:00Z")


def test_a_start_after_the_days_time_waits_for_the_next_day() -> None:
    s = form("2026-03-02T13:00:00.000Z", "12:00:00.000Z", 1440, lastRun=at("2026-03-02T13:00:01Z"))
    assert due(s, at("2026-03-02T23:59:59Z")) is None  # 12:00 that day was before startAfter
    assert due(s, at("2026-03-03T12:00:00Z")) == at("2026-03-03T12:00:00Z")


def test_missed_days_are_owed_once() -> None:
    s = form("2026-03-02T00:00:00.000Z", "02:00:00.000Z", 1440, lastRun=at("2026-03-02T02:00:00Z"))
    now = at("2026-03-09T15:00:00Z")  # a week down
    assert due(s, now) == at("2026-03-09T02:00:00Z")  # only the latest
    claimed = form("2026-03-02T00:00:00.000Z", "02:00:00.000Z", 1440, lastRun=now)
    assert due(claimed, now + 30_000) is None
    assert due(claimed, at("2026-03-10T02:00:00Z")) == at("2026-03-10T02:00:00Z")


def test_more_than_a_day_repeats_daily() -> None:
    s = form("2026-03-02T00:00:00.000Z", "06:00:00Z", 2880, lastRun=at("2026-03-02T06:00:00Z"))
    assert due(s, at("2026-03-03T06:00:00Z")) == at("2026-03-03T06:00:00Z")


# -- on an interval, within each day ---------------------------------------------------------------------------------


def test_every_fifteen_minutes_after_half_past_nine() -> None:
    s = form("2026-03-02T00:00:00.000Z", "09:30:00.000Z", 15, lastRun=at("2026-03-02T00:00:01Z"))
    assert due(s, at("2026-03-02T09:29:59Z")) is None
    assert due(s, at("2026-03-02T09:30:00Z")) == at("2026-03-02T09:30:00Z")
    assert due(s, at("2026-03-02T09:44:59.999Z")) == at("2026-03-02T09:30:00Z")
    assert due(s, at("2026-03-02T09:45:00Z")) == at("2026-03-02T09:45:00Z")
    assert due(s, at("2026-03-02T23:59:59Z")) == at("2026-03-02T23:45:00Z")
    late = form("2026-03-02T00:00:00.000Z", "09:30:00.000Z", 15, lastRun=at("2026-03-02T23:45:02Z"))
    assert due(late, at("2026-03-03T09:29:59Z")) is None  # nothing between midnight and 09:30
    assert due(late, at("2026-03-03T09:30:00Z")) == at("2026-03-03T09:30:00Z")
    ran = form("2026-03-02T00:00:00.000Z", "09:30:00.000Z", 15, lastRun=at("2026-03-02T09:30:00.400Z"))
    assert due(ran, at("2026-03-02T09:44:00Z")) is None


def test_an_interval_restarts_each_day_at_its_time() -> None:
    # 7 minutes from 00:00: the last run of a day is 23:55, the next day starts again at 00:00, not 00:02
    s = form("2026-03-02T00:00:00.000Z", "00:00:00.000Z", 7, lastRun=at("2026-03-02T23:55:01Z"))
    assert due(s, at("2026-03-02T23:59:59Z")) is None
    assert due(s, at("2026-03-03T00:00:00Z")) == at("2026-03-03T00:00:00Z")
    assert due(s, at("2026-03-03T00:06:59Z")) == at("2026-03-03T00:00:00Z")
    # 90 minutes after 22:00: 22:00 and 23:30, then 22:00 the next day
    t = form("2026-03-02T00:00:00.000Z", "22:00:00.000Z", 90, lastRun=at("2026-03-02T23:30:01Z"))
    assert due(t, at("2026-03-03T01:00:00Z")) is None
    assert latest(t, at("2026-03-03T01:00:00Z")) == at("2026-03-02T23:30:00Z")
    assert due(t, at("2026-03-03T22:00:00Z")) == at("2026-03-03T22:00:00Z")


def test_start_after_in_the_middle_of_an_interval() -> None:
    s = form("2026-03-02T10:30:00.000Z", "00:00:00Z", 60)
    assert due(s, at("2026-03-02T10:29:00Z")) is None  # 10:00 is before startAfter
    assert due(s, at("2026-03-02T10:45:00Z")) == at("2026-03-02T10:30:00Z")
    assert due(s, at("2026-03-02T11:00:00Z")) == at("2026-03-02T11:00:00Z")


def test_interval_missed_for_days_is_owed_once() -> None:
    s = form("2026-03-01T00:00:00.000Z", "00:00:00Z", 60, lastRun=at("2026-03-02T05:00:00Z"))
    assert due(s, at("2026-03-05T17:20:00Z")) == at("2026-03-05T17:00:00Z")


# -- days of the week ------------------------------------------------------------------------------------------------


def test_weekdays_only() -> None:
    flags = [1, 1, 1, 1, 1, 0, 0]
    s = form("2026-03-02T00:00:00.000Z", "08:00:00Z", 1440, daysOfWeek=flags, lastRun=at("2026-03-06T08:00:01Z"))
    assert due(s, at("2026-03-07T09:00:00Z")) is None  # Saturday
    assert latest(s, at("2026-03-08T23:00:00Z")) == at("2026-03-06T08:00:00Z")  # Sunday: still Friday's
    assert due(s, at("2026-03-09T07:59:59Z")) is None
    assert due(s, at("2026-03-09T08:00:00Z")) == at("2026-03-09T08:00:00Z")  # Monday


def test_day_numbers_sunday_is_zero() -> None:
    s = form("2026-03-02T00:00:00.000Z", "18:00:00Z", 1440, daysOfWeek=[0], lastRun=at("2026-03-02T00:00:01Z"))
    for day in ("2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05", "2026-03-06", "2026-03-07"):
        assert due(s, at(f"{day}T23:00:00Z")) is None, day
    assert due(s, at("2026-03-08T18:00:00Z")) == at("2026-03-08T18:00:00Z")  # Sunday
    # a week and more later, the latest Sunday
    assert due(s, at("2026-03-20T12:00:00Z")) == at("2026-03-15T18:00:00Z")


def test_an_interval_on_some_days() -> None:
    s = form("2026-03-02T00:00:00.000Z", "09:00:00Z", 120, daysOfWeek=[1, 3], lastRun=at("2026-03-02T00:00:01Z"))
    assert due(s, at("2026-03-02T12:30:00Z")) == at("2026-03-02T11:00:00Z")  # Monday
    ran = form("2026-03-02T00:00:00.000Z", "09:00:00Z", 120, daysOfWeek=[1, 3], lastRun=at("2026-03-02T23:00:01Z"))
    assert due(ran, at("2026-03-03T23:00:00Z")) is None  # Tuesday
    assert due(ran, at("2026-03-04T08:59:59Z")) is None
    assert due(ran, at("2026-03-04T09:00:00Z")) == at("2026-03-04T09:00:00Z")  # Wednesday


def test_no_day_allowed_leaves_the_start_run() -> None:
    for days in ([0] * 7, []):
        s = form("2026-03-02T10:00:00.000Z", "11:00:00Z", 1440, daysOfWeek=days)
        assert due(s, at("2026-03-02T10:00:00Z")) == at("2026-03-02T10:00:00Z")
        ran = form("2026-03-02T10:00:00.000Z", "11:00:00Z", 1440, daysOfWeek=days, lastRun=at("2026-03-02T10:00:01Z"))
        assert due(ran, at("2026-03-20T12:00:00Z")) is None


# -- against an enumeration of every run -----------------------------------------------------------------------------


def enumerated(s: Schedule, first_day: int, days: int) -> list[int]:
    """Every run in `days` days from `first_day` (midnight), listed one by one."""
    runs = {s.start}
    if not s.repeat:
        return [s.start]
    for d in range(days):
        day = first_day + d * DAY_MS
        if s.days is not None and weekday(day) not in s.days:
            continue
        t = day + s.time_of_day
        while t < day + DAY_MS:
            if t >= s.start:
                runs.add(t)
            t += s.repeat
    return sorted(runs)


@pytest.mark.parametrize(
    ("time_of_day", "repeat", "days"),
    [
        ("00:00:00Z", 60, None),
        ("09:30:00Z", 15, [1, 1, 1, 1, 1, 0, 0]),
        ("22:10:00Z", 45, [0, 6]),
        ("05:05:05Z", 7, [2]),
        ("12:00:00Z", 1440, [1, 0, 1, 0, 1, 0, 1]),
        ("23:59:00Z", 1, None),
        ("03:00:00Z", 1000, None),
    ],
)
def test_latest_matches_the_enumeration(time_of_day: str, repeat: int, days: list[int] | None) -> None:
    s = parse(row(startAfter="2026-03-03T07:12:00Z", timeOfDay=time_of_day, repeatMinutes=repeat, daysOfWeek=days))
    first_day = ms("2026-03-01T00:00:00Z")
    runs = enumerated(s, first_day, 14)
    for step in range(0, 12 * DAY_MS, 7 * MINUTE_MS + 13_001):  # instants across twelve days
        now = first_day + step
        before = [r for r in runs if r <= now]
        assert latest(s, now) == (before[-1] if before else None), datetime.fromtimestamp(now / 1000, UTC)
        if before:
            # the run just before the latest was claimed: the latest is owed; once claimed, nothing is
            earlier = before[-2] if len(before) > 1 else before[-1] - 1
            assert due(Schedule(**{**s.__dict__, "last_run": earlier}), now) == before[-1]
            assert due(Schedule(**{**s.__dict__, "last_run": now}), now) is None


# -- real servers ----------------------------------------------------------------------------------------------------

TICK = "0.2"


def iso_ms(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def find(api: Api, class_name: str, where: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    r = api.get(f"classes/{class_name}", params={"where": orjson.dumps(where or {}).decode(), "limit": 1000})
    if r.status_code == 400 and r.json().get("code") == 119:
        raise AssertionError(r.text)
    return list(r.json().get("results", []))


def wait_for(check: Callable[[], bool], what: str) -> None:
    """Until `check` holds (a state, not a time: the bound only stops a broken run)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


def schedule(api: Api, **fields: Any) -> str:
    r = api.post("classes/_JobSchedule", {"jobName": "stamp", "params": "{}", **fields})
    assert r.status_code == 201, r.text
    return str(r.json()["objectId"])


def succeeded(api: Api) -> list[dict[str, Any]]:
    return find(api, "_JobStatus", {"jobName": "stamp", "status": "succeeded"})


def test_a_due_schedule_runs_once_with_several_processes(make_server: Callable[..., Server]) -> None:
    env = {"PARSE_CLOUD": str(HOOKS), "CRM_JOB_SCHEDULER_TICK": TICK, "PARSE_MASTER_KEY": "sched-master"}
    one = make_server(env, workers=2)
    two = make_server(env, database_url=one.database_url)
    a, b = Api(one), Api(two)
    keys = [unique("due") for _ in range(12)]
    made = time.monotonic()
    ids = [schedule(a if i % 2 else b, params=orjson.dumps({"key": k}).decode()) for i, k in enumerate(keys)]
    wait_for(lambda: len(succeeded(a)) >= len(keys), "every schedule ran")
    print(f"12 schedules made and run in {time.monotonic() - made:.2f}s (tick {TICK}s)")
    time.sleep(3)  # 15 more ticks of each of the three schedulers: none may run a schedule again
    statuses = succeeded(a)
    assert sorted(s["params"]["key"] for s in statuses) == sorted(keys)  # each once
    assert all(s["source"] == "schedule" and s["message"] == f"stamped {s['params']['key']}" for s in statuses)
    assert len(find(a, "_JobStatus")) == len(keys)  # none still running, none failed
    runs = find(b, "ScheduledRun")
    assert sorted(r["key"] for r in runs) == sorted(keys)
    for object_id in ids:
        assert isinstance(a.get(f"classes/_JobSchedule/{object_id}").json()["lastRun"], int)
    print(f"runs per process: { {pid: [r['pid'] for r in runs].count(pid) for pid in {r['pid'] for r in runs}} }")


def test_runs_missed_while_down_run_once_at_start_up(make_server: Callable[..., Server]) -> None:
    env = {"PARSE_CLOUD": str(HOOKS), "CRM_JOB_SCHEDULER_TICK": TICK}
    off = make_server({**env, "CRM_JOB_SCHEDULER": "false"})
    api = Api(off)
    now = datetime.now(UTC)
    time_of_day = (now - timedelta(minutes=1)).strftime("%H:%M:%S")  # its next run is a day away
    key = unique("missed")
    object_id = schedule(
        api,
        params=orjson.dumps({"key": key}).decode(),
        startAfter=iso_ms(now - timedelta(days=10)),
        timeOfDay=time_of_day + ".000Z",
        repeatMinutes=1440,
        daysOfWeek=[1] * 7,
        lastRun=int((now - timedelta(days=7)).timestamp() * 1000),  # a week of missed days
    )
    time.sleep(1)  # five ticks' time: with CRM_JOB_SCHEDULER=false nothing runs it
    assert find(api, "_JobStatus") == []
    off.stop()
    on = Api(make_server(env, database_url=off.database_url))
    wait_for(lambda: len(succeeded(on)) >= 1, "the missed run ran")
    time.sleep(2)
    [status] = find(on, "_JobStatus")
    assert (status["status"], status["params"], status["source"]) == ("succeeded", {"key": key}, "schedule")
    assert [r["key"] for r in find(on, "ScheduledRun")] == [key]
    last_run = on.get(f"classes/_JobSchedule/{object_id}").json()["lastRun"]
    assert last_run >= int(now.timestamp() * 1000)


def test_unknown_jobs_bad_rows_and_future_starts(make_server: Callable[..., Server]) -> None:
    server = make_server({"PARSE_CLOUD": str(HOOKS), "CRM_JOB_SCHEDULER_TICK": TICK})
    api = Api(server)
    unknown = schedule(api, jobName="noSuchJob")
    bad = schedule(api, timeOfDay="25:00", repeatMinutes=5)
    future = unique("future")
    schedule(
        api, params=orjson.dumps({"key": future}).decode(), startAfter=iso_ms(datetime.now(UTC) + timedelta(hours=1))
    )
    first = unique("first")
    schedule(api, params=orjson.dumps({"key": first}).decode())
    wait_for(lambda: len(succeeded(api)) == 1, "the due schedule ran")
    time.sleep(2)  # ten ticks more
    second = unique("second")
    schedule(api, params=orjson.dumps({"key": second}).decode())  # the loop still runs
    wait_for(lambda: len(succeeded(api)) == 2, "the second schedule ran")
    assert sorted(r["key"] for r in find(api, "ScheduledRun")) == sorted([first, second])  # not the future one
    log = server.log_path.read_text()
    assert log.count(f"_JobSchedule {unknown} names the job 'noSuchJob', which is not defined") == 1
    assert log.count(f"_JobSchedule {bad} is skipped: timeOfDay is not a time of day") == 1
    assert "Traceback" not in log
    assert "lastRun" not in api.get(f"classes/_JobSchedule/{unknown}").json()  # not claimed: not run


def test_the_dashboards_schedule_routes(make_server: Callable[..., Server]) -> None:
    """`POST cloud_code/jobs` with the body Parse Dashboard's form sends (JobEdit.react.js), `PUT` and `DELETE
    cloud_code/jobs/<id>` (parse-server's CloudCodeRouter); the row made is run."""
    server = make_server(
        {"PARSE_CLOUD": str(HOOKS), "CRM_JOB_SCHEDULER_TICK": TICK, "PARSE_READ_ONLY_MASTER_KEY": "ro-key"}
    )
    api = Api(server)
    key = unique("form")
    form_body = {
        "job_schedule": {
            "params": orjson.dumps({"key": key}).decode(),
            "daysOfWeek": [1, 1, 1, 1, 1, 1, 1],
            "description": "from the form",
            "jobName": "stamp",
            "timeOfDay": (datetime.now(UTC) - timedelta(minutes=1)).strftime("%H:%M:00.000Z"),  # a day away
            "repeatMinutes": 1440,
        }
    }
    r = api.post("cloud_code/jobs", form_body)
    assert r.status_code == 201, r.text
    object_id = r.json()["objectId"]
    [made] = api.get("cloud_code/jobs").json()
    assert made["objectId"] == object_id and made["description"] == "from the form"
    assert abs(ms(made["startAfter"]) - time.time() * 1000) < 60_000  # "Start immediately": startAfter is now
    assert api.get("cloud_code/jobs/data").json() == {"in_use": ["stamp"], "jobs": ["stamp"]}
    wait_for(lambda: [r["key"] for r in find(api, "ScheduledRun")] == [key], "the form's schedule ran at once")

    edited = {"job_schedule": {"description": "renamed", "startAfter": made["startAfter"]}}
    r = api.put(f"cloud_code/jobs/{object_id}", edited)
    assert r.status_code == 200 and "updatedAt" in r.json(), r.text
    assert api.get(f"classes/_JobSchedule/{object_id}").json()["description"] == "renamed"

    # refused: a job that is not deployed, a missing job_schedule, callers without the (writing) master key
    r = api.post("cloud_code/jobs", {"job_schedule": {"jobName": "noSuchJob"}})
    assert (r.status_code, r.json()) == (400, {"code": 141, "error": "Cannot Schedule a job that is not deployed"})
    r = api.put(f"cloud_code/jobs/{object_id}", {"job_schedule": {"jobName": "noSuchJob"}})
    assert (r.status_code, r.json()["code"]) == (400, 141)
    assert api.post("cloud_code/jobs", {"jobName": "stamp"}).json()["code"] == 107
    user = api.signup(unique("sched"))
    for method, path in (("POST", "cloud_code/jobs"), ("PUT", f"cloud_code/jobs/{object_id}")):
        for as_ in (None, user["sessionToken"]):
            r = api.request(method, path, form_body, as_=as_)
            assert (r.status_code, r.json()["code"]) == (403, 119), (method, as_)
        r = api.request(method, path, form_body, as_=None, headers={"X-Parse-Master-Key": "ro-key"})
        assert r.json()["code"] == 119, r.text
    r = api.delete(f"cloud_code/jobs/{object_id}", as_=user["sessionToken"])
    assert (r.status_code, r.json()["code"]) == (403, 119)

    assert api.delete(f"cloud_code/jobs/{object_id}").status_code == 200
    assert api.get("cloud_code/jobs").json() == []
    assert api.delete(f"cloud_code/jobs/{object_id}").json()["code"] == 101
    assert len(find(api, "_JobStatus")) == 1  # the form's one run
