"""The app's figures, computed in SQL under the caller's read rules (the pattern of analytics.pipeline_summary): a rep
gets the figures of the deals and activities they can read, a manager everyone's. Exact however the lists are paged.

- `pipelineBoard {owner?, closeFrom?, closeTo?}` → per stage: count and amount of the deals the board shows with
  these filters (the board pages its columns; their headers come from here).
- `dashboard {owner?, today?}` → open pipeline by stage, weighted forecast by close month, won/lost by month,
  win rate, overdue tasks and slipped deals (close date passed, still open).

`owner` (a user id) narrows deals to `assignedTo` and activities to `createdBy`; `closeFrom`/`closeTo`/`today` are
calendar days (`YYYY-MM-DD`, the client's own day, so "today" is the user's today, not the server's).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from .. import errors, objects
from ..backend import Backend
from ..cloud import Cloud, FunctionRequest, ParseError
from ..objects.read import RuleScope
from .analytics import PROBABILITY

CLOSED = ("won", "lost")
FORECAST_MONTHS = 6
HISTORY_MONTHS = 6
LIST_LIMIT = 5


def _day(params: dict[str, Any], key: str) -> date | None:
    value = params.get(key)
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ParseError(errors.INVALID_JSON, f"{key} must be a date as YYYY-MM-DD")
    try:
        return date.fromisoformat(value[:10])
    except ValueError as exc:
        raise ParseError(errors.INVALID_JSON, f"{key} must be a date as YYYY-MM-DD") from exc


def _owner(params: dict[str, Any]) -> str | None:
    value = params.get("owner")
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ParseError(errors.INVALID_JSON, "owner must be a user id")
    return value


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _month_start(day: date, add: int = 0) -> date:
    index = day.year * 12 + day.month - 1 + add
    return date(index // 12, index % 12 + 1, 1)


async def _rules(request: FunctionRequest) -> RuleScope:
    """The caller's read rules for the classes a figure reads (one parameter list per statement): the same Policy
    every read path asks."""
    return await objects.rules_for(_backend(request), request.caller)


def _backend(request: FunctionRequest) -> Backend:
    backend = request.backend
    assert backend is not None  # functions always run with the server's backend
    return backend


def _deal_filters(
    rules: RuleScope, alias: str, owner: str | None, close_from: date | None, close_to: date | None
) -> str:
    parts = [rules.rule("Deal", alias)]
    if owner:
        parts.append(f'{alias}."assignedTo" = {rules.params.add(owner, "::text")}')
    if close_from:
        parts.append(f'{alias}."expectedCloseDate" >= {rules.params.add(_midnight(close_from), "::timestamptz")}')
    if close_to:
        end = _midnight(close_to + timedelta(days=1))
        parts.append(f'{alias}."expectedCloseDate" < {rules.params.add(end, "::timestamptz")}')
    return " AND ".join(parts)


async def pipeline_board(request: FunctionRequest, stages: Sequence[str]) -> dict[str, Any]:
    backend = _backend(request)
    rules = await _rules(request)
    params = request.params
    where = _deal_filters(rules, "t", _owner(params), _day(params, "closeFrom"), _day(params, "closeTo"))
    sql = f"""
        SELECT t."stage" AS stage, count(*) AS n, coalesce(sum(t."amount"), 0) AS total
        FROM "Deal" t WHERE {where} GROUP BY t."stage"
    """
    rows = {r["stage"]: r for r in await backend.pool.fetch(sql, *rules.params.values)}
    return {
        "stages": [
            {
                "stage": stage,
                "count": int(rows[stage]["n"]) if stage in rows else 0,
                "amount": float(rows[stage]["total"]) if stage in rows else 0.0,
            }
            for stage in stages
        ]
    }


def _probability_sql(alias: str) -> str:
    cases = " ".join(f"WHEN '{stage}' THEN {p}" for stage, p in PROBABILITY.items())
    return f'(CASE {alias}."stage" {cases} ELSE 0.5 END)'


async def dashboard(request: FunctionRequest, stages: Sequence[str]) -> dict[str, Any]:
    backend = _backend(request)
    params = request.params
    owner = _owner(params)
    today = _day(params, "today") or datetime.now(UTC).date()
    this_month = _month_start(today)

    # 1. open pipeline by stage, and the win rate (all closed deals the caller can read)
    rules = await _rules(request)
    where = _deal_filters(rules, "t", owner, None, None)
    by_stage = {
        r["stage"]: r
        for r in await backend.pool.fetch(
            f'SELECT t."stage" AS stage, count(*) AS n, coalesce(sum(t."amount"), 0) AS total '
            f'FROM "Deal" t WHERE {where} GROUP BY t."stage"',
            *rules.params.values,
        )
    }
    pipeline = [
        {
            "stage": stage,
            "count": int(by_stage[stage]["n"]) if stage in by_stage else 0,
            "amount": float(by_stage[stage]["total"]) if stage in by_stage else 0.0,
        }
        for stage in stages
        if stage not in CLOSED
    ]
    won = int(by_stage["won"]["n"]) if "won" in by_stage else 0
    lost = int(by_stage["lost"]["n"]) if "lost" in by_stage else 0

    # 2. weighted forecast of open deals by close month, from this month on
    rules = await _rules(request)
    where = _deal_filters(rules, "t", owner, this_month, None)
    closed = rules.params.add(list(CLOSED), "::text[]")
    until = rules.params.add(_midnight(_month_start(today, FORECAST_MONTHS)), "::timestamptz")
    forecast_rows = await backend.pool.fetch(
        f"""SELECT to_char(date_trunc('month', t."expectedCloseDate" AT TIME ZONE 'UTC'), 'YYYY-MM') AS month,
                   count(*) AS n, coalesce(sum(t."amount"), 0) AS total,
                   coalesce(sum(t."amount" * {_probability_sql("t")}), 0) AS weighted
            FROM "Deal" t
            WHERE {where} AND NOT (t."stage" = ANY({closed})) AND t."expectedCloseDate" < {until}
            GROUP BY 1""",
        *rules.params.values,
    )
    forecast_by_month = {r["month"]: r for r in forecast_rows}
    forecast = []
    for i in range(FORECAST_MONTHS):
        month = _month_start(today, i).strftime("%Y-%m")
        r = forecast_by_month.get(month)
        forecast.append(
            {
                "month": month,
                "count": int(r["n"]) if r else 0,
                "amount": float(r["total"]) if r else 0.0,
                "weighted": round(float(r["weighted"]), 2) if r else 0.0,
            }
        )

    # 3. won and lost by the month they closed (their last move into won/lost; the last update if no history)
    rules = await _rules(request)
    where = _deal_filters(rules, "t", owner, None, None)
    history = rules.rule("DealStageChange", "h")
    closed = rules.params.add(list(CLOSED), "::text[]")
    since = rules.params.add(_midnight(_month_start(today, -(HISTORY_MONTHS - 1))), "::timestamptz")
    closed_rows = await backend.pool.fetch(
        f"""SELECT to_char(date_trunc('month', c.closed_at AT TIME ZONE 'UTC'), 'YYYY-MM') AS month, c.stage,
                   count(*) AS n, coalesce(sum(c.amount), 0) AS total
            FROM (
                SELECT t."stage" AS stage, t."amount" AS amount,
                       coalesce((SELECT max(h."changedAt") FROM "DealStageChange" h
                                 WHERE h."deal" = t."objectId" AND h."to" = t."stage" AND {history}),
                                t."updatedAt") AS closed_at
                FROM "Deal" t WHERE {where} AND t."stage" = ANY({closed})
            ) c
            WHERE c.closed_at >= {since}
            GROUP BY 1, 2""",
        *rules.params.values,
    )
    closed_by = {(r["month"], r["stage"]): r for r in closed_rows}
    won_lost = []
    for i in range(-(HISTORY_MONTHS - 1), 1):
        month = _month_start(today, i).strftime("%Y-%m")
        w, lo = closed_by.get((month, "won")), closed_by.get((month, "lost"))
        won_lost.append(
            {
                "month": month,
                "won": int(w["n"]) if w else 0,
                "wonAmount": float(w["total"]) if w else 0.0,
                "lost": int(lo["n"]) if lo else 0,
                "lostAmount": float(lo["total"]) if lo else 0.0,
            }
        )

    # 4. slipped deals: the expected close day has passed and the deal is still open
    rules = await _rules(request)
    where = _deal_filters(rules, "t", owner, None, None)
    closed = rules.params.add(list(CLOSED), "::text[]")
    start_of_today = rules.params.add(_midnight(today), "::timestamptz")
    slipped_sql = f"""FROM "Deal" t WHERE {where} AND NOT (t."stage" = ANY({closed}))
                      AND t."expectedCloseDate" < {start_of_today}"""
    slipped_total = await backend.pool.fetchrow(
        f'SELECT count(*) AS n, coalesce(sum(t."amount"), 0) AS total {slipped_sql}', *rules.params.values
    )
    assert slipped_total is not None  # an aggregate without GROUP BY always has its row
    slipped = await backend.pool.fetch(
        f"""SELECT t."objectId" AS id, t."title" AS title, t."amount" AS amount, t."stage" AS stage,
                   t."expectedCloseDate" AS close {slipped_sql}
            ORDER BY t."expectedCloseDate", t."objectId" LIMIT {LIST_LIMIT}""",
        *rules.params.values,
    )

    # 5. overdue tasks: open activities whose due time has passed
    rules = await _rules(request)
    parts = [rules.rule("Activity", "a")]
    if owner:
        parts.append(f'a."createdBy" = {rules.params.add(owner, "::text")}')
    now = rules.params.add(datetime.now(UTC), "::timestamptz")
    overdue_sql = f"""FROM "Activity" a WHERE {" AND ".join(parts)} AND a."done" IS NOT TRUE AND a."dueDate" < {now}"""
    overdue_count = await backend.pool.fetchval(f"SELECT count(*) {overdue_sql}", *rules.params.values)
    overdue = await backend.pool.fetch(
        f"""SELECT a."objectId" AS id, a."subject" AS subject, a."type" AS type, a."dueDate" AS due
            {overdue_sql} ORDER BY a."dueDate", a."objectId" LIMIT {LIST_LIMIT}""",
        *rules.params.values,
    )

    return {
        "pipeline": pipeline,
        "openCount": sum(s["count"] for s in pipeline),
        "openAmount": sum(s["amount"] for s in pipeline),
        "forecast": forecast,
        "wonLost": won_lost,
        "won": won,
        "lost": lost,
        "winRate": round(won / (won + lost), 4) if won + lost else None,
        "slipped": {
            "count": int(slipped_total["n"]),
            "amount": float(slipped_total["total"]),
            "deals": [
                {
                    "id": r["id"],
                    "title": r["title"] or "",
                    "amount": float(r["amount"]) if r["amount"] is not None else None,
                    "stage": r["stage"],
                    "expectedCloseDate": r["close"].date().isoformat(),
                }
                for r in slipped
            ],
        },
        "overdue": {
            "count": int(overdue_count),
            "activities": [
                {"id": r["id"], "subject": r["subject"] or "", "type": r["type"], "dueDate": r["due"].isoformat()}
                for r in overdue
            ],
        },
    }


def register(cloud: Cloud, stages: Sequence[str]) -> None:
    """Define the app's figure functions on `cloud` (the CRM's rules call this)."""

    def bind(fn: Callable[[FunctionRequest, Sequence[str]], Awaitable[dict[str, Any]]]) -> Callable[..., Any]:
        async def run(request: FunctionRequest) -> dict[str, Any]:
            return await fn(request, stages)

        return run

    cloud.define("pipelineBoard")(bind(pipeline_board))
    cloud.define("dashboard")(bind(dashboard))
