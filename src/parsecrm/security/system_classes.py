"""Default class-level permissions of the system classes, and the `_Installation` class parse-server always has.

Applied at start-up to a system class that has no CLP yet (a CLP set by the operator or the CRM's schema is never
overwritten). What they add to parse-server's permissive defaults:
- `_Installation`: clients may register (create), read and update their own installation by id, but never list or
  delete installations (parse-server's `enforceRoleSecurity` refuses find and delete with 119).
- `_Session`: creating sessions is the server's job (sign-up, log-in); `Policy.check` already narrows every
  other operation to the caller's own sessions.
Which keys of these classes a client may write is `changes.SYSTEM_KEYS`; that only the master key adds fields to a
system class (issue 8, item 6) is `Policy.check`'s rule, whatever the CLP says.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the Backend calls apply() while opening; importing it here would be a cycle
    from ..backend import Backend

EVERYONE: dict[str, Any] = {"*": True}
MASTER_ONLY: dict[str, Any] = {}


def _clp(**ops: dict[str, Any]) -> dict[str, Any]:
    base = {op: EVERYONE for op in ("find", "count", "get", "create", "update", "delete")}
    return {**base, "addField": EVERYONE, **ops}


SYSTEM_CLPS: dict[str, dict[str, Any]] = {
    "_User": _clp(),
    "_Role": _clp(),
    "_Session": _clp(create=MASTER_ONLY),
    "_Installation": _clp(find=MASTER_ONLY, count=MASTER_ONLY, delete=MASTER_ONLY),
}

# parse-server's default `_Installation` columns (SchemaController.defaultColumns._Installation)
INSTALLATION_FIELDS: dict[str, dict[str, Any]] = {
    "installationId": {"type": "String"},
    "deviceToken": {"type": "String"},
    "channels": {"type": "Array"},
    "deviceType": {"type": "String"},
    "pushType": {"type": "String"},
    "GCMSenderId": {"type": "String"},
    "timeZone": {"type": "String"},
    "localeIdentifier": {"type": "String"},
    "badge": {"type": "Number"},
    "appVersion": {"type": "String"},
    "appName": {"type": "String"},
    "appIdentifier": {"type": "String"},
    "parseVersion": {"type": "String"},
}


async def apply(backend: Backend) -> None:
    for name, clp in SYSTEM_CLPS.items():
        current = await backend.schemas.get(name)
        fields = INSTALLATION_FIELDS if name == "_Installation" else {}
        missing = [k for k in fields if current is None or k not in current.fields]
        if current is not None and current.clp is not None and not missing:
            continue
        keep = current.clp if current is not None and current.clp is not None else clp
        await backend.schemas.ensure_class(name, {k: fields[k] for k in missing}, keep)
    # Leave the cache cold, as start-up always did: the first request loads it fresh, so a class another process
    # created meanwhile is seen even before that process's NOTIFY arrives.
    backend.schemas.invalidate()
