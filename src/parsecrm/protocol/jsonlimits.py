"""JSON from clients, decoded with limits: every body, query-string value and context header goes through `loads`.

Why at decode time: the server's own walkers (value decoding, the `where` compiler, orjson's encoder, which stops at
255 levels) recurse once per nesting level, so a 900-level body used to end as a RecursionError — a 500 and a
180 KB traceback per request. Refusing depth here, before any of them runs, keeps every later stage inside a
known bound. The size limits are the body limit (`PARSE_MAX_BODY_BYTES`, enforced while reading) and the query
string limit (`PARSE_MAX_QUERY_BYTES`).
"""

from __future__ import annotations

from typing import Any

import orjson

from .. import errors
from ..errors import ParseError

DEFAULT_MAX_DEPTH = 100  # Settings.max_json_depth's default, for callers that have no settings at hand


def too_deep(what: str, max_depth: int) -> ParseError:
    return ParseError(errors.INVALID_JSON, f"{what} is nested more than {max_depth} levels deep")


def check_depth(value: Any, max_depth: int, what: str = "JSON") -> Any:
    """Raise 107 if `value` nests objects/arrays deeper than `max_depth` (a flat object is depth 1); return it.

    Iterative, so it cannot itself run out of stack."""
    if not isinstance(value, (dict, list)):
        return value
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        for child in children:
            if isinstance(child, (dict, list)):
                if depth + 1 > max_depth:
                    raise too_deep(what, max_depth)
                stack.append((child, depth + 1))
    return value


def loads(raw: bytes | str, max_depth: int = DEFAULT_MAX_DEPTH, what: str = "JSON") -> Any:
    """orjson.loads plus the depth limit. Raises orjson.JSONDecodeError for malformed input (callers word it)."""
    value = orjson.loads(raw)
    if isinstance(value, (dict, list)) and _brackets(raw) > max_depth:  # fewer brackets cannot nest deeper
        check_depth(value, max_depth, what)
    return value


def _brackets(raw: bytes | str) -> int:
    if isinstance(raw, str):
        return raw.count("{") + raw.count("[")
    return raw.count(b"{") + raw.count(b"[")
