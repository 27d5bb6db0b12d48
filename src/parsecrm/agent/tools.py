"""The MCP server: typed tools, resources and prompts over the CRM, acting as the API token's user.

Every tool resolves its caller from the API token on each call (so a revoked or expired token stops working at
once, mid-session too), then reads or writes through `agent.data` — the same objects path, permissions and hooks
as REST. Errors come back as tool errors with Parse's message and code; unexpected ones are logged with their
traceback and reported without it.

(No `from __future__ import annotations` here: the SDK reads the tools' annotations to build their JSON schemas.)
"""

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, TypeVar

import asyncpg
import orjson
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from .. import errors
from ..backend import Backend
from ..errors import ParseError
from ..security.caller import Caller
from ..values import iso, parse_iso
from . import data, prompt

log = logging.getLogger("parsecrm.agent")
T = TypeVar("T")

READS = ToolAnnotations(readOnlyHint=True, openWorldHint=False)
WRITES = ToolAnnotations(readOnlyHint=False, destructiveHint=False, openWorldHint=False)
SEARCHABLE = {"Company": ("name", "industry"), "Contact": ("name", "email", "title"), "Deal": ("title",)}
LISTABLE = Literal["Company", "Contact", "Deal", "Activity", "DealStageChange", "AgentChange"]

Id = Annotated[str, Field(description="an objectId", min_length=1, max_length=64)]
DryRun = Annotated[bool, Field(description="true: validate and permission-check only; nothing is saved")]
Limit = Annotated[int, Field(description="at most this many results", ge=1, le=200)]
DateText = Annotated[str, Field(description="a date, YYYY-MM-DD or ISO 8601")]
Text = Annotated[str, Field(max_length=10_000)]

INSTRUCTIONS = (
    "A CRM (companies, contacts, deals, activities). You act as the user who owns the API token, with exactly "
    "their permissions. Writes accept dry_run=true to preview; every real write is recorded and the user can undo "
    "it (list_agent_changes, undo_agent_change). Read the crm://schema resource for fields and allowed values."
)


class Agent:
    """Resolves the caller of a tool call and runs tools with clear errors. `fixed_secret` is the stdio mode's
    token; over HTTP the token comes from each request's `Authorization: Bearer` header."""

    def __init__(self, backend: Backend, fixed_secret: str | None = None) -> None:
        self.backend = backend
        self.fixed_secret = fixed_secret

    async def caller(self, ctx: Context) -> Caller:
        headers: Mapping[str, str] | None = ctx.headers
        if headers is None:  # stdio: one token for the process, checked on every call; rate-limited here
            if not self.fixed_secret:
                raise ParseError(errors.INVALID_SESSION_TOKEN, "No API token.")
            return (await self.backend.tokens.resolve(self.fixed_secret)).caller()
        auth = headers.get("authorization", "")
        secret = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
        if not secret:
            raise ParseError(errors.INVALID_SESSION_TOKEN, "Authorization: Bearer <API token> is required.")
        # the HTTP layer counted this request against the token's rate limit already
        return (await self.backend.tokens.resolve(secret, count=False)).caller()

    async def run(self, ctx: Context, work: Callable[[Caller], Awaitable[T]]) -> T:
        try:
            return await work(await self.caller(ctx))
        except ParseError as exc:
            raise ToolError(f"{exc.message} (Parse error {exc.code})") from None
        except asyncpg.PostgresError as exc:
            mapped = errors.from_sqlstate(getattr(exc, "sqlstate", None))
            if mapped is None:
                log.exception("database error in an agent tool")
                raise ToolError("Internal error; the server log has the details.") from None
            raise ToolError(f"{mapped.message} (Parse error {mapped.code})") from None
        except Exception:
            log.exception("unexpected error in an agent tool")
            raise ToolError("Internal error; the server log has the details.") from None


# -- value helpers ---------------------------------------------------------------------------------------------------


def _ptr(class_name: str, object_id: str | None) -> dict[str, str] | None:
    return None if object_id is None else {"__type": "Pointer", "className": class_name, "objectId": object_id}


def _date(text: str | None) -> dict[str, str] | None:
    return None if text is None else {"__type": "Date", "iso": iso(parse_iso(text))}


def _body(values: dict[str, Any], clear: list[str] | None = None) -> dict[str, Any]:
    """A save body from the given (non-None) values, plus `Delete` operations for the fields to clear."""
    body = {k: v for k, v in values.items() if v is not None}
    for key in clear or []:
        if key in body:
            raise ParseError(errors.INVALID_JSON, f"{key} is both set and cleared.")
        body[key] = {"__op": "Delete"}
    if not body:
        raise ParseError(errors.INVALID_JSON, "Nothing to change: give at least one field.")
    return body


def _where(raw: str | dict[str, Any] | None) -> dict[str, Any]:
    if raw is None or raw == "":
        return {}
    value = orjson.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(value, dict):
        raise ParseError(errors.INVALID_JSON, "where must be a JSON object (a Parse query).")
    return value


def build(agent: Agent) -> MCPServer:
    mcp = MCPServer("parsecrm", instructions=INSTRUCTIONS, version="0.1.0")
    backend = agent.backend
    _read_tools(mcp, agent)
    _write_tools(mcp, agent)
    _insight_tools(mcp, agent)

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
        spec = prompt.dictionary(await backend.schemas.all(), backend.settings.deal_stages)
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
            for cls in classes or list(SEARCHABLE):
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
        params: dict[str, Any] = {"where": _where(where), "limit": limit, "skip": skip}
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
                where["expectedCloseDate"] = {"$lt": _date(closing_before)}
            if company_id is not None:
                where["company"] = _ptr("Company", company_id)
            if mine_only:
                where["assignedTo"] = _ptr("_User", caller.user_id)
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
        where: dict[str, Any] = {"relatedTo": _ptr(related_to_class, related_to_id)}
        if open_only:
            where["done"] = {"$ne": True}
        params = {"where": where, "order": "dueDate", "limit": limit}
        return await agent.run(ctx, lambda caller: data.find(backend, caller, "Activity", params))


def _write_tools(mcp: MCPServer, agent: Agent) -> None:
    backend = agent.backend

    def create(cls: str, values: dict[str, Any], dry_run: bool) -> Callable[[Caller], Awaitable[dict[str, Any]]]:
        return lambda caller: data.create(backend, caller, cls, _body(values), dry_run=dry_run)

    def update(
        cls: str, oid: str, values: dict[str, Any], clear: list[str] | None, dry_run: bool
    ) -> Callable[[Caller], Awaitable[dict[str, Any]]]:
        return lambda caller: data.update(backend, caller, cls, oid, _body(values, clear), dry_run=dry_run)

    clear_help = Field(description="fields to unset")

    @mcp.tool(annotations=WRITES)
    async def create_company(
        ctx: Context,
        name: Annotated[str, Field(min_length=1, max_length=500)],
        website: str | None = None,
        industry: str | None = None,
        address: str | None = None,
        notes: Text | None = None,
        dry_run: DryRun = False,
    ) -> dict[str, Any]:
        """Create a company (you become its owner)."""
        values = {"name": name, "website": website, "industry": industry, "address": address, "notes": notes}
        return await agent.run(ctx, create("Company", values, dry_run))

    @mcp.tool(annotations=WRITES)
    async def update_company(
        ctx: Context,
        object_id: Id,
        name: str | None = None,
        website: str | None = None,
        industry: str | None = None,
        address: str | None = None,
        notes: Text | None = None,
        clear: Annotated[list[Literal["website", "industry", "address", "notes"]] | None, clear_help] = None,
        dry_run: DryRun = False,
    ) -> dict[str, Any]:
        """Change a company's fields (only those given)."""
        values = {"name": name, "website": website, "industry": industry, "address": address, "notes": notes}
        return await agent.run(ctx, update("Company", object_id, values, list(clear or []), dry_run))

    @mcp.tool(annotations=WRITES)
    async def create_contact(
        ctx: Context,
        name: Annotated[str, Field(min_length=1, max_length=500)],
        email: str | None = None,
        phone: str | None = None,
        title: str | None = None,
        company_id: Id | None = None,
        notes: Text | None = None,
        dry_run: DryRun = False,
    ) -> dict[str, Any]:
        """Create a contact, optionally at a company."""
        values = {"name": name, "email": email, "phone": phone, "title": title, "notes": notes}
        values["company"] = _ptr("Company", company_id)
        return await agent.run(ctx, create("Contact", values, dry_run))

    @mcp.tool(annotations=WRITES)
    async def update_contact(
        ctx: Context,
        object_id: Id,
        name: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        title: str | None = None,
        company_id: Id | None = None,
        notes: Text | None = None,
        clear: Annotated[list[Literal["email", "phone", "title", "company", "notes"]] | None, clear_help] = None,
        dry_run: DryRun = False,
    ) -> dict[str, Any]:
        """Change a contact's fields (only those given)."""
        values = {"name": name, "email": email, "phone": phone, "title": title, "notes": notes}
        values["company"] = _ptr("Company", company_id)
        return await agent.run(ctx, update("Contact", object_id, values, list(clear or []), dry_run))

    @mcp.tool(annotations=WRITES)
    async def create_deal(
        ctx: Context,
        title: Annotated[str, Field(min_length=1, max_length=500)],
        amount: Annotated[float | None, Field(ge=0)] = None,
        stage: Annotated[str | None, Field(description="a pipeline stage; default the first")] = None,
        company_id: Id | None = None,
        contact_id: Id | None = None,
        expected_close_date: DateText | None = None,
        notes: Text | None = None,
        dry_run: DryRun = False,
    ) -> dict[str, Any]:
        """Create a deal (assigned to you); its first stage is recorded in the stage history."""
        values = {"title": title, "amount": amount, "stage": stage, "notes": notes}
        values.update(company=_ptr("Company", company_id), contact=_ptr("Contact", contact_id))
        values["expectedCloseDate"] = _date(expected_close_date)
        return await agent.run(ctx, create("Deal", values, dry_run))

    @mcp.tool(annotations=WRITES)
    async def update_deal(
        ctx: Context,
        object_id: Id,
        title: str | None = None,
        amount: Annotated[float | None, Field(ge=0)] = None,
        company_id: Id | None = None,
        contact_id: Id | None = None,
        expected_close_date: DateText | None = None,
        notes: Text | None = None,
        clear: Annotated[
            list[Literal["amount", "company", "contact", "expectedCloseDate", "notes"]] | None, clear_help
        ] = None,
        dry_run: DryRun = False,
    ) -> dict[str, Any]:
        """Change a deal's fields (only those given; use move_deal_stage for the stage)."""
        values = {"title": title, "amount": amount, "notes": notes, "expectedCloseDate": _date(expected_close_date)}
        values.update(company=_ptr("Company", company_id), contact=_ptr("Contact", contact_id))
        return await agent.run(ctx, update("Deal", object_id, values, list(clear or []), dry_run))

    @mcp.tool(annotations=WRITES)
    async def move_deal_stage(
        ctx: Context,
        deal_id: Id,
        stage: Annotated[str, Field(description="the new pipeline stage")],
        dry_run: DryRun = False,
    ) -> dict[str, Any]:
        """Move a deal to another pipeline stage; the move is recorded in the deal's stage history."""
        return await agent.run(ctx, update("Deal", deal_id, {"stage": stage}, None, dry_run))

    @mcp.tool(annotations=WRITES)
    async def log_activity(
        ctx: Context,
        type: Literal["call", "email", "meeting", "note"],
        subject: Annotated[str, Field(min_length=1, max_length=500)],
        related_to_class: Literal["Contact", "Deal"],
        related_to_id: Id,
        description: Text | None = None,
        due_date: DateText | None = None,
        done: Annotated[bool, Field(description="already completed (e.g. a call that happened)")] = False,
        dry_run: DryRun = False,
    ) -> dict[str, Any]:
        """Log a call, e-mail, meeting or note on a contact or a deal."""
        values = {"type": type, "subject": subject, "description": description, "done": done}
        values.update(relatedTo=_ptr(related_to_class, related_to_id), dueDate=_date(due_date))
        return await agent.run(ctx, create("Activity", values, dry_run))

    @mcp.tool(annotations=WRITES)
    async def complete_activity(ctx: Context, activity_id: Id, dry_run: DryRun = False) -> dict[str, Any]:
        """Mark an activity done (its completedAt is stamped)."""
        return await agent.run(ctx, update("Activity", activity_id, {"done": True}, None, dry_run))

    @mcp.tool(annotations=WRITES)
    async def undo_agent_change(
        ctx: Context,
        change_id: Annotated[str, Field(description="an AgentChange objectId (see list_agent_changes)")],
        force: Annotated[bool, Field(description="undo even if the record changed since")] = False,
    ) -> dict[str, Any]:
        """Undo one agent write: a created record is deleted, an update's fields are put back."""
        return await agent.run(ctx, lambda caller: data.undo(backend, caller, change_id, force=force))


def _insight_tools(mcp: MCPServer, agent: Agent) -> None:
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
                "expectedCloseDate": {"$lte": _date(iso(until))},
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
            since = _date(iso(datetime.now(UTC) - timedelta(hours=hours)))
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
        return await agent.run(ctx, lambda caller: data.find(backend, caller, data.AUDIT_CLASS, params))
