"""What every MCP tool shares: resolving the caller from the API token on each call, running the tool with clear
errors (Parse's message and code; unexpected failures logged with their traceback and reported without it), the
argument types the tools' JSON schemas are built from, and small value helpers.

(No `from __future__ import annotations` in the tool modules: the SDK reads their annotations to build schemas.)
"""

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any, Literal, TypeVar

import asyncpg
import orjson
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from .. import errors
from ..backend import Backend
from ..errors import ParseError
from ..security.caller import Caller
from ..values import iso, parse_iso

log = logging.getLogger("parsecrm.agent")
T = TypeVar("T")

READS = ToolAnnotations(read_only_hint=True, open_world_hint=False)
WRITES = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)
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


def ptr(class_name: str, object_id: str | None) -> dict[str, str] | None:
    return None if object_id is None else {"__type": "Pointer", "className": class_name, "objectId": object_id}


def date_value(text: str | None) -> dict[str, str] | None:
    return None if text is None else {"__type": "Date", "iso": iso(parse_iso(text))}


def save_body(values: dict[str, Any], clear: list[str] | None = None) -> dict[str, Any]:
    """A save body from the given (non-None) values, plus `Delete` operations for the fields to clear."""
    body = {k: v for k, v in values.items() if v is not None}
    for key in clear or []:
        if key in body:
            raise ParseError(errors.INVALID_JSON, f"{key} is both set and cleared.")
        body[key] = {"__op": "Delete"}
    if not body:
        raise ParseError(errors.INVALID_JSON, "Nothing to change: give at least one field.")
    return body


def query_where(raw: str | dict[str, Any] | None) -> dict[str, Any]:
    if raw is None or raw == "":
        return {}
    value = orjson.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(value, dict):
        raise ParseError(errors.INVALID_JSON, "where must be a JSON object (a Parse query).")
    return value
