"""Cloud functions of the AI guide, registered through the public Cloud Code API like the CRM's rules:

- `createApiToken {name, readOnly?, expiresInDays?}` → `{token, …}`: the secret, shown this once
- `listApiTokens` → the caller's tokens (name, prefix, readOnly, expiresAt, lastUsedAt, createdAt; never a secret)
- `revokeApiToken {id}` → `{revoked: true}`: refused at once by every server process
- `undoAgentChange {id, force?}`: undo one agent write (see `agent.data.undo`)
- `agentPrompt` → the agent prompt rendered from the live schema (also served as text at `GET /parse/agent-prompt`)

Token management needs a signed-in session: an API token cannot mint, list or revoke tokens, so a leaked token
cannot make itself permanent. Every user manages only their own tokens; nobody (managers included) can read a
token's secret, which is never stored.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from .. import errors
from ..backend import Backend
from ..cloud import Cloud, ParseError
from ..cloud.requests import FunctionRequest
from ..security.caller import Caller
from ..settings import Settings
from ..storage.cache import STARTUP_LOCK
from ..storage.pool import NO_TIMEOUT
from ..values import iso
from . import audit, data, prompt

NAME_MAX = 100
AUDIT_FIELDS = {
    "action": {"type": "String"},
    "targetClass": {"type": "String"},
    "targetId": {"type": "String"},
    "fields": {"type": "Array"},
    "before": {"type": "Object"},
    "after": {"type": "Object"},
    "tokenName": {"type": "String"},
    "tokenId": {"type": "String"},
    "user": {"type": "Pointer", "targetClass": "_User"},
    "summary": {"type": "String"},
    "undoneAt": {"type": "Date"},
}
# Readable by signed-in users (the row ACL narrows it to the change's own user); written only by the server.
AUDIT_CLP: dict[str, Any] = {
    "find": {"requiresAuthentication": True},
    "count": {"requiresAuthentication": True},
    "get": {"requiresAuthentication": True},
    "create": {},
    "update": {},
    "delete": {},
    "addField": {},
    "protectedFields": {},
}


async def apply_schema(backend: Backend) -> None:
    async with backend.pool.acquire() as conn, conn.transaction():
        await conn.execute(NO_TIMEOUT)
        await conn.execute("SELECT pg_advisory_xact_lock($1)", STARTUP_LOCK)
        await backend.schemas.ensure_class(
            audit.AUDIT_CLASS, AUDIT_FIELDS, AUDIT_CLP, {"user_created": {"user": 1, "createdAt": -1}}, conn=conn
        )
    backend.schemas.invalidate()


def _session_user(caller: Caller) -> str:
    if caller.token_id:
        raise ParseError(errors.OPERATION_FORBIDDEN, "API tokens are managed with a signed-in session, not a token.")
    if not caller.user_id:
        raise ParseError(errors.INVALID_SESSION_TOKEN, "Sign in to manage API tokens.")
    return caller.user_id


def _listed(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"id": row["objectId"]}
    for key in ("name", "prefix", "readOnly"):
        out[key] = row[key]
    for key in ("expiresAt", "lastUsedAt", "createdAt"):
        out[key] = iso(row[key]) if row[key] is not None else None
    return out


def _token_params(params: dict[str, Any]) -> tuple[str, bool, datetime | None]:
    name = params.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > NAME_MAX:
        raise ParseError(errors.VALIDATION_ERROR, f"name is required (1 to {NAME_MAX} characters).")
    read_only = params.get("readOnly", False)
    if not isinstance(read_only, bool):
        raise ParseError(errors.INCORRECT_TYPE, "readOnly must be true or false.")
    days = params.get("expiresInDays")
    if days is None:
        return name.strip(), read_only, None
    if isinstance(days, bool) or not isinstance(days, (int, float)) or not 0 < days <= 3650:
        raise ParseError(errors.INCORRECT_TYPE, "expiresInDays must be a number of days between 0 and 3650.")
    return name.strip(), read_only, datetime.now(UTC) + timedelta(days=days)


def _backend(req: FunctionRequest) -> Backend:
    assert req.backend is not None, "the server sets the backend on every function request"
    return req.backend


def build(settings: Settings) -> Cloud:
    cloud = Cloud()
    cloud.on_startup(apply_schema)
    audit.register(cloud)

    @cloud.define("createApiToken")
    async def create_api_token(req: FunctionRequest) -> dict[str, Any]:
        """A new token for the signed-in user; the secret is in this answer only."""
        user_id = _session_user(req.caller)
        name, read_only, expires = _token_params(req.params)
        secret, row = await _backend(req).tokens.create(user_id, name, read_only, expires)
        return {**_listed(row), "token": secret}

    @cloud.define("listApiTokens")
    async def list_api_tokens(req: FunctionRequest) -> list[dict[str, Any]]:
        """The signed-in user's tokens, without secrets."""
        return [_listed(r) for r in await _backend(req).tokens.list(_session_user(req.caller))]

    @cloud.define("revokeApiToken")
    async def revoke_api_token(req: FunctionRequest) -> dict[str, Any]:
        """Revoke one of the signed-in user's tokens, effective at once everywhere."""
        token_id = req.params.get("id")
        if not isinstance(token_id, str):
            raise ParseError(errors.INVALID_JSON, "id (the token's id from listApiTokens) is required.")
        if not await _backend(req).tokens.revoke(_session_user(req.caller), token_id):
            raise ParseError(errors.OBJECT_NOT_FOUND, "No such token of yours.")
        return {"revoked": True}

    @cloud.define("undoAgentChange")
    async def undo_agent_change(req: FunctionRequest) -> dict[str, Any]:
        """Undo one write an agent made on the caller's behalf."""
        change_id = req.params.get("id")
        if not isinstance(change_id, str):
            raise ParseError(errors.INVALID_JSON, "id (the AgentChange objectId) is required.")
        if not req.caller.user_id and not req.caller.master:
            raise ParseError(errors.INVALID_SESSION_TOKEN, "Sign in to undo agent changes.")
        return await data.undo(_backend(req), req.caller, change_id, force=req.params.get("force") is True)

    @cloud.define("agentPrompt")
    async def agent_prompt(req: FunctionRequest) -> str:
        """The agent prompt rendered from the live schema (markdown)."""
        if not req.caller.user_id and not req.caller.master:
            raise ParseError(errors.INVALID_SESSION_TOKEN, "Sign in to read the agent prompt.")
        return await prompt.render(_backend(req))

    return cloud
