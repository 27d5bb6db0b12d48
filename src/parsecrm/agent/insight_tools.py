"""The MCP tools for figures and news: the pipeline summary, the forecast, recent changes, the agent's own writes."""

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from pydantic import Field

from ..security.caller import Caller
from ..values import iso, parse_iso
from . import audit, data
from .runner import READS, Agent, Limit, date_value


def register(mcp: MCPServer, agent: Agent) -> None:
    backend = agent.backend

    @mcp.tool(annotations=READS)
    async def pipeline_summary(ctx: Context) -> Any:
        """Per stage: count, amount, weighted amount, average days in stage; the win rate — over deals you see."""
        return await agent.run(ctx, lambda caller: data.run_function(backend, caller, "pipelineSummary", {}))

    @mcp.tool(annotations=READS)
    async def forecast(
        ctx: Context, months: Annotated[int, Field(description="months ahead", ge=1, le=24)] = 3
    ) -> dict[str, Any]:
        """Open deals expected to close in the coming months, per month: count, amount, and amount weighted by
        stage probability."""

        async def work(caller: Caller) -> dict[str, Any]:
            from ..crm.analytics import PROBABILITY

            now = datetime.now(UTC)
            until = now + timedelta(days=31 * months)
            where = {
                "stage": {"$nin": ["won", "lost"]},
                "expectedCloseDate": {"$lte": date_value(iso(until))},
            }
            params = {
                "where": where,
                "order": "expectedCloseDate",
                "limit": 1000,
                "keys": "stage,amount,expectedCloseDate",
            }
            deals = await data.find(backend, caller, "Deal", params)
            months_out: dict[str, dict[str, float]] = {}
            for d in deals:
                close = parse_iso(d["expectedCloseDate"]["iso"])
                key = "overdue" if close < now else close.strftime("%Y-%m")
                m = months_out.setdefault(key, {"count": 0, "amount": 0.0, "weighted": 0.0})
                amount = float(d.get("amount") or 0)
                m["count"] += 1
                m["amount"] += amount
                m["weighted"] += amount * PROBABILITY.get(d.get("stage", ""), 0.5)
            return {"months": months_out, "deals": len(deals), "truncated": len(deals) == 1000}

        return await agent.run(ctx, work)

    @mcp.tool(annotations=READS)
    async def recent_changes(
        ctx: Context,
        hours: Annotated[int, Field(description="look back this many hours", ge=1, le=24 * 90)] = 24,
        limit: Limit = 20,
    ) -> dict[str, Any]:
        """What changed recently among the records you may read: per class the most recently updated, plus
        deal stage moves."""

        async def work(caller: Caller) -> dict[str, Any]:
            since = date_value(iso(datetime.now(UTC) - timedelta(hours=hours)))
            out: dict[str, Any] = {}
            for cls in ("Company", "Contact", "Deal", "Activity"):
                params = {"where": {"updatedAt": {"$gte": since}}, "order": "-updatedAt", "limit": limit}
                out[cls] = await data.find(backend, caller, cls, params)
            moves = {"where": {"changedAt": {"$gte": since}}, "order": "-changedAt", "limit": limit}
            out["stageMoves"] = await data.find(backend, caller, "DealStageChange", moves)
            return out

        return await agent.run(ctx, work)

    @mcp.tool(annotations=READS)
    async def list_agent_changes(ctx: Context, limit: Limit = 20) -> list[dict[str, Any]]:
        """The writes agents made on your behalf, newest first (undo one with undo_agent_change)."""
        params = {"order": "-createdAt", "limit": limit}
        return await agent.run(ctx, lambda caller: data.find(backend, caller, audit.AUDIT_CLASS, params))
