"""The query front end: a `where` (Parse JSON) parsed once into a condition tree (tree.py).

What is valid, how values are typed and what `$relativeTime` and regexes mean are decided here, once, for both
interpreters. Parsing raises a ParseError (102 unless a more exact code applies) for anything malformed, whatever
the data, and never needs the class schema. `Limits` bound the tree (nesting depth, conditions, regex size) so a
hostile where costs little to refuse and linear time to compile.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson

from ..errors import ErrorCode, ParseError
from ..values import parse_iso_or_none
from . import geo, regex
from .tree import (
    DATE_KEYS,
    EVERYTHING,
    All,
    AllRegex,
    And,
    Compare,
    ContainedBy,
    Eq,
    Exists,
    In,
    InQuery,
    Key,
    Limits,
    Ne,
    Node,
    Nor,
    Op,
    Or,
    Regex,
    RelatedTo,
    RelativeTime,
    Select,
    Test,
    Text,
)

_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*")

# -- parsing -------------------------------------------------------------------------------------------------------


def _bad(message: str, code: ErrorCode = ErrorCode.INVALID_QUERY) -> ParseError:
    return ParseError(code, message)


_LOGIC: dict[str, type[And] | type[Or] | type[Nor]] = {"$and": And, "$or": Or, "$nor": Nor}
_COMPARISONS = frozenset({"$lt", "$lte", "$gt", "$gte"})
GEO_OPERATORS = frozenset(
    {
        "$nearSphere",
        "$maxDistance",
        "$maxDistanceInRadians",
        "$maxDistanceInMiles",
        "$maxDistanceInKilometers",
        "$within",
        "$geoWithin",
        "$geoIntersects",
        "$box",
        "$polygon",
        "$centerSphere",
        "$near",
    }
)
# PostgreSQL's built-in text search configurations (`$text.$language`); anything else is refused, never sent.
TEXT_LANGUAGES = frozenset(
    [
        "simple",
        "arabic",
        "armenian",
        "basque",
        "catalan",
        "danish",
        "dutch",
        "english",
        "finnish",
        "french",
        "german",
        "greek",
        "hindi",
        "hungarian",
        "indonesian",
        "irish",
        "italian",
        "lithuanian",
        "nepali",
        "norwegian",
        "portuguese",
        "romanian",
        "russian",
        "serbian",
        "spanish",
        "swedish",
        "tamil",
        "turkish",
        "yiddish",
    ]
)


class _Parser:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.clauses = 0

    def count(self, n: int = 1) -> None:
        self.clauses += n
        if self.clauses > self.limits.max_clauses:
            raise _bad(f"The query has more than {self.limits.max_clauses} conditions (PARSE_MAX_WHERE_CLAUSES).")

    def depth(self, depth: int) -> int:
        if depth > self.limits.max_depth:
            raise _bad(f"The query is nested more than {self.limits.max_depth} levels deep (PARSE_MAX_WHERE_DEPTH).")
        return depth + 1

    def where(self, raw: Any, depth: int) -> Node:
        depth = self.depth(depth)
        if not isinstance(raw, Mapping):
            raise _bad("where must be a JSON object")
        children: list[Node] = []
        for key, constraint in raw.items():
            if not isinstance(key, str):
                raise _bad(f"Invalid key name: {str(key)[:100]}", ErrorCode.INVALID_KEY_NAME)
            logic = _LOGIC.get(key)
            if logic is not None:
                if not isinstance(constraint, list) or not constraint:
                    raise _bad(f"Bad {key} format - use an array of at least 1 value.")
                self.count()
                children.append(logic(tuple(self.where(sub, depth) for sub in constraint)))
            elif key == "$relatedTo":
                self.count()
                children.append(_related_to(constraint))
            elif key.startswith("$"):
                raise _bad(f"Invalid query operator: {key[:40]}")
            else:
                children.extend(Test(_key(key), op) for op in self.constraint(key, constraint, depth))
        return And(tuple(children))

    def constraint(self, key: str, constraint: Any, depth: int) -> list[Op]:
        date_key = key in DATE_KEYS
        if not _is_operator_dict(constraint):
            self.count()
            return [Eq(self.value(constraint, key, date_key, depth))]
        ops: list[Op] = []
        for op, arg in constraint.items():
            self.count()
            if op == "$options":
                if "$regex" not in constraint:
                    raise _bad(f"$options needs a $regex ({key[:40]})")
                continue
            if op in geo.MAX_DISTANCE_KEYS:
                if "$nearSphere" not in constraint:
                    raise _bad(f"{op} needs $nearSphere ({key[:40]})")
                continue
            ops.append(self.operator(op, arg, constraint, key, date_key, depth))
        return ops

    def operator(self, op: str, arg: Any, constraint: Mapping[str, Any], key: str, date_key: bool, depth: int) -> Op:
        if op in ("$eq", "$ne"):
            if isinstance(arg, Mapping) and "$relativeTime" in arg:
                raise _bad(
                    "$relativeTime can only be used with the $lt, $lte, $gt, and $gte operators",
                    ErrorCode.INVALID_JSON,
                )
            value = self.value(arg, key, date_key, depth)
            return Eq(value) if op == "$eq" else Ne(value)
        if op in _COMPARISONS:
            if isinstance(arg, Mapping) and "$relativeTime" in arg:
                return Compare(op, relative_time(arg, key))
            return Compare(op, self.value(arg, key, date_key, depth))
        if op in ("$in", "$nin"):
            return In(self.values(op, arg, key, date_key, depth), op == "$nin")
        if op == "$exists":
            if not isinstance(arg, bool):
                raise _bad(f"bad $exists value for {key[:40]}: must be a boolean")
            return Exists(arg)
        if op == "$all":
            return self.all(arg, key, depth)
        if op == "$containedBy":
            return ContainedBy(self.values(op, arg, key, False, depth))
        if op == "$regex":
            return self.regex(constraint, key)
        if op in ("$inQuery", "$notInQuery"):
            class_name, where = self.sub_query(op, arg, depth)
            return InQuery(class_name, where, op == "$notInQuery")
        if op in ("$select", "$dontSelect"):
            if not isinstance(arg, Mapping) or not isinstance(arg.get("key"), str) or "query" not in arg:
                raise _bad(f"improper usage of {op}")
            class_name, where = self.sub_query(op, arg["query"], depth)
            return Select(class_name, where, _key(arg["key"]), op == "$dontSelect")
        if op == "$text":
            return _text(arg)
        if op == "$nearSphere":
            return geo.parse_near(constraint)
        if op == "$within":
            return geo.parse_within(arg)
        if op == "$geoWithin":
            return geo.parse_geo_within(arg)
        if op == "$geoIntersects":
            return geo.parse_geo_intersects(arg)
        if op == "$near":
            raise _bad("$near is not supported: use $nearSphere")
        if op in GEO_OPERATORS:  # $box, $polygon, $centerSphere: only inside $within / $geoWithin
            raise _bad(f"{op} must be used inside $within or $geoWithin")
        raise _bad(f"Invalid query operator: {str(op)[:40]}")

    def value(self, value: Any, key: str, date_key: bool, depth: int) -> Any:
        """A query value, validated; on createdAt/updatedAt an ISO string becomes a Date (others never match)."""
        if value is None or isinstance(value, (bool, str)):
            if date_key and isinstance(value, str) and parse_iso_or_none(value) is not None:
                return {"__type": "Date", "iso": value}
            return value
        if isinstance(value, (int, float)):
            if (isinstance(value, float) and value != value) or value in (float("inf"), float("-inf")):
                raise _bad(f"invalid number for {key[:40]}", ErrorCode.INVALID_JSON)
            return value
        depth = self.depth(depth)
        if isinstance(value, list):
            return [self.value(v, key, False, depth) for v in value]
        if isinstance(value, Mapping):
            tag = value.get("__type")
            if tag == "Date":
                if not isinstance(value.get("iso"), str) or parse_iso_or_none(value["iso"]) is None:
                    raise _bad(f"invalid date for {key[:40]}: {str(value.get('iso'))[:40]}", ErrorCode.INVALID_JSON)
            elif tag in ("Pointer", "Object") and not (
                isinstance(value.get("className"), str) and isinstance(value.get("objectId"), str)
            ):
                raise _bad(f"invalid pointer for {key[:40]}", ErrorCode.INVALID_JSON)
            for k in value:
                if not isinstance(k, str):
                    raise _bad(f"invalid value for {key[:40]}", ErrorCode.INVALID_JSON)
                if k.startswith("$") and tag is None:
                    raise _bad(f"Unexpected operator {k[:40]} in a value for {key[:40]}")
            return {k: self.value(v, key, False, depth) for k, v in value.items()}
        raise _bad(f"invalid value for {key[:40]}", ErrorCode.INVALID_JSON)

    def values(self, op: str, arg: Any, key: str, date_key: bool, depth: int) -> tuple[Any, ...]:
        if not isinstance(arg, list):
            raise _bad(f"bad {op} value: an array is required", ErrorCode.INVALID_JSON)
        return tuple(self.value(v, key, date_key, depth) for v in arg)

    def all(self, arg: Any, key: str, depth: int) -> Op:
        if not isinstance(arg, list):
            raise _bad("bad $all value", ErrorCode.INVALID_JSON)
        self.count(len(arg))
        is_regex = [isinstance(v, Mapping) and "$regex" in v for v in arg]
        if not any(is_regex):
            return All(self.values("$all", arg, key, False, depth))
        if not all(is_regex):
            raise _bad("All $all values must be of regex type or none", ErrorCode.INVALID_JSON)
        for item in arg:
            if set(item) - {"$regex", "$options"}:
                raise _bad("bad $all value", ErrorCode.INVALID_JSON)
        return AllRegex(tuple(self.regex(item, key) for item in arg))

    def regex(self, constraint: Mapping[str, Any], key: str) -> Regex:
        pattern, options = constraint["$regex"], constraint.get("$options", "")
        if not isinstance(pattern, str):
            raise _bad(f"bad $regex value for {key[:40]}")
        if options is None:
            options = ""
        if not isinstance(options, str) or any(c not in "imxsu" for c in options):
            raise _bad(f"Bad $options value for query: {str(options)[:20]}; only i, m, x, s and u are supported")
        regex.check(pattern, options, self.limits.regex)
        return Regex(pattern, options)

    def sub_query(self, op: str, arg: Any, depth: int) -> tuple[str, Node]:
        if not isinstance(arg, Mapping):
            raise _bad(f"improper usage of {op}")
        class_name, where = arg.get("className"), arg.get("where", {})
        if not isinstance(class_name, str) or not isinstance(where, Mapping):
            raise _bad(f"improper usage of {op}")
        return class_name, self.where(where, depth)


def _key(key: str) -> Key:
    if key == "ACL":
        raise _bad("Cannot query on ACL.")
    if not _KEY.fullmatch(key) or len(key) > 200:  # also refuses the internal columns (_rperm, _hashed_password, …)
        raise _bad(f"Invalid key name: {key[:100]}", ErrorCode.INVALID_KEY_NAME)
    head, *path = key.split(".")
    return Key(key, head, tuple(path))


def _is_operator_dict(constraint: Any) -> bool:
    if not isinstance(constraint, Mapping) or "__type" in constraint or not constraint:
        return False
    dollar = [isinstance(k, str) and k.startswith("$") for k in constraint]
    if any(dollar) and not all(dollar):
        raise _bad("A constraint cannot mix $operators and plain keys")
    return any(dollar)


def _related_to(value: Any) -> RelatedTo:
    if not isinstance(value, Mapping) or not isinstance(value.get("key"), str):
        raise _bad("improper usage of $relatedTo")
    owner = value.get("object")
    if (
        not isinstance(owner, Mapping)
        or owner.get("__type") not in ("Pointer", "Object")
        or not isinstance(owner.get("className"), str)
        or not isinstance(owner.get("objectId"), str)
    ):
        raise _bad("$relatedTo needs an object pointer")
    return RelatedTo(owner["className"], owner["objectId"], value["key"])


def _text(arg: Any) -> Text:
    search = arg.get("$search") if isinstance(arg, Mapping) else None
    if not isinstance(search, Mapping):
        raise _bad("bad $text: $search, should be object", ErrorCode.INVALID_JSON)
    term = search.get("$term")
    if not isinstance(term, str) or not term.strip():
        raise _bad("bad $text: $term, should be a non-empty string", ErrorCode.INVALID_JSON)
    flags = {}
    for name in ("$caseSensitive", "$diacriticSensitive"):
        flag = search.get(name, False)
        if not isinstance(flag, bool):
            raise _bad(f"bad $text: {name}, should be boolean", ErrorCode.INVALID_JSON)
        flags[name] = flag
    language = search.get("$language", "english")
    if not isinstance(language, str):
        raise _bad("bad $text: $language, should be string", ErrorCode.INVALID_JSON)
    if language.lower() not in TEXT_LANGUAGES:
        raise _bad(
            f"bad $text: $language {language[:30]!r} is not supported; use one of {', '.join(sorted(TEXT_LANGUAGES))}"
        )
    return Text(term, language.lower(), flags["$caseSensitive"], flags["$diacriticSensitive"], search)


# -- $relativeTime (the SDK's relativeTimeToDate, as parse-server reads it) ----------------------------------------

_UNIT_SECONDS = {
    **dict.fromkeys(("yr", "yrs", "year", "years"), 31536000),
    **dict.fromkeys(("wk", "wks", "week", "weeks"), 604800),
    **dict.fromkeys(("d", "day", "days"), 86400),
    **dict.fromkeys(("hr", "hrs", "hour", "hours"), 3600),
    **dict.fromkeys(("min", "mins", "minute", "minutes"), 60),
    **dict.fromkeys(("sec", "secs", "second", "seconds"), 1),
}
MAX_RELATIVE_SECONDS = 1000 * 31536000  # a thousand years either way: far enough, and every date type holds it


def relative_time(arg: Mapping[str, Any], key: str) -> RelativeTime:
    """`{"$relativeTime": "in 2 days" | "3 hrs ago" | "now"}`: whole numbers of known units (107 otherwise)."""
    text = arg["$relativeTime"]

    def bad(info: str) -> ParseError:
        return _bad(f"bad $relativeTime ({key[:40]}) value. {info}", ErrorCode.INVALID_JSON)

    if not isinstance(text, str) or len(arg) != 1:
        raise bad("It should be a string.")
    parts = text.lower().split()
    future = bool(parts) and parts[0] == "in"
    past = bool(parts) and parts[-1] == "ago"
    if not future and not past and text.lower() != "now":
        raise bad("Time should either start with 'in' or end with 'ago'")
    if future and past:
        raise bad("Time cannot have both 'in' and 'ago'")
    parts = parts[1:] if future else parts[:-1] if past else []
    if len(parts) % 2:
        raise bad("Invalid time string. Dangling unit or number.")
    seconds = 0
    for num, unit in zip(parts[::2], parts[1::2], strict=True):
        try:
            number = float(num)
        except ValueError:
            number = float("nan")
        if not number.is_integer():  # also nan and inf
            raise bad(f"'{num[:20]}' is not an integer.")
        if unit not in _UNIT_SECONDS:
            raise bad(f"Invalid interval: '{unit[:20]}'")
        seconds += int(number) * _UNIT_SECONDS[unit]
        if abs(seconds) > MAX_RELATIVE_SECONDS:
            raise bad("It is more than a thousand years away.")
    return RelativeTime(text, -seconds if past else seconds)


_PARSED: dict[tuple[bytes, int], Node] = {}
_PARSED_MAX = 4096


def parse_where(raw: Any, limits: Limits | None = None) -> Node:
    """Parse a where (a JSON object, or None for "everything") into a condition tree. Trees are immutable, so the
    trees of recently parsed wheres are kept and shared (an app repeats its queries; no `$relativeTime` is
    resolved at parse time, so a kept tree stays right)."""
    if raw is None:
        return EVERYTHING
    bounds = limits or _DEFAULT_LIMITS
    try:
        key = (orjson.dumps(raw, option=orjson.OPT_SORT_KEYS), id(bounds))
    except TypeError:  # not plain JSON (a hook passed Python values): parse it, but keep nothing
        return _Parser(bounds).where(raw, 0)
    found = _PARSED.get(key)
    if found is None:
        found = _Parser(bounds).where(raw, 0)
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        _PARSED[key] = found
    return found


_DEFAULT_LIMITS = Limits()
