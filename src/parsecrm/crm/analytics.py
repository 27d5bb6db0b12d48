"""Pipeline analytics in SQL, under the caller's read rules (a rep sees the figures of the deals they can read)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from .. import objects
from ..cloud import FunctionRequest

# Chance of closing per stage, for the weighted pipeline. Stages not listed (custom ones) count at 50%.
PROBABILITY = {"lead": 0.1, "qualified": 0.25, "proposal": 0.5, "negotiation": 0.75, "won": 1.0, "lost": 0.0}


async def pipeline_summary(request: FunctionRequest, stages: Sequence[str]) -> dict[str, Any]:
    backend = request.backend
    assert backend is not None
    rules = await objects.rules_for(backend, request.caller)
    deal_rule = rules.rule("Deal", "t")
    history_rule = rules.rule("DealStageChange", "h")
    sql = f"""
        WITH per_stage AS (
            SELECT t."stage" AS stage, count(*) AS n, coalesce(sum(t."amount"), 0) AS total
            FROM "Deal" t WHERE {deal_rule} GROUP BY t."stage"
        ), stays AS (
            SELECT h."to" AS stage,
                   lead(h."changedAt") OVER (PARTITION BY h."deal" ORDER BY h."changedAt") - h."changedAt" AS spent
            FROM "DealStageChange" h WHERE {history_rule}
        ), durations AS (
            SELECT stage, avg(extract(epoch FROM spent)) / 86400.0 AS days FROM stays
            WHERE spent IS NOT NULL GROUP BY stage
        )
        SELECT coalesce(p.stage, d.stage) AS stage, coalesce(p.n, 0) AS n, coalesce(p.total, 0) AS total, d.days
        FROM per_stage p FULL JOIN durations d ON d.stage = p.stage
    """
    rows = {r["stage"]: r for r in await backend.pool.fetch(sql, *rules.params.values)}
    out = []
    for stage in list(stages) + sorted(s for s in rows if s not in stages and s is not None):
        r = rows.get(stage)
        count, total = (int(r["n"]), float(r["total"])) if r else (0, 0.0)
        days = r["days"] if r else None
        out.append(
            {
                "stage": stage,
                "count": count,
                "amount": total,
                "weightedAmount": round(total * PROBABILITY.get(stage, 0.5), 2),
                "averageDaysInStage": round(float(days), 2) if days is not None else None,
            }
        )
    won = next((s["count"] for s in out if s["stage"] == "won"), 0)
    lost = next((s["count"] for s in out if s["stage"] == "lost"), 0)
    open_stages = [s for s in out if s["stage"] not in ("won", "lost")]
    return {
        "stages": out,
        "winRate": round(won / (won + lost), 4) if won + lost else None,
        "openCount": sum(s["count"] for s in open_stages),
        "openAmount": sum(s["amount"] for s in open_stages),
        "weightedOpenAmount": round(sum(s["weightedAmount"] for s in open_stages), 2),
    }


def pipeline_summary_function(stages: Sequence[str]) -> Callable[[FunctionRequest], Awaitable[dict[str, Any]]]:
    async def run(request: FunctionRequest) -> dict[str, Any]:
        return await pipeline_summary(request, stages)

    run.__name__ = "pipelineSummary"
    return run
