"""Values as the evaluator (evaluate.py) compares them: typed JSON equality, order keys, key lookup, and the
approximate `$text` match of in-memory resolvers. The SQL compiler's counterpart is columns.py."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, TypeGuard

from ..values import parse_iso_or_none
from . import tree

# -- values ---------------------------------------------------------------------------------------------------------

_POINTER_TYPES = frozenset({"Pointer", "Object"})


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _type_tag(x: Mapping[str, Any]) -> str | None:
    tag = x.get("__type")
    return tag if isinstance(tag, str) else None


def _is_pointer(x: Any) -> TypeGuard[Mapping[str, Any]]:
    return isinstance(x, Mapping) and _type_tag(x) in _POINTER_TYPES


def _date_instant(x: Mapping[str, Any]) -> datetime | None:
    iso = x.get("iso")
    return parse_iso_or_none(iso) if isinstance(iso, str) else None


def json_equal(a: Any, b: Any) -> bool:
    """Typed JSON equality (see the module docstring)."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if _is_number(a) or _is_number(b):
        return _is_number(a) and _is_number(b) and a == b
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    if isinstance(a, list) or isinstance(b, list):
        return (
            isinstance(a, list)
            and isinstance(b, list)
            and len(a) == len(b)
            and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
        )
    if not isinstance(a, Mapping) or not isinstance(b, Mapping):
        return False
    ta, tb = _type_tag(a), _type_tag(b)
    if ta in _POINTER_TYPES and tb in _POINTER_TYPES:
        return a.get("className") == b.get("className") and a.get("objectId") == b.get("objectId")
    if ta != tb:
        return False
    if ta == "Date":
        da, db = _date_instant(a), _date_instant(b)
        return da is not None and da == db
    if ta == "File":
        return a.get("name") == b.get("name")
    if ta == "Polygon":  # by its ring, as where.py compares the jsonb column
        return json_equal(a.get("coordinates"), b.get("coordinates"))
    if ta == "GeoPoint":  # by coordinates, as where.py compares a point column
        return all(_is_number(a.get(k)) and _is_number(b.get(k)) and a[k] == b[k] for k in ("latitude", "longitude"))
    return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)


def field_equal(value: Any, v: Any) -> bool:
    """``value`` (from the object, not an Array) equals the query value ``v``."""
    if isinstance(v, str) and _is_pointer(value):
        return bool(value.get("objectId") == v)
    return json_equal(value, v)


def eq_match(value: Any, v: Any) -> bool:
    """Plain equality with Array "contains" semantics."""
    if v is None:
        return value is None
    if value is None:
        return False
    if isinstance(value, list):
        return json_equal(value, v) or any(field_equal(e, v) for e in value)
    return field_equal(value, v)


def in_match(value: Any, candidates: Iterable[Any]) -> bool:
    return any(eq_match(value, v) for v in candidates)


OrderKey = tuple[int, Any]


def order_key(x: Any) -> OrderKey | None:
    """A key comparable only with keys of the same kind (the int), or None if x is not orderable."""
    if isinstance(x, bool):
        return None
    if _is_number(x):
        return (1, x)
    if isinstance(x, str):
        return (2, x)
    if isinstance(x, Mapping) and _type_tag(x) == "Date":
        instant = _date_instant(x)
        return None if instant is None else (3, instant)
    return None


def lookup(obj: Mapping[str, Any], key: tree.Key) -> Any:
    cur: Any = obj.get(key.head)
    for part in key.path:
        if not isinstance(cur, Mapping) or "__type" in cur:
            return None
        cur = cur.get(part)
    if key.is_date and isinstance(cur, str):
        return {"__type": "Date", "iso": cur}
    return cur


# -- $text (approximate) -----------------------------------------------------------------------------------------


def _fold(text: str, case_sensitive: bool, diacritic_sensitive: bool) -> str:
    if not case_sensitive:
        text = text.casefold()
    if not diacritic_sensitive:
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return text


def approximate_text_match(value: Any, search: Mapping[str, Any]) -> bool:
    """An approximation of ``$text`` ``$search``: Mongo-style terms on whole words, no stemming; case folded and
    accents kept unless ``$caseSensitive``/``$diacriticSensitive: false`` say otherwise (the SQL compiler's defaults).

    The field (a string) matches when it contains any of the terms as a word, none of the ``-negated`` terms, and
    every ``"quoted phrase"`` as a substring. PostgreSQL full-text search (stemming, stop words) differs on some.
    """
    if not isinstance(value, str):
        return False
    term = str(search.get("$term", ""))
    case_sensitive = search.get("$caseSensitive") is True
    diacritic_sensitive = search.get("$diacriticSensitive") is not False  # as PostgreSQL's: accents count
    text = _fold(value, case_sensitive, diacritic_sensitive)
    words = set(re.findall(r"\w+", text))
    phrases = [_fold(p, case_sensitive, diacritic_sensitive) for p in re.findall(r'"([^"]*)"', term)]
    include: list[str] = []
    exclude: list[str] = []
    for token in re.sub(r'"[^"]*"', " ", term).split():
        target = exclude if token.startswith("-") and len(token) > 1 else include
        target.extend(re.findall(r"\w+", _fold(token, case_sensitive, diacritic_sensitive)))
    if any(w in words for w in exclude):
        return False
    if any(p and p not in text for p in phrases):
        return False
    if not include:
        return bool(phrases)
    return any(w in words for w in include)
