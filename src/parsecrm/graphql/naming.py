"""Names and ids as parse-server's GraphQL API spells them: types, query fields, Relay global ids, cursors."""

from __future__ import annotations

import base64
import binascii
import re
from functools import cache

from .. import errors
from ..errors import ParseError

GRAPHQL_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]*$")
CURSOR_PREFIX = "arrayconnection:"
# Irregular plurals first; then the English endings parse-server's `pluralize` handles for the usual class names.
_PLURAL_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?i)(person)$"), "people"),
    (re.compile(r"(?i)([^aeiou])y$"), r"\1ies"),
    (re.compile(r"(?i)(s|x|z|ch|sh)$"), r"\1es"),
    (re.compile(r"(?i)(misc|info|data|news)$"), r"\1s"),
]


@cache
def type_name(class_name: str) -> str:
    """`_User` → `User`, `deal` → `Deal`."""
    bare = class_name[1:] if class_name.startswith("_") else class_name
    return bare[:1].upper() + bare[1:]


def lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


def pluralize(word: str) -> str:
    for pattern, replacement in _PLURAL_RULES:
        if pattern.search(word):
            return pattern.sub(replacement, word)
    return word + "s"


def get_field(class_name: str) -> str:
    return lower_first(type_name(class_name))


def find_field(class_name: str) -> str:
    return pluralize(get_field(class_name))


def to_global_id(type_: str, object_id: str) -> str:
    return base64.b64encode(f"{type_}:{object_id}".encode()).decode()


def from_global_id(value: str) -> tuple[str, str] | None:
    """`(type, objectId)` for a Relay global id, None for a plain objectId."""
    try:
        decoded = base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    type_, sep, object_id = decoded.partition(":")
    if not sep or not object_id or not GRAPHQL_NAME.match(type_):
        return None
    return type_, object_id


def object_id_of(value: str, expected_type: str | None) -> str:
    """Accept either form (as parse-server does); a global id of another type is an error, not a silent miss."""
    found = from_global_id(value)
    if found is None:
        return value
    type_, object_id = found
    if expected_type is not None and type_ != expected_type:
        raise ParseError(errors.INVALID_POINTER, f"id {value[:60]} is a {type_}, expected a {expected_type}")
    return object_id


def offset_to_cursor(offset: int) -> str:
    return base64.b64encode(f"{CURSOR_PREFIX}{offset}".encode()).decode()


def cursor_to_offset(cursor: str) -> int:
    try:
        text = base64.b64decode(cursor, validate=True).decode()
        if text.startswith(CURSOR_PREFIX):
            return max(int(text[len(CURSOR_PREFIX) :]), 0)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise ParseError(errors.INVALID_QUERY, "invalid cursor")
