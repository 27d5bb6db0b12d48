"""The MCP tools that write: create / update companies, contacts and deals, move a deal's stage, log and complete
activities, undo an agent write. Each takes `dry_run`; each goes through `agent.data` as the token's user.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from pydantic import Field

from ..security.caller import Caller
from . import data
from .runner import WRITES, Agent, DateText, DryRun, Id, Text, date_value, ptr, save_body


def register(mcp: MCPServer, agent: Agent) -> None:
    backend = agent.backend

    def create(cls: str, values: dict[str, Any], dry_run: bool) -> Callable[[Caller], Awaitable[dict[str, Any]]]:
        return lambda caller: data.create(backend, caller, cls, save_body(values), dry_run=dry_run)

    def update(
        cls: str, oid: str, values: dict[str, Any], clear: list[str] | None, dry_run: bool
    ) -> Callable[[Caller], Awaitable[dict[str, Any]]]:
        return lambda caller: data.update(backend, caller, cls, oid, save_body(values, clear), dry_run=dry_run)

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
        values: dict[str, Any] = {
            "name": name,
            "website": website,
            "industry": industry,
            "address": address,
            "notes": notes,
        }
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
        values: dict[str, Any] = {
            "name": name,
            "website": website,
            "industry": industry,
            "address": address,
            "notes": notes,
        }
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
        values: dict[str, Any] = {"name": name, "email": email, "phone": phone, "title": title, "notes": notes}
        values["company"] = ptr("Company", company_id)
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
        values: dict[str, Any] = {"name": name, "email": email, "phone": phone, "title": title, "notes": notes}
        values["company"] = ptr("Company", company_id)
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
        values: dict[str, Any] = {"title": title, "amount": amount, "stage": stage, "notes": notes}
        values.update(company=ptr("Company", company_id), contact=ptr("Contact", contact_id))
        values["expectedCloseDate"] = date_value(expected_close_date)
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
        values: dict[str, Any] = {
            "title": title,
            "amount": amount,
            "notes": notes,
            "expectedCloseDate": date_value(expected_close_date),
        }
        values.update(company=ptr("Company", company_id), contact=ptr("Contact", contact_id))
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
        values: dict[str, Any] = {"type": type, "subject": subject, "description": description, "done": done}
        values.update(relatedTo=ptr(related_to_class, related_to_id), dueDate=date_value(due_date))
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
