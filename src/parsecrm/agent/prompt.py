"""The agent prompt and the data dictionary, rendered from the live schema (the process's SchemaCache), the
server's settings (deal stages, URLs) and the CRM's rules — so what an AI agent is told is what this server does.

Field meanings come from `DICTIONARY`; a field the deployment added (and the dictionary does not know) is still
listed, with its type, as a custom field. Nothing here is hand-maintained twice: types, pointer targets and the
list of classes are read from the schema on every render.
"""

from __future__ import annotations

from typing import Any

from ..backend import Backend
from ..storage.schema import ClassSchema, Field

CRM_CLASSES = ("_User", "Company", "Contact", "Deal", "Activity", "DealStageChange", "AgentChange")
SYSTEM_FIELDS = ("objectId", "createdAt", "updatedAt", "ACL")
ACTIVITY_TYPES = ("call", "email", "meeting", "note")
REQUIRED = {("Company", "name"), ("Contact", "name"), ("Deal", "title"), ("_User", "username"), ("_User", "password")}

DICTIONARY: dict[str, dict[str, str]] = {
    "_User": {
        "": "A person who signs in (Parse's built-in user class).",
        "username": "Sign-in name, unique.",
        "email": "E-mail address, unique; hidden from other users.",
        "password": "Write-only; stored as a bcrypt hash, never returned.",
    },
    "Company": {
        "": "An organisation you sell to.",
        "name": "Company name; trimmed.",
        "website": "Normalised to https://host (acme.com/ → https://acme.com).",
        "industry": "Free text.",
        "address": "Free text.",
        "notes": "Free text.",
        "createdBy": "The user who created it; set by the server from the session, cannot be changed.",
    },
    "Contact": {
        "": "A person at a company.",
        "name": "Full name; trimmed.",
        "email": "Lower-cased and validated (error 125 when malformed).",
        "phone": "Free text.",
        "title": "Job title.",
        "company": "The company they work for.",
        "notes": "Free text.",
        "createdBy": "Set by the server from the session, cannot be changed.",
    },
    "Deal": {
        "": "A sales opportunity moving through the pipeline stages.",
        "title": "Deal title; trimmed.",
        "amount": "Value, zero or more.",
        "stage": "One of the pipeline stages (default the first); every change is recorded in DealStageChange.",
        "contact": "Main contact.",
        "company": "The customer company.",
        "expectedCloseDate": "When the deal is expected to close; the pipeline view orders by it.",
        "notes": "Free text.",
        "assignedTo": "The rep who owns it (default: the creator); reassigning moves access to the new rep.",
        "closeReason": "Why the deal was won or lost.",
        "createdBy": "Set by the server from the session, cannot be changed.",
    },
    "Activity": {
        "": "A call, e-mail, meeting or note about a contact or a deal.",
        "type": "One of " + ", ".join(ACTIVITY_TYPES) + ".",
        "subject": "Short summary.",
        "description": "Details.",
        "dueDate": "When it is due.",
        "done": "Completed? Setting it true stamps completedAt; false clears it.",
        "completedAt": "Set by the server when done becomes true.",
        "relatedTo": "A Contact or a Deal the user can read.",
        "createdBy": "Set by the server from the session, cannot be changed.",
    },
    "DealStageChange": {
        "": "Pipeline history, written by the server on every stage change (read-only for clients).",
        "deal": "The deal.",
        "from": "Previous stage (empty for a new deal).",
        "to": "New stage.",
        "changedBy": "Who moved it.",
        "changedAt": "When.",
    },
    "AgentChange": {
        "": "Audit of writes made by AI agents with API tokens; readable by the token's user, undoable.",
        "action": "create, update or delete.",
        "targetClass": "Class of the object written.",
        "targetId": "objectId of the object written.",
        "fields": "The fields the agent sent.",
        "before": "The object before the write (as its user saw it).",
        "after": "The object after the write.",
        "tokenName": "Name of the API token used.",
        "tokenId": "Id of the API token used.",
        "user": "The user the agent acted for.",
        "summary": "“<action> <class> <id> via agent token <name> on behalf of <user>”.",
        "undoneAt": "When the user undid it.",
    },
}


def _type_text(f: Field) -> str:
    if f.polymorphic:
        return "Pointer to " + " or ".join(f.targets)
    if f.type in ("Pointer", "Relation") and f.target:
        return f"{f.type} to {f.target}"
    return f.type


def dictionary(schemas: dict[str, ClassSchema], stages: tuple[str, ...]) -> dict[str, Any]:
    """The data dictionary as JSON: class → description and fields (type, required, meaning)."""
    out: dict[str, Any] = {}
    for name in CRM_CLASSES:
        schema = schemas.get(name)
        if schema is None:
            continue
        meanings = DICTIONARY.get(name, {})
        fields: dict[str, Any] = {}
        known = [k for k in meanings if k and k in schema.fields]  # the dictionary's order, then custom fields
        for key in known + sorted(k for k in schema.fields if k not in meanings):
            f = schema.fields[key]
            if key in SYSTEM_FIELDS or key.startswith("_") or key in ("authData", "emailVerified"):
                continue
            entry: dict[str, Any] = {"type": _type_text(f), "meaning": meanings.get(key, "Custom field.")}
            if (name, key) in REQUIRED or f.required:
                entry["required"] = True
            if (name, key) == ("Deal", "stage"):
                entry["values"] = list(stages)
            if (name, key) == ("Activity", "type"):
                entry["values"] = list(ACTIVITY_TYPES)
            fields[key] = entry
        out[name] = {"description": meanings.get("", ""), "fields": fields}
    return out


def _class_line(i: int, name: str, spec: dict[str, Any]) -> str:
    parts = []
    for key, f in spec["fields"].items():
        bits = [f["type"]]
        if f.get("required"):
            bits.append("required")
        if "values" in f:
            bits.append("one of " + ", ".join(f["values"]))
        parts.append(f"{key} ({'; '.join(bits)})")
    return f"{i}. {name}: " + ", ".join(parts) + "; objectId, createdAt, updatedAt (system)."


SECURITY = """Security (enforced by the server on every path — REST, batch, GraphQL, MCP tools, Cloud Code):
- Every CRM class requires a signed-in user (class-level permission requiresAuthentication); anonymous calls get 101.
- Owner-based ACLs computed by the server, never by the client: a Company, Contact or Activity is readable and
  writable by its creator (createdBy) and the role Managers; a Deal by its creator, its assignee (assignedTo) and
  Managers; an Activity on your deal is readable by you. Reassigning a deal moves its access (and its activities').
- Role Admins inherits Managers. Users are private (readable by themselves and managers; e-mails hidden).
- Clients cannot change createdBy, ACLs of others' objects or the schema; writes to objects you cannot write get 101.
- Per-user API tokens (Authorization: Bearer …) act exactly as their user; read-only tokens cannot write (119)."""


def _behaviour(stages: tuple[str, ...]) -> str:
    return f"""Behaviour:
- Full CRUD for Company, Contact, Deal and Activity (Parse REST under the mount path, or any Parse SDK).
- Pipeline view: deals filtered by stage, ordered by expectedCloseDate or updatedAt (stages: {", ".join(stages)}).
- Activities listed by relatedTo (a Contact or a Deal), ordered by dueDate.
- Deleting a contact or deal with activities is refused (142) unless the request context is {{"cascade": true}}.
- Cloud function pipelineSummary: per stage count, amount, weighted amount, average days in stage; win rate.
- Stage history: every Deal stage change writes a DealStageChange row in the same transaction."""


async def render(backend: Backend) -> str:
    """The seed-style agent prompt, from the live schema and settings."""
    s = backend.settings
    spec = dictionary(await backend.schemas.all(), s.deal_stages)
    classes = "\n".join(_class_line(i, name, c) for i, (name, c) in enumerate(spec.items(), 1))
    base = s.server_url
    origin = base[: -len(s.mount_path)] if base.endswith(s.mount_path) else base
    return f"""# Agent prompt: a CRM app on this server

Create a CRM app against this running Parse-compatible server with this exact schema and behaviour.
The backend already exists — do not create classes or change permissions; build the frontend (or an
integration) on the API below.

API: Parse REST at {base} (application id "{s.app_id}"; header X-Parse-Application-Id), or the official
Parse JavaScript SDK: Parse.initialize("{s.app_id}"); Parse.serverURL = "{base}".
Auth: sign-up (username, email, password) via POST /users, log-in via POST /login, log-out via POST /logout;
send X-Parse-Session-Token on every call. Errors are JSON {{"code": N, "error": "…"}} with Parse's codes.

Schema:
{classes}

{SECURITY}

{_behaviour(s.deal_stages)}

MCP (for assistants working in the CRM as a user): streamable HTTP at {origin}/mcp with
Authorization: Bearer <API token>, or stdio with `crm mcp --token <API token>`. Create tokens with the cloud
function createApiToken (from a signed-in session); every agent write is recorded in AgentChange and undoable.

Deliver: a runnable app that signs users in, lists and edits companies, contacts, deals (pipeline board by stage)
and activities, respecting the errors above.
"""
