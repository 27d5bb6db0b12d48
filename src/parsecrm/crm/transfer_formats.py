"""The files `crm import` reads (transfer.py): this tool's JSON and CSV, Parse/Back4app dashboard exports and raw
MongoDB documents of a parse-server database (one document or JSON lines), turned into REST-format objects."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from .. import errors
from ..errors import ParseError
from ..storage.model import ClassSchema, Field
from ..values import Pointer, iso, parse_iso

JOIN_COLONS = (":", "\ua789")  # a relation file's name: _Join<colon><field><colon><Class> (Windows-safe colon too)
HASH = "_hashed_password"


def find_source(directory: Path, name: str) -> Path | None:
    """The file holding `name` (a class or join table): JSON first, then JSON lines, then CSV."""
    stems = {name.replace(":", colon) for colon in JOIN_COLONS}
    for ext in ("json", "jsonl", "ndjson", "csv"):
        for stem in sorted(stems):
            path = directory / f"{stem}.{ext}"
            if path.is_file():
                return path
    return None


def read_json_rows(path: Path) -> list[Any]:
    """`{"results": [...]}`, `{"rows": [...]}`, a bare array, or one document per line (mongoexport's default)."""
    data = path.read_bytes()
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError:
        try:
            return [orjson.loads(line) for line in data.splitlines() if line.strip()]
        except orjson.JSONDecodeError as exc:
            raise ParseError(errors.INVALID_JSON, f"{path.name} is neither JSON nor JSON lines: {exc}") from exc
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        for key in ("results", "rows"):
            if isinstance(doc.get(key), list):
                return doc[key]
        return [doc]  # a JSON-lines file holding a single document
    raise ParseError(errors.INVALID_JSON, f"{path.name} holds no objects")


def iter_json_rows(path: Path) -> Iterator[Any]:
    """The objects of a JSON file, one line at a time when the file has one object per line (this tool's export,
    mongoexport's JSON lines), so a large class never sits in memory as one parsed document."""
    with path.open("rb") as fh:
        first = fh.readline()
        streamed = first.strip() == b'{"results":['  # exactly what _export_json writes
        try:
            doc = None if streamed else orjson.loads(first)
        except orjson.JSONDecodeError:
            doc = None
        listing = isinstance(doc, dict) and any(isinstance(doc.get(k), list) for k in ("results", "rows"))
        if streamed or (isinstance(doc, dict) and not listing):
            if doc is not None:
                yield doc
            for number, line in enumerate(fh, start=2):
                text = line.strip().removesuffix(b",")
                if text in (b"", b"]}"):
                    continue
                try:
                    yield orjson.loads(text)
                except orjson.JSONDecodeError as exc:
                    raise ParseError(errors.INVALID_JSON, f"{path.name} line {number}: {exc}") from exc
            return
    yield from read_json_rows(path)  # one document over many lines (a dashboard's pretty JSON), or a listing


def iter_csv_rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        yield from csv.DictReader(fh)


def ejson(value: Any) -> Any:
    """MongoDB extended JSON → Parse JSON: `{"$date"}` → a Parse Date, `{"$numberInt"}` and kin → numbers."""
    if isinstance(value, list):
        return [ejson(v) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, inner),) = value.items()
        if key == "$date":
            return {"__type": "Date", "iso": _ejson_date(inner)}
        if key in ("$numberInt", "$numberLong"):
            return int(inner)
        if key in ("$numberDouble", "$numberDecimal"):
            return float(inner)
        if key == "$oid":
            return str(inner)
    return {k: ejson(v) for k, v in value.items()}


def _ejson_date(value: Any) -> str:
    if isinstance(value, dict) and "$numberLong" in value:
        value = int(value["$numberLong"])
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return iso(datetime.fromtimestamp(value / 1000, UTC))
    return iso(parse_iso(value))


def is_mongo(doc: dict[str, Any]) -> bool:
    return "_id" in doc or "_created_at" in doc or any(k.startswith("_p_") for k in doc)


def from_mongo(doc: dict[str, Any]) -> dict[str, Any]:
    """A parse-server MongoDB document → the REST object it stands for (hash kept under `_hashed_password`)."""
    out: dict[str, Any] = {}
    perms: dict[str, list[str]] = {}
    stored_acl: dict[str, Any] | None = None
    for key, raw in doc.items():
        value = ejson(raw)
        if key == "_id":
            out["objectId"] = value
        elif key in ("_created_at", "_updated_at"):
            out["createdAt" if key == "_created_at" else "updatedAt"] = value
        elif key.startswith("_p_"):
            if isinstance(value, str) and "$" in value:
                cls, _, oid = value.partition("$")
                out[key[3:]] = Pointer(cls, oid).to_json()
        elif key in ("_rperm", "_wperm") and isinstance(value, list):
            perms[key] = [p for p in value if isinstance(p, str)]
        elif key == "_acl" and isinstance(value, dict):
            stored_acl = {
                p: {"read": bool(e.get("r")), "write": bool(e.get("w"))}
                for p, e in value.items()
                if isinstance(e, dict)
            }
        elif key == HASH:
            out[HASH] = value
        elif key.startswith("_auth_data_"):
            out.setdefault("authData", {})[key[len("_auth_data_") :]] = value
        elif not key.startswith("_"):  # other underscore keys are parse-server internals (tokens, lock-outs…)
            out[key] = value
    if perms:  # _rperm/_wperm are what parse-server enforces; _acl only mirrors them
        acl: dict[str, dict[str, bool]] = {}
        for p in perms.get("_rperm", []):
            acl.setdefault(p, {})["read"] = True
        for p in perms.get("_wperm", []):
            acl.setdefault(p, {})["write"] = True
        out["ACL"] = acl
    elif stored_acl is not None:
        out["ACL"] = stored_acl
    return out


def from_csv(schema: ClassSchema, row: dict[str, Any]) -> dict[str, Any]:
    """A CSV row of this tool's export → a REST object, typed by the class schema (an empty cell is no value)."""
    out: dict[str, Any] = {}
    for key, text in row.items():
        if not isinstance(key, str) or not isinstance(text, str) or text == "":
            continue
        if key in ("objectId", "createdAt", "updatedAt", HASH):
            out[key] = text
        elif key == "ACL":
            out[key] = _json_cell(key, text)
        else:
            out[key] = _csv_value(schema.fields.get(key), key, text)
    return out


def _json_cell(key: str, text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ParseError(errors.INVALID_JSON, f"{key} is not valid JSON: {text[:60]}") from exc


def _csv_value(f: Field | None, key: str, text: str) -> Any:
    if f is None or f.type == "String":
        return text
    if f.type == "Number":
        try:
            number = float(text)
        except ValueError as exc:
            raise ParseError(errors.INCORRECT_TYPE, f"{key} must be a number, not {text[:40]}") from exc
        return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number
    if f.type == "Boolean":
        if text.lower() in ("true", "1", "yes"):
            return True
        if text.lower() in ("false", "0", "no"):
            return False
        raise ParseError(errors.INCORRECT_TYPE, f"{key} must be true or false, not {text[:40]}")
    if f.type == "Date":
        return {"__type": "Date", "iso": text}
    if f.type == "Pointer":
        cls, sep, oid = text.partition("$")
        if f.polymorphic:
            if not sep:
                raise ParseError(errors.INVALID_POINTER, f"{key} must be Class$objectId, not {text[:40]}")
            return Pointer(cls, oid).to_json()
        return Pointer(f.target or "", text).to_json()
    return _json_cell(key, text)  # Object, Array
