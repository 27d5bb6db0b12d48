"""/config, /health, /serverInfo, /events."""

from __future__ import annotations

from typing import Any

from .. import __version__, errors
from ..backend import CONFIG_CHANNEL, Backend
from ..errors import ParseError
from ..objects import Unit
from ..values import decode, encode
from .reply import Reply
from .transport import Call


async def _load(backend: Backend) -> dict[str, Any]:
    if backend.config_cache is None:
        row = await backend.pool.fetchrow(
            'SELECT "params", "masterKeyOnly" FROM "_GlobalConfig" WHERE "objectId" = \'1\''
        )
        backend.config_cache = {
            "params": row["params"] if row else {},
            "masterKeyOnly": row["masterKeyOnly"] if row else {},
        }
    return backend.config_cache


async def get_config(backend: Backend, call: Call, unit: Unit | None) -> Reply:
    config = await _load(backend)
    params: dict[str, Any] = config["params"]
    hidden: dict[str, Any] = config["masterKeyOnly"]
    if call.caller.can_read_all:
        return Reply({"params": params, "masterKeyOnly": hidden})
    return Reply({"params": {k: v for k, v in params.items() if not hidden.get(k)}})


async def put_config(backend: Backend, call: Call, unit: Unit | None) -> Reply:
    if not call.caller.master:
        raise ParseError(errors.OPERATION_FORBIDDEN, "unauthorized: master key is required", status=403)
    body = call.body if isinstance(call.body, dict) else {}
    params = body.get("params") or {}
    hidden = body.get("masterKeyOnly") or {}
    if not isinstance(params, dict) or not isinstance(hidden, dict):
        raise ParseError(errors.INVALID_JSON, "params and masterKeyOnly must be objects")
    params = {k: encode(decode(v)) for k, v in params.items()}
    async with backend.pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            'SELECT "params", "masterKeyOnly" FROM "_GlobalConfig" WHERE "objectId" = \'1\' FOR UPDATE'
        )
        merged = dict(row["params"]) if row else {}
        merged_hidden = dict(row["masterKeyOnly"]) if row else {}
        for key, value in params.items():
            if isinstance(value, dict) and value.get("__op") == "Delete":
                merged.pop(key, None)
                merged_hidden.pop(key, None)
            else:
                merged[key] = value
        merged_hidden.update({k: bool(v) for k, v in hidden.items() if k in merged})
        await conn.execute(
            'INSERT INTO "_GlobalConfig" ("objectId", "params", "masterKeyOnly") VALUES (\'1\', $1, $2) '
            'ON CONFLICT ("objectId") DO UPDATE SET "params" = $1, "masterKeyOnly" = $2',
            merged,
            merged_hidden,
        )
        await conn.execute("SELECT pg_notify($1, '')", CONFIG_CHANNEL)
    backend.config_cache = None
    return Reply({"result": True})


async def health(backend: Backend, call: Call | None, unit: Unit | None) -> Reply:
    return Reply({"status": "ok"})


async def server_info(backend: Backend, call: Call, unit: Unit | None) -> Reply:
    if not call.caller.can_read_all:
        raise ParseError(errors.OPERATION_FORBIDDEN, "unauthorized: master key is required", status=403)
    return Reply(
        {
            "parseServerVersion": "9.0.0-compatible",
            "serverVersion": __version__,
            "features": {
                "globalConfig": {"create": True, "read": True, "update": True, "delete": True},
                "hooks": {"create": False, "read": False, "update": False, "delete": False},
                "cloudCode": {"jobs": True},  # jobs.py
                "logs": {"level": False, "size": False, "order": False, "until": False, "from": False},
                "push": {
                    "immediatePush": False,
                    "scheduledPush": False,
                    "storedPushData": False,
                    "pushAudiences": False,
                    "localization": False,
                },
                "schemas": {
                    "addField": True,
                    "removeField": True,
                    "addClass": True,
                    "removeClass": True,
                    "clearAllDataFromClass": True,
                    "exportClass": False,
                    "editClassLevelPermissions": True,
                    "editPointerPermissions": True,
                },
            },
        }
    )


async def event(backend: Backend, call: Call, unit: Unit | None, name: str) -> Reply:
    return Reply({})
