"""Parse JSON values ⇄ Python values.

Dates become aware `datetime`s, pointers become `Pointer`s; everything else (numbers, strings, booleans, Object and
Array contents) stays plain JSON. Hooks, the storage layer and the wire all use these forms.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from . import errors
from .errors import ParseError

FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
CLASS_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
SYSTEM_CLASSES = frozenset({"_User", "_Role", "_Session", "_Installation", "_JobStatus", "_JobSchedule"})

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")  # an email address, as users and invitations accept it


@dataclass(frozen=True, slots=True)
class Pointer:
    class_name: str
    object_id: str

    def to_json(self) -> dict[str, str]:
        return {"__type": "Pointer", "className": self.class_name, "objectId": self.object_id}


def now_ms() -> datetime:
    """The current time at Parse's precision (milliseconds), so a stored timestamp equals its wire form."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def iso(dt: datetime) -> str:
    """Parse's date format: UTC, milliseconds, a `Z` suffix."""
    if dt.utcoffset():
        dt = dt.astimezone(UTC)
    return dt.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


@lru_cache(maxsize=4096)
def parse_iso_or_none(text: str) -> datetime | None:
    """An ISO 8601 date (UTC when it names no zone) as an instant in UTC, or None when it is not one — also when
    it lies outside years 1-9999 once shifted to UTC (`0001-01-01T00:00:00+14:00`)."""
    text = text.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(text)
        return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def parse_iso(value: Any) -> datetime:
    """A date a client sent, or 111."""
    found = parse_iso_or_none(value) if isinstance(value, str) else None
    if found is None:
        raise ParseError(errors.INCORRECT_TYPE, f"invalid date: {str(value)[:40]}")
    return found


def valid_class_name(name: Any) -> bool:
    return isinstance(name, str) and (name in SYSTEM_CLASSES or bool(CLASS_NAME.match(name))) and len(name) <= 100


def check_class_name(name: Any, code: int = errors.INVALID_CLASS_NAME) -> str:
    """Object routes answer 107 for a malformed class name, as parse-server does; schema routes answer 103."""
    if not valid_class_name(name):
        raise ParseError(code, f"Invalid class name: {str(name)[:100]}")
    return name


def check_field_name(name: Any) -> str:
    if not isinstance(name, str) or not FIELD_NAME.match(name) or len(name) > 100:
        raise ParseError(errors.INVALID_KEY_NAME, f"Invalid field name: {str(name)[:100]}.")
    return name


def decode(value: Any, *, stored: bool = False) -> Any:
    """Wire JSON → Python: `{"__type":"Date"}` → datetime, Pointer/Object → Pointer; containers recursively.
    `stored`: the value is about to be saved, where nested keys with '.' are refused (they could not be queried)."""
    if isinstance(value, dict):
        kind = value.get("__type")
        if kind == "Date":
            return parse_iso(value.get("iso"))
        if kind in ("Pointer", "Object"):
            cls, oid = value.get("className"), value.get("objectId")
            if not isinstance(cls, str) or not isinstance(oid, str):
                raise ParseError(errors.INVALID_POINTER, "Pointer needs className and objectId")
            return Pointer(cls, oid)
        if kind == "GeoPoint":
            return geo_point(value)
        if kind == "Bytes":
            if not isinstance(value.get("base64"), str) or not value["base64"]:
                raise ParseError(errors.INCORRECT_TYPE, "This is not a valid Bytes")
            return {"__type": "Bytes", "base64": value["base64"]}
        if kind == "Polygon":
            return polygon(value)
        if kind is not None and kind not in ("Relation", "File"):
            raise ParseError(errors.INCORRECT_TYPE, f"Unknown __type: {str(kind)[:40]}")
        for key in value:
            if key in ("__proto__", "constructor") or key.startswith("$") or (stored and "." in key):
                raise ParseError(
                    errors.INVALID_NESTED_KEY, f"Nested keys should not contain the '$' or '.' characters: {key[:40]}"
                )
        return {k: decode(v, stored=stored) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v, stored=stored) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        raise ParseError(errors.INCORRECT_TYPE, "numbers must be finite")
    return value


def valid_lat_lng(latitude: Any, longitude: Any) -> str | None:
    """Why (latitude, longitude) is no point on Earth (the SDK's `GeoPoint._validate` messages), or None."""
    for v in (latitude, longitude):
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
            return "GeoPoint latitude and longitude must be valid numbers"
    if latitude < -90.0:
        return f"GeoPoint latitude out of bounds: {latitude} < -90.0."
    if latitude > 90.0:
        return f"GeoPoint latitude out of bounds: {latitude} > 90.0."
    if longitude < -180.0:
        return f"GeoPoint longitude out of bounds: {longitude} < -180.0."
    if longitude > 180.0:
        return f"GeoPoint longitude out of bounds: {longitude} > 180.0."
    return None


def geo_point(value: Any, code: int = errors.INCORRECT_TYPE) -> dict[str, Any]:
    """A `{"__type":"GeoPoint"}` value, normalised to exactly its three keys with float coordinates, or `code`."""
    if not isinstance(value, dict) or value.get("latitude") is None or value.get("longitude") is None:
        raise ParseError(code, "This is not a valid GeoPoint")
    problem = valid_lat_lng(value["latitude"], value["longitude"])
    if problem:
        raise ParseError(code, problem)
    return {"__type": "GeoPoint", "latitude": float(value["latitude"]), "longitude": float(value["longitude"])}


def polygon(value: dict[str, Any]) -> dict[str, Any]:
    """A `{"__type":"Polygon","coordinates":[[lat, lng], …]}` value, its ring closed (the first vertex repeated at
    the end) as parse-server stores it; at least 3 distinct vertices."""
    coords = value.get("coordinates")
    if not isinstance(coords, list) or len(coords) < 3:
        raise ParseError(errors.INVALID_JSON, "Polygon must have at least 3 values")
    ring: list[list[float]] = []
    for pair in coords:
        if not isinstance(pair, list) or len(pair) != 2:
            raise ParseError(errors.INCORRECT_TYPE, "Polygon coordinates must be [latitude, longitude] pairs")
        problem = valid_lat_lng(pair[0], pair[1])
        if problem:
            raise ParseError(errors.INCORRECT_TYPE, problem)
        ring.append([float(pair[0]), float(pair[1])])
    if ring[0] != ring[-1]:
        ring.append(ring[0])
    if len({(a, b) for a, b in ring}) < 3:
        raise ParseError(errors.INVALID_JSON, "GeoJSON: Loop must have at least 3 different vertices")
    return {"__type": "Polygon", "coordinates": ring}


def encode(value: Any) -> Any:
    """Python → wire JSON (the inverse of `decode`)."""
    if isinstance(value, datetime):
        return {"__type": "Date", "iso": iso(value)}
    if isinstance(value, Pointer):
        return value.to_json()
    if isinstance(value, dict):
        if "__type" in value and value.get("__type") == "Object":
            return value
        return {k: encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    return value


def type_of(value: Any) -> str | None:
    """The schema type a decoded value implies (None for null)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, (int, float)):
        return "Number"
    if isinstance(value, str):
        return "String"
    if isinstance(value, datetime):
        return "Date"
    if isinstance(value, Pointer):
        return "Pointer"
    if isinstance(value, list):
        return "Array"
    if isinstance(value, dict):
        kind = value.get("__type")
        if isinstance(kind, str):
            return kind
        return "Object"
    return "Object"
