"""The agent prompt and the data dictionary, rendered from the live schema (the process's SchemaCache), the
server's settings (deal stages, URLs) and the CRM's rules — so what an AI agent is told is what this server does.

Field meanings are the ones the reference pages show (`crm/schema.json`'s descriptions, via `reference.model`); a
field a deployment added is still listed, with its type, as a custom field. Types, pointer targets, required flags
and the deal stages are read from the live schema and settings on every render; nothing is kept twice.
"""

from __future__ import annotations

from typing import Any

from ..backend import Backend
from ..crm import setup as crm_setup
from ..crm.rules import ACTIVITY_TYPES
from ..reference import model
from ..storage.model import Field

CRM_CLASSES = ("_User", "Company", "Contact", "Deal", "Activity", "DealStageChange", "AgentChange")
HIDDEN_FIELDS = frozenset({"objectId", "createdAt", "updatedAt", "ACL", "authData", "emailVerified"})
REQUIRED = {("_User", "username"), ("_User", "password")}  # sign-up requires them (the schema does not say so)


def _type_text(f: Field) -> str:
    if f.polymorphic:
        return "Pointer to " + " or ".join(f.targets)
    if f.type in ("Pointer", "Relation") and f.target:
        return f"{f.type} to {f.target}"
    return f.type


def _field_order() -> dict[str, list[str]]:
    """Each class's fields in the order crm/schema.json lists them (the live schema keeps no order)."""
    spec = crm_setup.load()
    order = {c["className"]: list(c["fields"]) for c in spec["classes"]}
    for name, extra in spec.get("descriptions", {}).items():
        order.setdefault(name, list(extra.get("fields", {})))
    return order


def _values(name: str, key: str, stages: tuple[str, ...]) -> list[str] | None:
    if (name, key) == ("Deal", "stage"):
        return list(stages)
    if (name, key) == ("Activity", "type"):
        return list(ACTIVITY_TYPES)
    return None


async def dictionary(backend: Backend) -> dict[str, Any]:
    """The data dictionary as JSON: class → description and fields (type, meaning, allowed values, required).
    Meanings are the reference pages' (crm/schema.json's descriptions); fields and types are the live schema's, so
    a field a deployment added appears too."""
    docs = {d.schema.name: d for d in await model.classes(backend)}
    order = _field_order()
    out: dict[str, Any] = {}
    for name in CRM_CLASSES:
        doc = docs.get(name)
        if doc is None:
            continue
        listed = [k for k in order.get(name, []) if k in doc.schema.fields]
        fields: dict[str, Any] = {}
        for key in listed + sorted(k for k in doc.schema.fields if k not in listed):
            f = doc.schema.fields[key]
            if key in HIDDEN_FIELDS or key.startswith("_"):
                continue
            entry: dict[str, Any] = {"type": _type_text(f), "meaning": doc.fields.get(key) or "Custom field."}
            if f.required or (name, key) in REQUIRED:
                entry["required"] = True
            values = _values(name, key, backend.settings.deal_stages)
            if values:
                entry["values"] = values
            fields[key] = entry
        out[name] = {"description": doc.description, "fields": fields}
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
    spec = await dictionary(backend)
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
