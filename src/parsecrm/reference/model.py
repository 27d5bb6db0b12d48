"""What every reference artefact is drawn from: the live class schemas, plus the descriptions kept next to the CRM's
schema (`crm/schema.json`), plus the class-level permissions said in plain words."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from ..backend import Backend
from ..storage.model import CLP_OPERATIONS, ClassSchema, Field, describe

INTERNAL = {"_Idempotency", "_SCHEMA"}


@dataclass
class ClassDoc:
    schema: ClassSchema
    description: str
    fields: dict[str, str]  # field → description


@cache
def _descriptions() -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    from ..crm.setup import load

    spec = load()
    classes = {c["className"]: c.get("description", "") for c in spec["classes"]}
    fields = {c["className"]: {k: v.get("description", "") for k, v in c["fields"].items()} for c in spec["classes"]}
    for name, extra in spec.get("descriptions", {}).items():
        if extra.get("description"):
            classes[name] = extra["description"]
        fields.setdefault(name, {}).update(extra.get("fields", {}))
    return classes, fields


async def classes(backend: Backend) -> list[ClassDoc]:
    live = await backend.schemas.all()
    class_text, field_text = _descriptions() if backend.settings.crm_enabled else ({}, {})
    common = field_text.get("*", {})
    out = []
    for name in sorted(live, key=lambda n: (n.startswith("_"), n)):
        if name in INTERNAL:
            continue
        own = field_text.get(name, {})
        texts = {k: own.get(k) or common.get(k, "") for k in live[name].fields}
        out.append(ClassDoc(live[name], class_text.get(name, ""), texts))
    return out


def field_type(f: Field) -> str:
    return describe(f)


def _who(rule: Any) -> str:
    if not isinstance(rule, dict) or not rule:
        return "master key only"
    parts = []
    if rule.get("*"):
        parts.append("anyone")
    if rule.get("requiresAuthentication"):
        parts.append("signed-in users")
    parts += [k[5:] + " role" for k in rule if k.startswith("role:")]
    parts += [f"users in {v}" for v in rule.get("pointerFields", [])]
    parts += ["user " + k for k in rule if k not in ("*", "requiresAuthentication", "pointerFields") and ":" not in k]
    return ", ".join(parts) or "master key only"


def permissions(schema: ClassSchema) -> dict[str, str]:
    """Each operation → who may do it, by the class-level permission (object ACLs narrow it further)."""
    clp = schema.effective_clp()
    out = {op: _who(clp.get(op)) for op in CLP_OPERATIONS}
    hidden = clp.get("protectedFields") or {}
    if any(hidden.values()):
        out["protectedFields"] = "; ".join(f"{', '.join(v)} hidden from {k}" for k, v in hidden.items() if v)
    return out
