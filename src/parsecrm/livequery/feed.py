"""The change feed: every committed write of a live class becomes one event (class, row before, row after).

Capture is a PostgreSQL row trigger on each live class's table, so *every* writer is seen — the object path, Cloud
Code hooks, the CRM's raw-SQL rules, imports — with no code on the write path. The trigger sends the rows as
`pg_notify` inside the writing transaction; PostgreSQL delivers a NOTIFY only when its transaction commits, in
commit order, to every listening process, and never for a rolled-back one. A payload over NOTIFY's ~8000-byte
limit is stored in the UNLOGGED `_LiveSpill` table by the same transaction and the notification carries its id
(`#<id>`); each process reads a spilled event once, whatever its number of subscribers, and old rows are swept.

Bulk loads (`crm seed --scale`, `crm import`) set `parsecrm.live_capture = off` for their transaction: no events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from ..storage.model import ClassSchema, q

LIVE_CHANNEL = "parsecrm_live"
TRIGGER = "parsecrm_live"
SPILL_LIMIT = 7900  # bytes; NOTIFY refuses payloads of 8000 bytes or more
SETUP_LOCK = 0x6C697665  # advisory lock serialising trigger DDL between processes starting together

SETUP_SQL = f"""
CREATE UNLOGGED TABLE IF NOT EXISTS "_LiveSpill" (
    "id" bigserial PRIMARY KEY, "payload" text NOT NULL, "at" timestamptz NOT NULL DEFAULT now());
CREATE OR REPLACE FUNCTION parsecrm_live_capture() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    payload text;
    spilled bigint;
BEGIN
    IF current_setting('parsecrm.live_capture', true) = 'off' THEN
        RETURN NULL;
    END IF;
    payload := jsonb_build_object(
        'c', TG_TABLE_NAME,
        'o', CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) - '_hashed_password' - '_wperm' END,
        'n', CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) - '_hashed_password' - '_wperm' END)::text;
    IF octet_length(payload) > {SPILL_LIMIT} THEN
        INSERT INTO "_LiveSpill" ("payload") VALUES (payload) RETURNING "id" INTO spilled;
        payload := '#' || spilled;
    END IF;
    PERFORM pg_notify('{LIVE_CHANNEL}', payload);
    RETURN NULL;
END
$fn$;
"""


async def install(conn: asyncpg.Connection, classes: list[str]) -> set[str]:
    """Make exactly `classes` (those whose tables exist) publish events; returns the classes now capturing."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", SETUP_LOCK)
        await conn.execute(SETUP_SQL)
        rows = await conn.fetch(
            "SELECT c.relname AS name, EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = $2)"
            " AS has FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind = 'r' AND (c.relname = ANY($1::text[]) OR EXISTS "
            "(SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = $2))",
            classes,
            TRIGGER,
        )
        live: set[str] = set()
        for row in rows:
            name, has = row["name"], row["has"]
            if name in classes:
                live.add(name)
                if not has:
                    await conn.execute(
                        f"CREATE TRIGGER {TRIGGER} AFTER INSERT OR UPDATE OR DELETE ON {q(name)} "
                        "FOR EACH ROW EXECUTE FUNCTION parsecrm_live_capture()"
                    )
            elif has:  # no longer configured as live
                await conn.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON {q(name)}")
    return live


@dataclass(frozen=True)
class Change:
    """One committed write: the object before (None for a create) and after (None for a delete), in Parse JSON as
    the master key reads it, with each state's read principals (`_rperm`) beside it."""

    class_name: str
    old: dict[str, Any] | None
    new: dict[str, Any] | None
    old_rperm: tuple[str, ...]
    new_rperm: tuple[str, ...]


def _iso(value: str) -> str:
    """A timestamptz in to_jsonb's form → Parse's `YYYY-MM-DDTHH:MM:SS.mmmZ` (milliseconds, as the API shows)."""
    moment = datetime.fromisoformat(value).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _value(schema: ClassSchema, name: str, raw: Any) -> Any:
    f = schema.fields[name]
    if f.type == "Date":
        return {"__type": "Date", "iso": _iso(raw)}
    if f.type == "Pointer":
        if f.polymorphic:
            target, _, oid = raw.partition("$")
            return {"__type": "Pointer", "className": target, "objectId": oid}
        return {"__type": "Pointer", "className": f.target, "objectId": raw}
    if f.type == "GeoPoint":  # to_jsonb gives a point as its text "(x,y)": longitude first
        lng, _, lat = raw.strip("()").partition(",")
        return {"__type": "GeoPoint", "latitude": float(lat), "longitude": float(lng)}
    if f.type == "Bytes":
        return {"__type": "Bytes", "base64": raw}
    if f.type == "Polygon":
        return {"__type": "Polygon", "coordinates": raw}
    return raw


def row_to_object(schema: ClassSchema, row: dict[str, Any]) -> dict[str, Any]:
    """A table row (to_jsonb form) as the Parse JSON `query/project.row_json` makes of it for the master key."""
    out: dict[str, Any] = {
        "objectId": row["objectId"],
        "createdAt": _iso(row["createdAt"]),
        "updatedAt": _iso(row["updatedAt"]),
    }
    for name, f in schema.fields.items():
        if name in ("objectId", "createdAt", "updatedAt", "ACL") or (name == "password" and schema.name == "_User"):
            continue
        if f.type == "Relation":
            out[name] = {"__type": "Relation", "className": f.target}
            continue
        raw = row.get(name)
        if raw is not None:
            out[name] = _value(schema, name, raw)
    if row.get("_acl") is not None:
        out["ACL"] = row["_acl"]
    return out


def unknown_columns(schema: ClassSchema, row: dict[str, Any] | None) -> bool:
    """Whether the row has a column the cached schema does not know yet (a field added by the same write)."""
    return row is not None and any(not k.startswith("_") and k not in schema.fields for k in row)


def to_change(schema: ClassSchema, event: dict[str, Any]) -> Change:
    old, new = event.get("o"), event.get("n")
    return Change(
        schema.name,
        row_to_object(schema, old) if old else None,
        row_to_object(schema, new) if new else None,
        tuple(old.get("_rperm") or ()) if old else (),
        tuple(new.get("_rperm") or ()) if new else (),
    )
