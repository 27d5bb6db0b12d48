"""Apply the CRM schema (schema.json) at start-up: additive and idempotent.

Missing classes, fields, indexes and roles are created; class-level permissions are set to the file's. Nothing is
dropped or retyped here — removing a field is `crm schema drop-field Class field`, on purpose.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from ..backend import Backend
from ..security.caller import MASTER
from ..storage.cache import STARTUP_LOCK
from ..storage.pool import NO_TIMEOUT


def load() -> dict[str, Any]:
    return json.loads(resources.files("parsecrm.crm").joinpath("schema.json").read_text())


def clp_for(spec: dict[str, Any], class_name: str) -> dict[str, Any]:
    clps = spec["classLevelPermissions"]
    return clps.get(class_name) or clps["default"]


async def apply(backend: Backend) -> None:
    spec = load()
    async with backend.pool.acquire() as conn, conn.transaction():
        await conn.execute(NO_TIMEOUT)
        # one process at a time: several workers start together
        await conn.execute("SELECT pg_advisory_xact_lock($1)", STARTUP_LOCK)
        for name in ("_User", "_Role"):
            await backend.schemas.ensure_class(name, {}, clp_for(spec, name), None, conn=conn)
        for cls in spec["classes"]:
            await backend.schemas.ensure_class(
                cls["className"], cls["fields"], clp_for(spec, cls["className"]), cls.get("indexes"), conn=conn
            )
    backend.schemas.invalidate()
    await ensure_roles(backend, spec["roles"])


async def ensure_roles(backend: Backend, names: list[str]) -> None:
    """Admins and Managers exist; Admins is in Managers' `roles`, so admins hold role:Managers too."""
    from .. import objects

    ids: dict[str, str] = {}
    for name in names:
        found = await objects.query_json(backend, MASTER, "_Role", {"where": {"name": name}, "limit": 1})
        if found:
            ids[name] = found[0]["objectId"]
            continue
        acl = {"role:Admins": {"read": True, "write": True}, "*": {"read": True}}
        try:
            created = await objects.create(backend, MASTER, "_Role", {"name": name, "ACL": acl})
            ids[name] = created["objectId"]
        except Exception:  # another worker created it first
            found = await objects.query_json(backend, MASTER, "_Role", {"where": {"name": name}, "limit": 1})
            ids[name] = found[0]["objectId"]
    if "Admins" in ids and "Managers" in ids:
        linked = await backend.pool.fetchval(
            'SELECT EXISTS (SELECT 1 FROM "_Join:roles:_Role" WHERE "owningId" = $1 AND "relatedId" = $2)',
            ids["Managers"],
            ids["Admins"],
        )
        if linked:  # already there: a start-up must not rewrite the role (and flush every server's role cache)
            return
        pointer = {"__type": "Pointer", "className": "_Role", "objectId": ids["Admins"]}
        await objects.update(
            backend, MASTER, "_Role", ids["Managers"], {"roles": {"__op": "AddRelation", "objects": [pointer]}}
        )
