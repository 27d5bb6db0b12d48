"""In-memory reference evaluator for Parse ``where`` queries.

This is the executable specification of query semantics. The SQL compiler must return exactly the
objects for which :func:`matches` is true; ``tests/query/test_where_property.py`` checks that.

Objects are given in Parse REST JSON, as a find returns them: top-level ``objectId``, ``createdAt``
and ``updatedAt`` (plain ISO strings), Date fields as ``{"__type":"Date","iso":…}``, pointers as
``{"__type":"Pointer","className":…,"objectId":…}``, Object fields as dicts, Arrays as lists, and
missing fields absent. A missing field and a field holding JSON ``null`` are the same thing
everywhere below.

Semantics (those of MongoDB / the SDK's ``OfflineQuery``; the decisions where those and
parse-server's Postgres adapter disagree are marked *decision*):

* ``{"f": v}`` / ``{"f": {"$eq": v}}``: ``v`` equals the field's value. Dates compare as instants,
  pointers (and included ``__type: Object`` values) by className + objectId, Objects key by key
  regardless of key order, numbers numerically (``1 == 1.0``), booleans are not numbers. If the
  field holds an Array, it matches when the whole array equals ``v`` or any element does
  ("array contains"). ``v = null`` matches missing/null only (*decision*: not arrays containing
  null). A pointer-valued field also equals a plain string that is its objectId (*decision*, as
  parse-server's adapters do for Pointer columns).
* On ``createdAt``/``updatedAt`` (plain ISO strings in REST JSON, Dates for queries) a query string
  that parses as ISO 8601 is taken as that Date; any other string never matches.
* ``$ne``: the negation of equality, so missing/null matches; ``{"$ne": null}`` means
  "present and not null".
* ``$lt $lte $gt $gte``: numbers, strings (by code point, Postgres ``COLLATE "C"``) and Dates (also
  ``{"$relativeTime": "…"}``) are ordered; a value of another type than the comparand never matches,
  and neither do Arrays (*decision*: Mongo compares their elements), booleans, objects, pointers,
  missing/null values or a null comparand (*decision*: Mongo orders all of these).
* ``$in``: equality with any list element (so ``null`` in the list matches missing); an empty list
  matches nothing (*decision*: parse-server's Postgres adapter turns ``$in: []`` into ``IS NULL``).
  ``$nin``: the negation of ``$in``, so missing matches; ``$nin: []`` matches everything.
* ``$exists``: a boolean; true = present and not null.
* ``$all``: the field is an Array holding, for each list item, an element equal to it (or, when
  all the items are ``{"$regex": …}``, a string element matching it); an empty list matches
  nothing (Mongo); a non-Array value never matches.
* ``$containedBy``: every element of the Array is equal to some list item. An empty Array
  matches; a missing/null field does not (*decision*: as parse-server's Postgres ``NULL <@ …``;
  ``OfflineQuery`` throws on it and Mongo's ``$nor:[{$elemMatch:{$nin}}]`` would match it). A
  non-Array value never matches.
* ``$regex`` (+ ``$options`` from ``imxsu``): PCRE semantics via Python ``re`` after translating
  ``\\Q…\\E`` literal quoting (and ``\\z``/``\\Z``/``(?<name>``); ``re.search``. Only string values
  match (*decision*: Mongo would also test string elements of an Array).
* ``$and $or $nor``: non-empty lists of sub-wheres. Several keys in a where, and several
  operators on one key, are ANDed.
* Dotted keys ``"o.a.b"`` address into Object fields (dicts without ``__type``); anything else on
  the path (a list, a pointer, a scalar) makes the value missing.
* ``$inQuery $notInQuery $select $dontSelect $relatedTo $text`` need a :class:`Resolver`;
  ``$inQuery``/``$select`` behave as ``$in`` over the sub-query's pointers/values and
  ``$notInQuery``/``$dontSelect`` as ``$nin`` (so missing matches). Sub-query results whose
  ``$select`` key is missing/null are skipped.
* Geo operators are not supported here (:class:`ParseQueryError`).

The whole where is validated when it is compiled, before any object is looked at, so a bad query
raises :class:`ParseQueryError` whatever the data is.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Protocol, TypeGuard

__all__ = [
    "INVALID_JSON",
    "INVALID_KEY_NAME",
    "INVALID_QUERY",
    "CompiledWhere",
    "ListResolver",
    "ParseQueryError",
    "Resolver",
    "ResolverRequiredError",
    "approximate_text_match",
    "compile_where",
    "matches",
    "translate_regex",
]

INVALID_QUERY = 102
INVALID_KEY_NAME = 105
INVALID_JSON = 107


class ParseQueryError(Exception):
    """A malformed query. ``code`` is the Parse error code (102 unless stated otherwise)."""

    def __init__(self, message: str, code: int = INVALID_QUERY) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ResolverRequiredError(RuntimeError):
    """The query uses an operator that needs other data ($inQuery, $relatedTo, …) but has no resolver."""


class Resolver(Protocol):
    """Access to data outside the object being matched."""

    def query(self, class_name: str, where: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
        """The objects of ``class_name`` matching ``where`` (REST JSON)."""
        ...

    def related(self, owner: Mapping[str, Any], key: str) -> Collection[str]:
        """The objectIds in the relation ``key`` of the ``owner`` pointer."""
        ...

    def text(self, value: Any, search: Mapping[str, Any]) -> bool:
        """Whether a field value matches a ``$text`` ``$search`` spec (see :func:`approximate_text_match`)."""
        ...


# --------------------------------------------------------------------------------------------------
# Values

_SPECIAL_KEYS = frozenset(
    {
        "_rperm",
        "_wperm",
        "_perishable_token",
        "_email_verify_token",
        "_email_verify_token_expires_at",
        "_account_lockout_expires_at",
        "_failed_login_count",
    }
)
_KEY_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*")
_DATE_KEYS = frozenset({"createdAt", "updatedAt"})
_POINTER_TYPES = frozenset({"Pointer", "Object"})


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _type_tag(x: Mapping[str, Any]) -> str | None:
    tag = x.get("__type")
    return tag if isinstance(tag, str) else None


def _is_pointer(x: Any) -> TypeGuard[Mapping[str, Any]]:
    return isinstance(x, Mapping) and _type_tag(x) in _POINTER_TYPES


def _is_date(x: Any) -> TypeGuard[Mapping[str, Any]]:
    return isinstance(x, Mapping) and _type_tag(x) == "Date"


@lru_cache(maxsize=4096)
def _parse_iso(text: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _date_instant(x: Mapping[str, Any]) -> datetime | None:
    iso = x.get("iso")
    return _parse_iso(iso) if isinstance(iso, str) else None


def _date_value(iso: str) -> dict[str, Any]:
    return {"__type": "Date", "iso": iso}


def _equal(a: Any, b: Any) -> bool:
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
            and all(_equal(x, y) for x, y in zip(a, b, strict=True))
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
    return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)


def _field_equal(value: Any, v: Any) -> bool:
    """``value`` (from the object, not an Array) equals the query value ``v``."""
    if isinstance(v, str) and _is_pointer(value):
        return bool(value.get("objectId") == v)
    return _equal(value, v)


def _eq_match(value: Any, v: Any) -> bool:
    """Plain equality with Array "contains" semantics."""
    if v is None:
        return value is None
    if value is None:
        return False
    if isinstance(value, list):
        return _equal(value, v) or any(_field_equal(e, v) for e in value)
    return _field_equal(value, v)


def _in_match(value: Any, candidates: list[Any]) -> bool:
    return any(_eq_match(value, v) for v in candidates)


_OrderKey = tuple[int, Any]


def _order_key(x: Any) -> _OrderKey | None:
    """A key comparable only with keys of the same kind (the int), or None if x is not orderable."""
    if isinstance(x, bool):
        return None
    if _is_number(x):
        return (1, x)
    if isinstance(x, str):
        return (2, x)
    if _is_date(x):
        instant = _date_instant(x)
        return None if instant is None else (3, instant)
    return None


def _lookup(obj: Mapping[str, Any], parts: tuple[str, ...]) -> Any:
    cur: Any = obj
    for i, part in enumerate(parts):
        if not isinstance(cur, Mapping) or (i > 0 and "__type" in cur):
            return None
        cur = cur.get(part)
    if len(parts) == 1 and parts[0] in _DATE_KEYS and isinstance(cur, str):
        return _date_value(cur)
    return cur


# --------------------------------------------------------------------------------------------------
# Regular expressions

_REGEX_OPTIONS_RE = re.compile(r"[imxsu]*")
_REGEX_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE, "u": 0}


_WORD = "A-Za-z0-9_"
_SPACE = "\\t\\n\\x0b\\f\\r\\x20"
# PCRE without UCP (as MongoDB runs it): \d \w \s \b and POSIX classes are ASCII-only.
_ESCAPES_OUTSIDE = {
    "d": "[0-9]",
    "D": "[^0-9]",
    "w": f"[{_WORD}]",
    "W": f"[^{_WORD}]",
    "s": f"[{_SPACE}]",
    "S": f"[^{_SPACE}]",
    "b": f"(?:(?<![{_WORD}])(?=[{_WORD}])|(?<=[{_WORD}])(?![{_WORD}]))",
    "B": f"(?:(?<![{_WORD}])(?![{_WORD}])|(?<=[{_WORD}])(?=[{_WORD}]))",
    "z": "\\Z",
    "Z": "(?=\\n?\\Z)",
}
_ESCAPES_IN_CLASS = {"d": "0-9", "w": _WORD, "s": _SPACE}
_POSIX_CLASSES = {
    "alpha": "A-Za-z",
    "digit": "0-9",
    "alnum": "A-Za-z0-9",
    "upper": "A-Z",
    "lower": "a-z",
    "space": _SPACE,
    "blank": "\\t\\x20",
    "punct": re.escape("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
    "xdigit": "0-9A-Fa-f",
    "word": _WORD,
    "cntrl": "\\x00-\\x1f\\x7f",
    "print": "\\x20-\\x7e",
    "graph": "\\x21-\\x7e",
    "ascii": "\\x00-\\x7f",
}
_POSIX_RE = re.compile(r"\[:(\^?)([a-z]+):\]")


def translate_regex(pattern: str) -> str:
    """Translate a Mongo/Parse (PCRE) regex into Python ``re`` syntax with the same meaning.

    ``\\Q…\\E`` quotes a literal (to the end if there is no ``\\E``; a stray ``\\E`` is ignored);
    ``\\d \\w \\s \\b`` (and their negations) and POSIX ``[:classes:]`` are ASCII-only, as in PCRE
    without UCP; ``\\z`` is the absolute end and ``\\Z`` the end or before a final newline;
    ``(?<name>…)``/``\\k<name>`` are named groups. Everything else is passed through (Python and
    PCRE agree on the common syntax; PCRE-only escapes such as ``\\h`` fail to compile).
    """
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    class_start = -1  # index in `out` where the current class's members begin
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            if nxt == "Q":
                end = pattern.find("\\E", i + 2)
                out.append(re.escape(pattern[i + 2 :] if end < 0 else pattern[i + 2 : end]))
                i = n if end < 0 else end + 2
                continue
            if nxt == "E":
                i += 2
                continue
            if in_class and nxt in _ESCAPES_IN_CLASS:
                out.append(_ESCAPES_IN_CLASS[nxt])
            elif not in_class and nxt in _ESCAPES_OUTSIDE:
                out.append(_ESCAPES_OUTSIDE[nxt])
            elif not in_class and nxt == "k" and pattern.startswith("<", i + 2) and pattern.find(">", i + 3) > 0:
                close = pattern.find(">", i + 3)
                out.append(f"(?P={pattern[i + 3 : close]})")
                i = close + 1
                continue
            else:
                out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            posix = _POSIX_RE.match(pattern, i) if c == "[" else None
            if posix:
                name = posix.group(2)
                if posix.group(1) or name not in _POSIX_CLASSES:
                    raise ParseQueryError(f"Unsupported POSIX class in regular expression: {posix.group(0)}")
                out.append(_POSIX_CLASSES[name])
                i = posix.end()
                continue
            if c == "]" and len(out) > class_start:
                in_class = False
            elif c in "[&~|":
                c = "\\" + c  # literals inside a class in PCRE; Python warns about future set syntax
            out.append(c)
            i += 1
            continue
        if c == "[":
            in_class = True
            out.append(c)
            i += 1
            if pattern.startswith("^", i):
                out.append("^")
                i += 1
            if pattern.startswith("]", i):  # a leading ] is a literal
                out.append("\\]")
                i += 1
            class_start = len(out)
            continue
        if c == "(" and pattern.startswith("?<", i + 1) and i + 3 < n and pattern[i + 3] not in "=!":
            out.append("(?P<")
            i += 3
            continue
        out.append(c)
        i += 1
    return "".join(out)


@lru_cache(maxsize=1024)
def compile_regex(pattern: str, options: str) -> re.Pattern[str]:
    flags = 0
    for option in options:
        flags |= _REGEX_FLAGS[option]
    try:
        return re.compile(translate_regex(pattern), flags)
    except (re.error, OverflowError, RecursionError) as exc:
        raise ParseQueryError(f"Invalid regular expression {pattern!r}: {exc}") from None


# --------------------------------------------------------------------------------------------------
# $relativeTime (the SDK's relativeTimeToDate)

_UNIT_SECONDS = {
    **dict.fromkeys(("yr", "yrs", "year", "years"), 31536000),
    **dict.fromkeys(("wk", "wks", "week", "weeks"), 604800),
    **dict.fromkeys(("d", "day", "days"), 86400),
    **dict.fromkeys(("hr", "hrs", "hour", "hours"), 3600),
    **dict.fromkeys(("min", "mins", "minute", "minutes"), 60),
    **dict.fromkeys(("sec", "secs", "second", "seconds"), 1),
}


def _relative_offset(text: str, key: str) -> timedelta:
    """The signed offset from now that ``text`` ("in 2 days", "3 hrs ago", "now") denotes."""

    def bad(info: str) -> ParseQueryError:
        return ParseQueryError(f"bad $relativeTime ({key}) value. {info}", INVALID_JSON)

    lowered = text.lower()
    parts = lowered.split()
    future = bool(parts) and parts[0] == "in"
    past = bool(parts) and parts[-1] == "ago"
    if not future and not past and lowered != "now":
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
        if not number.is_integer():
            raise bad(f"'{num}' is not an integer.")
        if unit not in _UNIT_SECONDS:
            raise bad(f"Invalid interval: '{unit}'")
        seconds += int(number) * _UNIT_SECONDS[unit]
    return timedelta(seconds=-seconds if past else seconds)


# --------------------------------------------------------------------------------------------------
# $text (approximate)


def _fold(text: str, case_sensitive: bool, diacritic_sensitive: bool) -> str:
    if not case_sensitive:
        text = text.casefold()
    if not diacritic_sensitive:
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return text


def approximate_text_match(value: Any, search: Mapping[str, Any]) -> bool:
    """An approximation of ``$text`` ``$search``: Mongo-style terms on whole words, no stemming.

    The field (a string) matches when it contains any of the terms as a word, none of the
    ``-negated`` terms, and every ``"quoted phrase"`` as a substring. Postgres full-text search
    (``to_tsvector``/``to_tsquery``, with stemming and stop words) will differ on some inputs.
    """
    if not isinstance(value, str):
        return False
    term = str(search.get("$term", ""))
    case_sensitive = search.get("$caseSensitive") is True
    diacritic_sensitive = search.get("$diacriticSensitive") is True
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


# --------------------------------------------------------------------------------------------------
# Compilation


@dataclass
class _Ctx:
    resolve: Resolver | None
    now: datetime
    memo: dict[int, Any] = field(default_factory=dict)

    def resolver(self, op: str) -> Resolver:
        if self.resolve is None:
            raise ResolverRequiredError(f"{op} needs a resolver")
        return self.resolve

    def sub_query(self, token: object, class_name: str, where: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        key = id(token)
        if key not in self.memo:
            self.memo[key] = list(self.resolver("sub-query").query(class_name, where))
        result: list[Mapping[str, Any]] = self.memo[key]
        return result


_Pred = Callable[[Mapping[str, Any], _Ctx], bool]
_Test = Callable[[Any, _Ctx], bool]


class CompiledWhere:
    """A validated where, ready to be matched against many objects."""

    __slots__ = ("_pred", "where")

    def __init__(self, where: Mapping[str, Any]) -> None:
        self.where = where
        self._pred = _compile_where(where)

    def matches(self, obj: Mapping[str, Any], *, resolve: Resolver | None = None, now: datetime | None = None) -> bool:
        return self._pred(obj, _Ctx(resolve, now or datetime.now(UTC)))

    def filter(
        self,
        objs: Iterable[Mapping[str, Any]],
        *,
        resolve: Resolver | None = None,
        now: datetime | None = None,
    ) -> list[Mapping[str, Any]]:
        """The matching objects, in order. Sub-queries run once for the whole list."""
        ctx = _Ctx(resolve, now or datetime.now(UTC))
        return [obj for obj in objs if self._pred(obj, ctx)]


def compile_where(where: Mapping[str, Any]) -> CompiledWhere:
    """Validate ``where`` (raising :class:`ParseQueryError`) and compile it."""
    return CompiledWhere(where)


def matches(
    where: Mapping[str, Any],
    obj: Mapping[str, Any],
    *,
    resolve: Resolver | None = None,
    now: datetime | None = None,
) -> bool:
    """Whether the REST-JSON object ``obj`` satisfies the Parse ``where`` query.

    ``resolve`` serves ``$inQuery``/``$notInQuery``/``$select``/``$dontSelect``/``$relatedTo``/``$text``
    (without it they raise :class:`ResolverRequiredError`); ``now`` anchors ``$relativeTime``.
    """
    return compile_where(where).matches(obj, resolve=resolve, now=now)


def _compile_where(where: Any) -> _Pred:
    if not isinstance(where, Mapping):
        raise ParseQueryError("where must be a JSON object")
    preds = [_compile_key(key, constraint) for key, constraint in where.items()]
    return lambda obj, ctx: all(pred(obj, ctx) for pred in preds)


def _compile_key(key: Any, constraint: Any) -> _Pred:
    if not isinstance(key, str):
        raise ParseQueryError(f"Invalid key name: {key}", INVALID_KEY_NAME)
    if key in ("$and", "$or", "$nor"):
        if not isinstance(constraint, list) or not constraint:
            raise ParseQueryError(f"Bad {key} format - use an array of at least 1 value.")
        subs = [_compile_where(sub) for sub in constraint]
        if key == "$and":
            return lambda obj, ctx: all(sub(obj, ctx) for sub in subs)
        if key == "$or":
            return lambda obj, ctx: any(sub(obj, ctx) for sub in subs)
        return lambda obj, ctx: not any(sub(obj, ctx) for sub in subs)
    if key == "$relatedTo":
        return _compile_related_to(constraint)
    if key.startswith("$"):
        raise ParseQueryError(f"Unknown top-level operator: {key}")
    if key == "ACL":
        raise ParseQueryError("Cannot query on ACL.")
    if key not in _SPECIAL_KEYS and not _KEY_RE.fullmatch(key):
        raise ParseQueryError(f"Invalid key name: {key}", INVALID_KEY_NAME)
    parts = tuple(key.split("."))
    tests = _compile_constraint(key, constraint)
    return lambda obj, ctx: all(test(_lookup(obj, parts), ctx) for test in tests)


def _compile_related_to(constraint: Any) -> _Pred:
    if not isinstance(constraint, Mapping):
        raise ParseQueryError("$relatedTo must be an object")
    owner, key = constraint.get("object"), constraint.get("key")
    if not _is_pointer(owner) or not isinstance(owner.get("className"), str):
        raise ParseQueryError("$relatedTo.object must be a pointer")
    if not isinstance(key, str):
        raise ParseQueryError("$relatedTo.key must be a string")
    pointer = {"__type": "Pointer", "className": owner["className"], "objectId": owner.get("objectId")}

    def pred(obj: Mapping[str, Any], ctx: _Ctx) -> bool:
        return obj.get("objectId") in ctx.resolver("$relatedTo").related(pointer, key)

    return pred


def _is_operator_dict(constraint: Any) -> bool:
    if not isinstance(constraint, Mapping) or "__type" in constraint or not constraint:
        return False
    dollar = [k.startswith("$") for k in constraint if isinstance(k, str)]
    if any(dollar) and not (len(dollar) == len(constraint) and all(dollar)):
        raise ParseQueryError("A constraint cannot mix $operators and plain keys")
    return any(dollar)


def _check_value(value: Any, key: str, date_key: bool) -> Any:
    """Validate a query value (a JSON value that is compared for equality); return it normalized."""
    if value is None or isinstance(value, bool | str) or _is_number(value):
        if date_key and isinstance(value, str):
            # createdAt/updatedAt accept ISO strings for Dates; any other string just never matches.
            return value if _parse_iso(value) is None else _date_value(value)
        if isinstance(value, float) and value != value:
            raise ParseQueryError(f"invalid number for {key}", INVALID_JSON)
        return value
    if isinstance(value, list):
        return [_check_value(v, key, False) for v in value]
    if isinstance(value, Mapping):
        tag = value.get("__type")
        if tag == "Date":
            if not isinstance(value.get("iso"), str) or _parse_iso(value["iso"]) is None:
                raise ParseQueryError(f"invalid date for {key}: {value.get('iso')!r}", INVALID_JSON)
        elif tag in _POINTER_TYPES and not (
            isinstance(value.get("className"), str) and isinstance(value.get("objectId"), str)
        ):
            raise ParseQueryError(f"invalid pointer for {key}", INVALID_JSON)
        for k in value:
            if not isinstance(k, str):
                raise ParseQueryError(f"invalid value for {key}", INVALID_JSON)
            if k.startswith("$") and tag is None:
                raise ParseQueryError(f"Unexpected operator {k} in a value for {key}")
        return {k: _check_value(v, key, False) for k, v in value.items()}
    raise ParseQueryError(f"invalid value for {key}", INVALID_JSON)


def _check_list(op: str, arg: Any, key: str, date_key: bool) -> list[Any]:
    if not isinstance(arg, list):
        raise ParseQueryError(f"bad {op} value", INVALID_JSON)
    return [_check_value(v, key, date_key) for v in arg]


def _check_sub_query(op: str, arg: Any) -> tuple[str, Mapping[str, Any]]:
    if not isinstance(arg, Mapping):
        raise ParseQueryError(f"improper usage of {op}")
    class_name, where = arg.get("className"), arg.get("where", {})
    if not isinstance(class_name, str) or not isinstance(where, Mapping):
        raise ParseQueryError(f"improper usage of {op}")
    _compile_where(where)  # validate it now
    return class_name, where


def _compile_comparison(op: str, arg: Any, key: str, date_key: bool) -> _Test:
    if isinstance(arg, Mapping) and "$relativeTime" in arg:
        text = arg["$relativeTime"]
        if not isinstance(text, str) or len(arg) != 1:
            raise ParseQueryError(f"bad $relativeTime ({key}) value.", INVALID_JSON)
        offset = _relative_offset(text, key)

        def comparand(ctx: _Ctx) -> _OrderKey | None:
            return (3, ctx.now + offset)
    else:
        # Any valid value is accepted; only numbers, strings and Dates order, so the rest match nothing.
        fixed = _order_key(_check_value(arg, key, date_key))

        def comparand(ctx: _Ctx) -> _OrderKey | None:
            return fixed

    def test(value: Any, ctx: _Ctx) -> bool:
        left, right = _order_key(value), comparand(ctx)
        if left is None or right is None or left[0] != right[0]:
            return False
        if op == "$lt":
            return bool(left[1] < right[1])
        if op == "$lte":
            return bool(left[1] <= right[1])
        if op == "$gt":
            return bool(left[1] > right[1])
        return bool(left[1] >= right[1])

    return test


def _compile_regex_op(constraint: Mapping[str, Any], key: str) -> re.Pattern[str]:
    pattern, options = constraint["$regex"], constraint.get("$options", "")
    if not isinstance(pattern, str):
        raise ParseQueryError(f"bad $regex value for {key}")
    if not isinstance(options, str) or not _REGEX_OPTIONS_RE.fullmatch(options):
        raise ParseQueryError(f"Bad $options value for query: {options}")
    return compile_regex(pattern, options)


def _compile_all(arg: Any, key: str) -> _Test:
    if not isinstance(arg, list):
        raise ParseQueryError("bad $all value", INVALID_JSON)
    is_regex = [isinstance(v, Mapping) and "$regex" in v for v in arg]
    if any(is_regex):
        if not all(is_regex):
            raise ParseQueryError("All $all values must be of regex type or none", INVALID_JSON)
        for item in arg:
            if set(item) - {"$regex", "$options"}:
                raise ParseQueryError("bad $all value", INVALID_JSON)
        regexes = [_compile_regex_op(item, key) for item in arg]

        def test_regex(value: Any, ctx: _Ctx) -> bool:
            if not isinstance(value, list) or not regexes:
                return False
            strings = [e for e in value if isinstance(e, str)]
            return all(any(rx.search(s) for s in strings) for rx in regexes)

        return test_regex
    items = _check_list("$all", arg, key, False)

    def test(value: Any, ctx: _Ctx) -> bool:
        if not isinstance(value, list) or not items:
            return False
        return all(any(_field_equal(e, item) for e in value) for item in items)

    return test


def _compile_constraint(key: str, constraint: Any) -> list[_Test]:
    date_key = key in _DATE_KEYS
    if not _is_operator_dict(constraint):
        v = _check_value(constraint, key, date_key)
        return [lambda value, ctx: _eq_match(value, v)]
    tests: list[_Test] = []
    for op, arg in constraint.items():
        tests.append(_compile_op(op, arg, constraint, key, date_key))
    return tests


def _compile_op(op: str, arg: Any, constraint: Mapping[str, Any], key: str, date_key: bool) -> _Test:
    if op in ("$eq", "$ne"):
        if isinstance(arg, Mapping) and "$relativeTime" in arg:
            raise ParseQueryError(
                "$relativeTime can only be used with the $lt, $lte, $gt, and $gte operators", INVALID_JSON
            )
        v = _check_value(arg, key, date_key)
        if op == "$eq":
            return lambda value, ctx: _eq_match(value, v)
        return lambda value, ctx: not _eq_match(value, v)
    if op in ("$lt", "$lte", "$gt", "$gte"):
        return _compile_comparison(op, arg, key, date_key)
    if op in ("$in", "$nin"):
        items = _check_list(op, arg, key, date_key)
        if op == "$in":
            return lambda value, ctx: _in_match(value, items)
        return lambda value, ctx: not _in_match(value, items)
    if op == "$exists":
        if not isinstance(arg, bool):
            raise ParseQueryError(f"bad $exists value for {key}: must be a boolean")
        return lambda value, ctx: (value is not None) == arg
    if op == "$all":
        return _compile_all(arg, key)
    if op == "$containedBy":
        allowed = _check_list(op, arg, key, False)

        def contained_by(value: Any, ctx: _Ctx) -> bool:
            if not isinstance(value, list):
                return False
            return all(any(_field_equal(e, a) for a in allowed) for e in value)

        return contained_by
    if op == "$regex":
        regex = _compile_regex_op(constraint, key)
        return lambda value, ctx: isinstance(value, str) and regex.search(value) is not None
    if op == "$options":
        if "$regex" not in constraint:
            raise ParseQueryError(f"$options needs a $regex ({key})")
        return lambda value, ctx: True
    if op in ("$inQuery", "$notInQuery"):
        return _compile_in_query(op, arg)
    if op in ("$select", "$dontSelect"):
        return _compile_select(op, arg)
    if op == "$text":
        return _compile_text(arg, key)
    raise ParseQueryError(f"Unknown operator {op} for key {key}")


def _compile_in_query(op: str, arg: Any) -> _Test:
    class_name, where = _check_sub_query(op, arg)
    token = object()
    negate = op == "$notInQuery"

    def test(value: Any, ctx: _Ctx) -> bool:
        pointers = [
            {"__type": "Pointer", "className": class_name, "objectId": r.get("objectId")}
            for r in ctx.sub_query(token, class_name, where)
        ]
        return _in_match(value, pointers) != negate

    return test


def _compile_select(op: str, arg: Any) -> _Test:
    if not isinstance(arg, Mapping) or not isinstance(arg.get("key"), str) or "query" not in arg:
        raise ParseQueryError(f"improper usage of {op}")
    class_name, where = _check_sub_query(op, arg["query"])
    if not _KEY_RE.fullmatch(arg["key"]):
        raise ParseQueryError(f"Invalid key name: {arg['key']}", INVALID_KEY_NAME)
    parts = tuple(arg["key"].split("."))
    token = object()
    negate = op == "$dontSelect"

    def test(value: Any, ctx: _Ctx) -> bool:
        selected = [_lookup(r, parts) for r in ctx.sub_query(token, class_name, where)]
        return _in_match(value, [s for s in selected if s is not None]) != negate

    return test


def _compile_text(arg: Any, key: str) -> _Test:
    search = arg.get("$search") if isinstance(arg, Mapping) else None
    if not isinstance(search, Mapping):
        raise ParseQueryError("bad $text: $search, should be object", INVALID_JSON)
    if not isinstance(search.get("$term"), str) or not search["$term"]:
        raise ParseQueryError("bad $text: $term, should be string", INVALID_JSON)
    for name in ("$caseSensitive", "$diacriticSensitive"):
        if name in search and not isinstance(search[name], bool):
            raise ParseQueryError(f"bad $text: {name}, should be boolean", INVALID_JSON)
    if "$language" in search and not isinstance(search["$language"], str):
        raise ParseQueryError("bad $text: $language, should be string", INVALID_JSON)
    return lambda value, ctx: ctx.resolver("$text").text(value, search)


# --------------------------------------------------------------------------------------------------
# A resolver over in-memory data (tests, and a model for the server's own)


class ListResolver:
    """Resolves sub-queries against in-memory lists of REST objects with :func:`matches`."""

    def __init__(
        self,
        classes: Mapping[str, Iterable[Mapping[str, Any]]],
        relations: Mapping[tuple[str, str, str], Collection[str]] | None = None,
    ) -> None:
        self._classes = {name: list(objs) for name, objs in classes.items()}
        self._relations = dict(relations or {})

    def query(self, class_name: str, where: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        return compile_where(where).filter(self._classes.get(class_name, []), resolve=self)

    def related(self, owner: Mapping[str, Any], key: str) -> Collection[str]:
        """Relations are keyed by (owner className, owner objectId, relation key)."""
        return self._relations.get((owner["className"], owner["objectId"], key), frozenset())

    def text(self, value: Any, search: Mapping[str, Any]) -> bool:
        return approximate_text_match(value, search)
