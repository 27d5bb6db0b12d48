"""The MCP server: typed tools, resources and prompts over the CRM, acting as the API token's user.

Every tool resolves its caller from the API token on each call (so a revoked or expired token stops working at
once, mid-session too), then reads or writes through `agent.data` — the same objects path, permissions and hooks
as REST. Errors come back as tool errors with Parse's message and code; unexpected ones are logged with their
traceback and reported without it.

(No `from __future__ import annotations` here: the SDK reads the tools' annotations to build their JSON schemas.)
"""

import logging
from typing import Annotated, Any, Literal

import orjson
from mcp.server.mcpserver import Context, MCPServer
from pydantic import Field

from ..security.caller import Caller
from . import data, insight_tools, prompt, write_tools
from .runner import INSTRUCTIONS, LISTABLE, READS, SEARCHABLE, Agent, DateText, Id, Limit, date_value, ptr, query_where


def build(agent: Agent) -> MCPServer:
    # The SDK logs every refused tool call at INFO; our runner logs what matters (unexpected errors, with traceback).
    logging.getLogger("mcp").setLevel(logging.WARNING)
    mcp = MCPServer("parsecrm", instructions=INSTRUCTIONS, version="0.1.0", log_level="WARNING")
    backend = agent.backend
    _read_tools(mcp, agent)
    write_tools.register(mcp, agent)
    insight_tools.register(mcp, agent)

    @mcp.resource(
        "crm://schema", name="schema", description="The live CRM schema (Parse JSON)", mime_type="application/json"
    )
    async def schema_resource() -> str:
        schemas = await backend.schemas.all()
        return orjson.dumps([schemas[c].to_json() for c in prompt.CRM_CLASSES if c in schemas]).decode()

    @mcp.resource(
        "crm://data-dictionary",
        name="data-dictionary",
        description="What every CRM field means, its type, allowed values and whether it is required",
        mime_type="application/json",
    )
    async def dictionary_resource() -> str:
        spec = await prompt.dictionary(backend)
        return orjson.dumps(spec).decode()

    @mcp.prompt(
        name="weekly_pipeline_review", description="Review my pipeline: what moved, what is slipping, next steps"
    )
    def weekly_pipeline_review() -> str:
        return (
            "Run a weekly pipeline review for me. Use pipeline_summary and forecast for the figures, "
            "recent_changes for what moved in the last 7 days, and list_deals for each open stage to find deals "
            "whose expectedCloseDate has passed or falls in the next 14 days. Report: totals per stage, what moved, "
            "deals at risk (overdue or idle), and concrete next steps. Do not change anything unless I ask; when I "
            "do, preview with dry_run first."
        )

    @mcp.prompt(name="prepare_meeting", description="Prepare for a meeting with a company")
    def prepare_meeting(company: Annotated[str, Field(description="the company's name")]) -> str:
        return (
            f"Prepare me for a meeting with {company}. Use search to find the company, then get_record for it, "
            "list_records for its contacts (Contact where company is the company's pointer) and deals, and "
            "list_activities for each open deal and key contact. Summarise: who is who, open deals with stage, "
            "amount and close date, the last interactions and open tasks, and suggested talking points."
        )

    return mcp


def _read_tools(mcp: MCPServer, agent: Agent) -> None:
    backend = agent.backend

    @mcp.tool(annotations=READS)
    async def search(
        ctx: Context,
        query: Annotated[str, Field(description="words to look for", min_length=1, max_length=200)],
        classes: Annotated[
            list[Literal["Company", "Contact", "Deal"]] | None, Field(description="limit to these classes")
        ] = None,
        limit: Limit = 10,
    ) -> dict[str, Any]:
        """Full-text search over companies (name, industry), contacts (name, e-mail, title) and deals (title),
        among the records you may read."""

        async def work(caller: Caller) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for cls in classes or ("Company", "Contact", "Deal"):
                term = {"$text": {"$search": {"$term": query}}}
                where = {"$or": [{f: term} for f in SEARCHABLE[cls]]}
                out[cls] = await data.find(backend, caller, cls, {"where": where, "limit": limit})
            return out

        return await agent.run(ctx, work)

    @mcp.tool(annotations=READS)
    async def get_record(
        ctx: Context, class_name: Literal["Company", "Contact", "Deal", "Activity", "AgentChange"], object_id: Id
    ) -> dict[str, Any]:
        """One record by class and objectId (only if you may read it)."""
        return await agent.run(ctx, lambda caller: data.get(backend, caller, class_name, object_id))

    @mcp.tool(annotations=READS)
    async def list_records(
        ctx: Context,
        class_name: LISTABLE,
        where: Annotated[
            dict[str, Any] | None,
            Field(
                description='a Parse query, e.g. {"company": {"__type": "Pointer", "className": "Company", '
                '"objectId": "…"}} or {"amount": {"$gte": 1000}}'
            ),
        ] = None,
        order: Annotated[str | None, Field(description="comma-separated fields, '-' for descending")] = None,
        limit: Limit = 20,
        skip: Annotated[int, Field(ge=0, le=10_000)] = 0,
    ) -> list[dict[str, Any]]:
        """Records of one class matching a Parse query, among those you may read."""
        params: dict[str, Any] = {"where": query_where(where), "limit": limit, "skip": skip}
        if order:
            params["order"] = order
        return await agent.run(ctx, lambda caller: data.find(backend, caller, class_name, params))

    @mcp.tool(annotations=READS)
    async def list_deals(
        ctx: Context,
        stage: Annotated[str | None, Field(description="only this pipeline stage")] = None,
        closing_before: DateText | None = None,
        company_id: Id | None = None,
        mine_only: Annotated[bool, Field(description="only deals assigned to me")] = False,
        limit: Limit = 50,
    ) -> list[dict[str, Any]]:
        """Deals, filtered by stage (the pipeline view), ordered by expected close date."""

        async def work(caller: Caller) -> list[dict[str, Any]]:
            where: dict[str, Any] = {}
            if stage is not None:
                where["stage"] = stage
            if closing_before is not None:
                where["expectedCloseDate"] = {"$lt": date_value(closing_before)}
            if company_id is not None:
                where["company"] = ptr("Company", company_id)
            if mine_only:
                where["assignedTo"] = ptr("_User", caller.user_id)
            params = {"where": where, "order": "expectedCloseDate", "limit": limit}
            return await data.find(backend, caller, "Deal", params)

        return await agent.run(ctx, work)

    @mcp.tool(annotations=READS)
    async def list_activities(
        ctx: Context,
        related_to_class: Literal["Contact", "Deal"],
        related_to_id: Id,
        open_only: Annotated[bool, Field(description="only activities not done")] = False,
        limit: Limit = 50,
    ) -> list[dict[str, Any]]:
        """Activities of a contact or a deal, ordered by due date."""
        where: dict[str, Any] = {"relatedTo": ptr(related_to_class, related_to_id)}
        if open_only:
            where["done"] = {"$ne": True}
        params = {"where": where, "order": "dueDate", "limit": limit}
        return await agent.run(ctx, lambda caller: data.find(backend, caller, "Activity", params))
