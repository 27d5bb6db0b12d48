"""Unit tests of the reference where-evaluator (pure, no server)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parsecrm.errors import ErrorCode, ParseError
from parsecrm.query.evaluate import (
    ListResolver,
    ResolverRequiredError,
    approximate_text_match,
    compile_where,
    matches,
)
from parsecrm.query.regex import translate_regex

INVALID_QUERY, INVALID_KEY_NAME, INVALID_JSON = (
    ErrorCode.INVALID_QUERY,
    ErrorCode.INVALID_KEY_NAME,
    ErrorCode.INVALID_JSON,
)


def date(iso: str) -> dict[str, Any]:
    return {"__type": "Date", "iso": iso}


def ptr(object_id: str, class_name: str = "Company") -> dict[str, Any]:
    return {"__type": "Pointer", "className": class_name, "objectId": object_id}


# Objects as the server returns them from a find.
OBJS: dict[str, dict[str, Any]] = {
    "full": {
        "objectId": "full",
        "createdAt": "2024-01-01T00:00:00.000Z",
        "updatedAt": "2024-01-02T00:00:00.000Z",
        "s": "abc",
        "n": 5,
        "b": True,
        "d": date("2024-05-01T12:00:00.000Z"),
        "a": [1, "x", 3.5],
        "o": {"x": 1, "y": {"z": "deep"}, "l": ["p", "q"]},
        "p": ptr("c1"),
    },
    "nulls": {
        "objectId": "nulls",
        "createdAt": "2024-02-01T00:00:00.000Z",
        "updatedAt": "2024-02-01T00:00:00.000Z",
        "s": None,
        "n": None,
        "b": None,
        "d": None,
        "a": None,
        "o": None,
        "p": None,
    },
    "missing": {
        "objectId": "missing",
        "createdAt": "2024-03-01T00:00:00.000Z",
        "updatedAt": "2024-03-01T00:00:00.000Z",
    },
    "other": {
        "objectId": "other",
        "createdAt": "2023-12-31T23:59:59.999Z",
        "updatedAt": "2024-03-01T00:00:00.000Z",
        "s": "ABD",
        "n": -1.5,
        "b": False,
        "d": date("2020-01-01T00:00:00.000Z"),
        "a": [],
        "o": {"x": "1", "y": 2},
        "p": ptr("c2"),
    },
}


def ids(where: dict[str, Any], **kwargs: Any) -> set[str]:
    return {name for name, obj in OBJS.items() if matches(where, obj, **kwargs)}


ALL = set(OBJS)
NONE_OR_MISSING = {"nulls", "missing"}


# ------------------------------------------------------------------------------------------------
# Equality, $eq, $ne


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({}, ALL),
        ({"s": "abc"}, {"full"}),
        ({"s": "ab"}, set()),
        ({"s": "ABC"}, set()),
        ({"n": 5}, {"full"}),
        ({"n": 5.0}, {"full"}),
        ({"n": "5"}, set()),
        ({"b": True}, {"full"}),
        ({"b": 1}, set()),
        ({"n": True}, set()),
        ({"b": False}, {"other"}),
        ({"s": None}, NONE_OR_MISSING),
        ({"nope": None}, ALL),
        ({"nope": 1}, set()),
        ({"d": date("2024-05-01T12:00:00.000Z")}, {"full"}),
        ({"d": date("2024-05-01T12:00:00Z")}, {"full"}),
        ({"d": date("2024-05-01T14:00:00.000+02:00")}, {"full"}),
        ({"d": "2024-05-01T12:00:00.000Z"}, set()),
        ({"p": ptr("c1")}, {"full"}),
        ({"p": ptr("c1", "Other")}, set()),
        ({"p": {"__type": "Object", "className": "Company", "objectId": "c2", "name": "x"}}, {"other"}),
        ({"p": "c1"}, {"full"}),
        ({"o": {"x": 1, "y": {"z": "deep"}, "l": ["p", "q"]}}, {"full"}),
        ({"o": {"l": ["p", "q"], "y": {"z": "deep"}, "x": 1}}, {"full"}),
        ({"o": {"x": 1}}, set()),
        ({"o": {}}, set()),
        ({"objectId": "full"}, {"full"}),
        ({"s": "abc", "n": 5}, {"full"}),
        ({"s": "abc", "n": 6}, set()),
    ],
)
def test_equality(where: dict[str, Any], expected: set[str]) -> None:
    assert ids(where) == expected
    if not any(isinstance(k, str) and k.startswith("$") for k in where):
        eq_where = {k: {"$eq": v} for k, v in where.items()}
        assert ids(eq_where) == expected


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"a": 1}, {"full"}),
        ({"a": 1.0}, {"full"}),
        ({"a": "x"}, {"full"}),
        ({"a": 3.5}, {"full"}),
        ({"a": 2}, set()),
        ({"a": [1, "x", 3.5]}, {"full"}),
        ({"a": [1, "x"]}, set()),
        ({"a": ["x", 1, 3.5]}, set()),
        ({"a": []}, {"other"}),
        ({"a": None}, NONE_OR_MISSING),
        ({"o.l": "p"}, {"full"}),
    ],
)
def test_array_equality_means_contains(where: dict[str, Any], expected: set[str]) -> None:
    assert ids(where) == expected


def test_null_equality_does_not_match_arrays_containing_null() -> None:
    assert not matches({"a": None}, {"a": [None, 1]})
    assert matches({"a": {"$ne": None}}, {"a": [None]})
    assert matches({"a": {"$all": [None]}}, {"a": [None]})


def test_array_of_pointers_contains_pointer_and_id() -> None:
    obj = {"a": [ptr("c1"), ptr("c2", "Other")]}
    assert matches({"a": ptr("c1")}, obj)
    assert matches({"a": ptr("c2", "Other")}, obj)
    assert not matches({"a": ptr("c2")}, obj)
    assert matches({"a": "c1"}, obj)
    assert matches({"a": {"$in": [ptr("c9"), ptr("c1")]}}, obj)


def test_array_element_that_is_itself_an_array() -> None:
    obj = {"a": [[1, 2], 3]}
    assert matches({"a": [1, 2]}, obj)
    assert matches({"a": [[1, 2], 3]}, obj)
    assert not matches({"a": 1}, obj)


def test_nested_dates_and_objects_inside_arrays() -> None:
    obj = {"a": [date("2024-01-01T00:00:00.000Z"), {"k": 1}]}
    assert matches({"a": date("2024-01-01T00:00:00Z")}, obj)
    assert matches({"a": {"k": 1.0}}, obj)
    assert not matches({"a": {"k": 1, "j": 2}}, obj)


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"s": {"$ne": "abc"}}, ALL - {"full"}),
        ({"s": {"$ne": None}}, {"full", "other"}),
        ({"n": {"$ne": 5}}, ALL - {"full"}),
        ({"n": {"$ne": "5"}}, ALL),
        ({"a": {"$ne": 1}}, ALL - {"full"}),
        ({"a": {"$ne": []}}, ALL - {"other"}),
        ({"p": {"$ne": ptr("c1")}}, ALL - {"full"}),
        ({"d": {"$ne": date("2020-01-01T00:00:00.000Z")}}, ALL - {"other"}),
        ({"o.x": {"$ne": 1}}, ALL - {"full"}),
        ({"s": {"$ne": "abc", "$exists": True}}, {"other"}),
        ({"s": {"$eq": None}}, NONE_OR_MISSING),
    ],
)
def test_ne(where: dict[str, Any], expected: set[str]) -> None:
    assert ids(where) == expected


# ------------------------------------------------------------------------------------------------
# Comparisons


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"n": {"$gt": 0}}, {"full"}),
        ({"n": {"$gte": 5}}, {"full"}),
        ({"n": {"$gt": 5}}, set()),
        ({"n": {"$lt": 0}}, {"other"}),
        ({"n": {"$lte": -1.5}}, {"other"}),
        ({"n": {"$gt": -10, "$lt": 10}}, {"full", "other"}),
        ({"n": {"$gt": -10, "$lt": 0}}, {"other"}),
        ({"n": {"$lt": "z"}}, set()),
        ({"n": {"$lt": None}}, set()),
        ({"n": {"$gte": None}}, set()),
        ({"s": {"$gt": "ABC"}}, {"full", "other"}),
        ({"s": {"$lt": "a"}}, {"other"}),
        ({"s": {"$gte": "abc"}}, {"full"}),
        ({"s": {"$lt": 5}}, set()),
        ({"b": {"$gt": False}}, set()),
        ({"b": {"$lte": True}}, set()),
        ({"n": {"$lt": [1]}}, set()),
        ({"n": {"$lt": {"x": 1}}}, set()),
        ({"d": {"$lt": {"iso": "2030-01-01T00:00:00.000Z"}}}, set()),
        ({"p": {"$gte": ptr("c1")}}, set()),
        ({"d": {"$gt": date("2021-01-01T00:00:00.000Z")}}, {"full"}),
        ({"d": {"$lte": date("2020-01-01T00:00:00.000Z")}}, {"other"}),
        ({"d": {"$lt": date("2020-01-01T00:00:00.000Z")}}, set()),
        ({"d": {"$gt": "2000-01-01T00:00:00.000Z"}}, set()),
        ({"a": {"$gt": 0}}, set()),
        ({"o": {"$gt": 0}}, set()),
        ({"o.x": {"$gte": 1}}, {"full"}),
        ({"o.x": {"$gte": "1"}}, {"other"}),
        ({"o.y": {"$gt": 1}}, {"other"}),
        ({"createdAt": {"$lt": date("2024-01-01T00:00:00.000Z")}}, {"other"}),
        ({"createdAt": {"$lte": date("2024-01-01T00:00:00.000Z")}}, {"full", "other"}),
        ({"createdAt": {"$gte": "2024-02-01T00:00:00Z"}}, {"nulls", "missing"}),
        ({"createdAt": date("2024-02-01T00:00:00Z")}, {"nulls"}),
        ({"createdAt": "2024-02-01T00:00:00.000Z"}, {"nulls"}),
        ({"updatedAt": {"$in": ["2024-03-01T00:00:00Z"]}}, {"missing", "other"}),
        ({"createdAt": "yesterday"}, set()),
        ({"createdAt": {"$gt": ""}}, set()),
        ({"createdAt": {"$ne": "yesterday"}}, ALL),
    ],
)
def test_comparisons(where: dict[str, Any], expected: set[str]) -> None:
    assert ids(where) == expected


def test_string_order_is_code_point_order() -> None:
    # "Z" (U+005A) < "a" (U+0061) < "é" (U+00E9) < "日" < "🎉" (outside the BMP)
    ordered = ["", "Z", "a", "ab", "b", "é", "日", "🎉"]
    for i, low in enumerate(ordered):
        for high in ordered[i + 1 :]:
            assert matches({"s": {"$lt": high}}, {"s": low})
            assert not matches({"s": {"$lt": low}}, {"s": high})
            assert matches({"s": {"$gte": low}}, {"s": high})


def test_relative_time() -> None:
    now = datetime(2024, 6, 1, tzinfo=UTC)
    recent = {"d": date("2024-05-31T12:00:00.000Z")}
    old = {"d": date("2024-05-01T00:00:00.000Z")}
    where = {"d": {"$gt": {"$relativeTime": "1 day ago"}}}
    assert matches(where, recent, now=now)
    assert not matches(where, old, now=now)
    assert matches({"d": {"$lt": {"$relativeTime": "in 2 weeks"}}}, old, now=now)
    assert matches({"d": {"$lt": {"$relativeTime": "now"}}}, old, now=now)
    assert matches({"d": {"$gte": {"$relativeTime": "2 days 3 hrs ago"}}}, recent, now=now)


@pytest.mark.parametrize("text", ["1 day", "in 1 day ago", "in 1", "in x days", "in 1.5 days", "in 1 fortnight", ""])
def test_relative_time_errors(text: str) -> None:
    with pytest.raises(ParseError) as info:
        matches({"d": {"$gt": {"$relativeTime": text}}}, {})
    assert info.value.code == INVALID_JSON


def test_relative_time_only_with_comparisons() -> None:
    with pytest.raises(ParseError):
        matches({"d": {"$eq": {"$relativeTime": "1 day ago"}}}, {})


# ------------------------------------------------------------------------------------------------
# $in, $nin, $exists, $all, $containedBy


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"s": {"$in": ["abc", "zzz"]}}, {"full"}),
        ({"s": {"$in": []}}, set()),
        ({"s": {"$in": [None]}}, NONE_OR_MISSING),
        ({"s": {"$in": ["abc", None]}}, {"full"} | NONE_OR_MISSING),
        ({"s": {"$nin": ["abc"]}}, ALL - {"full"}),
        ({"s": {"$nin": []}}, ALL),
        ({"s": {"$nin": [None]}}, {"full", "other"}),
        ({"n": {"$in": [5.0, -1.5]}}, {"full", "other"}),
        ({"n": {"$in": ["5"]}}, set()),
        ({"a": {"$in": [3.5]}}, {"full"}),
        ({"a": {"$in": ["y", "x"]}}, {"full"}),
        ({"a": {"$in": [[]]}}, {"other"}),
        ({"a": {"$nin": ["x"]}}, ALL - {"full"}),
        ({"a": {"$nin": [7]}}, ALL),
        ({"p": {"$in": [ptr("c2"), ptr("c1", "Other")]}}, {"other"}),
        ({"p": {"$nin": [ptr("c2")]}}, ALL - {"other"}),
        ({"d": {"$in": [date("2020-01-01T00:00:00Z")]}}, {"other"}),
        ({"o.x": {"$in": [1, "nope"]}}, {"full"}),
        ({"objectId": {"$in": ["full", "missing"]}}, {"full", "missing"}),
        ({"objectId": {"$nin": ["full", "missing"]}}, {"nulls", "other"}),
    ],
)
def test_in_nin(where: dict[str, Any], expected: set[str]) -> None:
    assert ids(where) == expected


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"s": {"$exists": True}}, {"full", "other"}),
        ({"s": {"$exists": False}}, NONE_OR_MISSING),
        ({"a": {"$exists": True}}, {"full", "other"}),
        ({"o.y.z": {"$exists": True}}, {"full"}),
        ({"o.y": {"$exists": True}}, {"full", "other"}),
        ({"o.y.z": {"$exists": False}}, ALL - {"full"}),
        ({"nope": {"$exists": False}}, ALL),
        ({"objectId": {"$exists": True}}, ALL),
    ],
)
def test_exists(where: dict[str, Any], expected: set[str]) -> None:
    assert ids(where) == expected


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"a": {"$all": [1]}}, {"full"}),
        ({"a": {"$all": ["x", 1]}}, {"full"}),
        ({"a": {"$all": ["x", 2]}}, set()),
        ({"a": {"$all": []}}, set()),
        ({"s": {"$all": ["abc"]}}, set()),
        ({"o.l": {"$all": ["q", "p"]}}, {"full"}),
        ({"a": {"$containedBy": [1, "x", 3.5, 99]}}, {"full", "other"}),
        ({"a": {"$containedBy": [1, "x"]}}, {"other"}),
        ({"a": {"$containedBy": []}}, {"other"}),
        ({"s": {"$containedBy": ["abc"]}}, set()),
    ],
)
def test_all_contained_by(where: dict[str, Any], expected: set[str]) -> None:
    assert ids(where) == expected


def test_all_with_regexes_is_contains_all_starting_with() -> None:
    obj = {"a": ["apple", "banana", 3]}
    assert matches({"a": {"$all": [{"$regex": "^\\Qapp\\E"}, {"$regex": "^\\Qban\\E"}]}}, obj)
    assert not matches({"a": {"$all": [{"$regex": "^\\Qapp\\E"}, {"$regex": "^\\Qcar\\E"}]}}, obj)
    assert matches({"a": {"$all": [{"$regex": "^\\QAPP\\E", "$options": "i"}]}}, obj)
    with pytest.raises(ParseError):
        matches({"a": {"$all": [{"$regex": "^a"}, "banana"]}}, obj)


def test_contained_by_with_pointers() -> None:
    obj = {"a": [ptr("c1"), ptr("c2")]}
    assert matches({"a": {"$containedBy": [ptr("c1"), ptr("c2"), ptr("c3")]}}, obj)
    assert not matches({"a": {"$containedBy": [ptr("c1")]}}, obj)


# ------------------------------------------------------------------------------------------------
# $regex


@pytest.mark.parametrize(
    ("pattern", "options", "value", "expected"),
    [
        ("^\\Qab\\E", "", "abc", True),
        ("^\\Qab\\E", "", "xabc", False),
        ("\\Qbc\\E$", "", "abc", True),
        ("\\Qb\\E", "", "abc", True),
        ("^\\Q.*\\E", "", "abc", False),
        ("^\\Q.*\\E", "", ".*abc", True),
        ("^\\Qa+b\\E$", "", "a+b", True),
        ("^\\Qa+b\\E$", "", "aab", False),
        ("^\\Q(x)[y]{1}|\\E$", "", "(x)[y]{1}|", True),
        ("^\\Q\\d\\E$", "", "\\d", True),
        ("^\\Q\\d\\E$", "", "1", False),
        ("\\Qa\\\\E", "", "a\\", True),
        ("^\\Qab", "", "ab*", True),
        ("^\\Qa*", "", "aaa", False),
        ("^\\Qa*", "", "a*b", True),
        ("^\\Qa\\E\\Qb\\E$", "", "ab", True),
        ("^\\Qa b\\E$", "x", "a b", True),
        ("^a b$", "x", "ab", True),
        ("\\\\Q", "", "x\\Qy", True),
        ("^\\Q'; drop table t; --\\E", "", "'; drop table t; -- x", True),
        ("^\\Q%\\E", "", "%x", True),
        ("^\\Q%\\E", "", "x", False),
        ("^\\Q_\\E$", "", "a", False),
        ("^\\Q$1\\E$", "", "$1", True),
        ("^\\QAB\\E", "i", "abc", True),
        ("^\\QAB\\E", "", "abc", False),
        ("^\\QÉ\\E", "i", "été", True),
        ("^b", "", "a\nb", False),
        ("^b", "m", "a\nb", True),
        ("a.b", "", "a\nb", False),
        ("a.b", "s", "a\nb", True),
        ("tail$", "", "tail\n", True),
        ("tail\\z", "", "tail\n", False),
        ("tail\\Z", "", "tail\n", True),
        ("(?<=a)b", "", "ab", True),
        ("", "", "anything", True),
        ("", "", "", True),
        ("日本", "u", "こんにちは日本", True),
        # PCRE without UCP: \d \w \s \b and POSIX classes are ASCII-only
        ("^\\d$", "", "7", True),
        ("^\\d$", "", "٣", False),
        ("^\\w+$", "", "abc_1", True),
        ("^\\w+$", "", "été", False),
        ("^\\W$", "", "é", True),
        ("^\\s$", "", "\u00a0", False),
        ("^\\s$", "", "\x0b", True),
        ("\\blead", "", "a lead", True),
        ("\\blead", "", "mislead", False),
        ("d\\b", "", "lead ", True),
        ("\\Bb", "", "aab", True),
        ("\\Bb", "", "b", False),
        ("^[\\w-]+$", "", "a-b_c", True),
        ("^[[:alpha:]]+$", "", "Abc", True),
        ("^[[:alpha:]]+$", "", "été", False),
        ("^[[:digit:][:upper:]]+$", "", "A1", True),
        ("^[[:punct:]]+$", "", "%_'", True),
        ("^[]a]+$", "", "]a]", True),
        ("^[^]a]$", "", "b", True),
        ("^[[]$", "", "[", True),
        ("^[\\Q]-\\E]+$", "", "]-]", True),
        ("(?i)^abc", "", "ABC", True),
        ("^\\x41", "", "A", True),
    ],
)
def test_regex(pattern: str, options: str, value: str, expected: bool) -> None:
    where: dict[str, Any] = {"s": {"$regex": pattern}}
    if options:
        where["s"]["$options"] = options
    assert matches(where, {"s": value}) is expected


@pytest.mark.parametrize("value", [None, 5, True, ["abc"], {"x": "abc"}, date("2024-01-01T00:00:00Z")])
def test_regex_only_matches_strings(value: Any) -> None:
    assert not matches({"f": {"$regex": ""}}, {"f": value})
    assert not matches({"f": {"$regex": "abc"}}, {"f": value})


@given(literal=st.text().filter(lambda t: "\\E" not in t), value=st.text())
def test_quoted_literals_are_starts_ends_contains(literal: str, value: str) -> None:
    """What the SDK's startsWith/endsWith/contains send means exactly that, whatever the characters."""
    quoted = f"\\Q{literal}\\E"
    assert matches({"s": {"$regex": "^" + quoted}}, {"s": value}) is value.startswith(literal)
    assert matches({"s": {"$regex": quoted}}, {"s": value}) is (literal in value)
    ends = value.endswith(literal) or value.endswith(literal + "\n")
    assert matches({"s": {"$regex": quoted + "$"}}, {"s": value}) is ends
    assert matches({"s": {"$regex": "^" + quoted}}, {"s": literal + value})
    assert matches({"s": {"$regex": quoted, "$options": "x"}}, {"s": value}) is (literal in value)


@given(pattern=st.text(max_size=20), options=st.text(alphabet="imxsu", max_size=3), value=st.text(max_size=10))
def test_any_regex_compiles_or_is_a_query_error(pattern: str, options: str, value: str) -> None:
    try:
        result = matches({"s": {"$regex": pattern, "$options": options}}, {"s": value})
    except ParseError as exc:
        assert exc.code == INVALID_QUERY
    else:
        assert isinstance(result, bool)


def test_regex_on_dotted_key() -> None:
    assert matches({"o.y.z": {"$regex": "^\\Qde\\E"}}, OBJS["full"])


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("\\Qa.b\\E", re.escape("a.b")),
        ("^\\Qab", "^ab"),
        ("x\\Ey", "xy"),
        ("\\\\Q", "\\\\Q"),
        ("\\z", "\\Z"),
        ("\\d", "[0-9]"),
        ("[\\d.]", "[0-9.]"),
        ("[[:xdigit:]]", "[0-9A-Fa-f]"),
        ("(?<n>x)", "(?P<n>x)"),
        ("(?<!x)", "(?<!x)"),
    ],
)
def test_translate_regex(pattern: str, expected: str) -> None:
    assert translate_regex(pattern) == expected


@pytest.mark.parametrize(
    "where",
    [
        {"s": {"$regex": "("}},
        {"s": {"$regex": "a", "$options": "g"}},
        {"s": {"$regex": "a", "$options": 1}},
        {"s": {"$regex": 5}},
        {"s": {"$options": "i"}},
        {"s": {"$regex": "\\h"}},
        {"s": {"$regex": "[[:^alpha:]]"}},
        {"s": {"$regex": "[[:nope:]]"}},
    ],
)
def test_regex_errors(where: dict[str, Any]) -> None:
    with pytest.raises(ParseError) as info:
        matches(where, {"s": "a"})
    assert info.value.code == INVALID_QUERY


# ------------------------------------------------------------------------------------------------
# Logic and dotted keys


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"$or": [{"s": "abc"}, {"n": -1.5}]}, {"full", "other"}),
        ({"$or": [{"s": "abc"}]}, {"full"}),
        ({"$and": [{"s": {"$exists": True}}, {"n": {"$lt": 0}}]}, {"other"}),
        ({"$nor": [{"s": "abc"}, {"s": None}]}, {"other"}),
        ({"$nor": [{"s": {"$exists": True}}]}, NONE_OR_MISSING),
        ({"$or": [{"s": "abc"}, {"s": "ABD"}], "n": {"$gt": 0}}, {"full"}),
        (
            {"$or": [{"$and": [{"n": 5}, {"b": True}]}, {"$nor": [{"a": {"$exists": True}}]}]},
            {"full"} | NONE_OR_MISSING,
        ),
        ({"$or": [{}]}, ALL),
        ({"$nor": [{}]}, set()),
    ],
)
def test_logic(where: dict[str, Any], expected: set[str]) -> None:
    assert ids(where) == expected


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"o.x": 1}, {"full"}),
        ({"o.x": "1"}, {"other"}),
        ({"o.y.z": "deep"}, {"full"}),
        ({"o.y": 2}, {"other"}),
        ({"o.y": {"z": "deep"}}, {"full"}),
        ({"o.y.z.w": None}, ALL),
        ({"o.x.w": 1}, set()),
        ({"o.missing": None}, ALL),
        ({"d.iso": "2024-05-01T12:00:00.000Z"}, set()),
        ({"p.objectId": "c1"}, set()),
        ({"a.0": 1}, set()),
        ({"s.length": 3}, set()),
    ],
)
def test_dotted_keys(where: dict[str, Any], expected: set[str]) -> None:
    assert ids(where) == expected


# ------------------------------------------------------------------------------------------------
# Errors


@pytest.mark.parametrize(
    ("where", "code"),
    [
        ({"s": {"$foo": 1}}, INVALID_QUERY),
        ({"s": {"$eq": 1, "x": 2}}, INVALID_QUERY),
        ({"$foo": []}, INVALID_QUERY),
        ({"$or": {}}, INVALID_QUERY),
        ({"$or": []}, INVALID_QUERY),
        ({"$and": "x"}, INVALID_QUERY),
        ({"$nor": [1]}, INVALID_QUERY),
        ({"ACL": {"*": {"read": True}}}, INVALID_QUERY),
        ({"1bad": 1}, INVALID_KEY_NAME),
        ({"bad-key": 1}, INVALID_KEY_NAME),
        ({"a..b": 1}, INVALID_KEY_NAME),
        ({"a.": 1}, INVALID_KEY_NAME),
        ({"_private": 1}, INVALID_KEY_NAME),
        ({"'; drop table x": 1}, INVALID_KEY_NAME),
        ({"s": {"$in": "abc"}}, INVALID_JSON),
        ({"s": {"$nin": {"a": 1}}}, INVALID_JSON),
        ({"a": {"$all": "x"}}, INVALID_JSON),
        ({"a": {"$containedBy": 1}}, INVALID_JSON),
        ({"s": {"$exists": 1}}, INVALID_QUERY),
        ({"s": {"$exists": "true"}}, INVALID_QUERY),
        ({"d": {"$lt": date("not a date")}}, INVALID_JSON),
        ({"n": {"$lt": {"$gt": 1}}}, INVALID_QUERY),
        ({"n": {"$lt": {"__type": "Pointer", "className": "C", "objectId": 1}}}, INVALID_JSON),
        ({"d": date("2024-13-01T00:00:00Z")}, INVALID_JSON),
        ({"p": {"__type": "Pointer", "className": "C"}}, INVALID_JSON),
        ({"o": {"x": {"$gt": 1}}}, INVALID_QUERY),
        ({"s": {"$in": [{"$gt": 1}]}}, INVALID_QUERY),
        ({"loc": {"$nearSphere": {"__type": "GeoPoint", "latitude": 91, "longitude": 0}}}, INVALID_JSON),
        ({"loc": {"$within": {"$box": [{"__type": "GeoPoint", "latitude": 1, "longitude": 1}]}}}, INVALID_JSON),
        ({"loc": {"$geoWithin": {"$polygon": [[1, 1], [2, 2]]}}}, INVALID_JSON),
        ({"loc": {"$maxDistance": 1}}, INVALID_QUERY),
        ({"loc": {"$geoIntersects": {"$point": [0, 0]}}}, INVALID_JSON),
        ({"s": {"$text": {"$search": "x"}}}, INVALID_JSON),
        ({"s": {"$text": {"$search": {"$term": ""}}}}, INVALID_JSON),
        ({"s": {"$inQuery": {"where": {}}}}, INVALID_QUERY),
        ({"s": {"$inQuery": {"className": "C", "where": {"x": {"$bogus": 1}}}}}, INVALID_QUERY),
        ({"s": {"$select": {"query": {"className": "C"}}}}, INVALID_QUERY),
        ({"s": {"$select": {"query": {"className": "C"}, "key": "bad key"}}}, INVALID_KEY_NAME),
        ({"$relatedTo": {"object": {"className": "C", "objectId": "x"}, "key": "k"}}, INVALID_QUERY),
    ],
)
def test_errors(where: Any, code: int) -> None:
    with pytest.raises(ParseError) as info:
        compile_where(where)
    assert info.value.code == code
    # The error does not depend on the data: even an object that fails an earlier key raises.
    with pytest.raises(ParseError):
        matches({"objectId": "nobody", **where}, OBJS["full"])


def test_where_must_be_an_object() -> None:
    with pytest.raises(ParseError):
        matches([], {})  # type: ignore[arg-type]


@pytest.mark.parametrize("key", ["_rperm", "_wperm", "_acl", "_hashed_password", "_failed_login_count"])
def test_internal_columns_are_not_keys(key: str) -> None:
    """The server's own columns (permissions, secrets) can never be queried: the one parser refuses them."""
    with pytest.raises(ParseError) as info:
        compile_where({key: None})
    assert info.value.code == INVALID_KEY_NAME


# ------------------------------------------------------------------------------------------------
# Operators needing a resolver

COMPANIES: list[dict[str, Any]] = [
    {"objectId": "c1", "name": "Acme", "tier": "gold", "tags": ["a", "b"]},
    {"objectId": "c2", "name": "Initech", "tier": "silver"},
    {"objectId": "c3", "name": "Umbrella", "tier": "gold"},
]
DEALS: list[dict[str, Any]] = [
    {"objectId": "d1", "company": ptr("c1"), "stage": "gold", "title": "The quick brown fox"},
    {"objectId": "d2", "company": ptr("c2"), "stage": "lead", "title": "Lazy dogs sleep"},
    {"objectId": "d3", "stage": "silver", "title": "Café résumé"},
    {"objectId": "d4", "companies": [ptr("c2"), ptr("c3")], "stage": "won"},
]
RESOLVER = ListResolver(
    {"Company": COMPANIES, "Deal": DEALS},
    relations={("Company", "c1", "deals"): {"d1", "d3"}},
)


def deal_ids(where: dict[str, Any]) -> set[str]:
    return {str(d["objectId"]) for d in compile_where(where).filter(DEALS, resolve=RESOLVER)}


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"company": {"$inQuery": {"className": "Company", "where": {"tier": "gold"}}}}, {"d1"}),
        ({"company": {"$inQuery": {"className": "Company", "where": {"tier": "none"}}}}, set()),
        ({"companies": {"$inQuery": {"className": "Company", "where": {"tier": "gold"}}}}, {"d4"}),
        (
            {"company": {"$notInQuery": {"className": "Company", "where": {"tier": "gold"}}}},
            {"d2", "d3", "d4"},
        ),
        ({"company": {"$inQuery": {"className": "Other", "where": {}}}}, set()),
        (
            {"stage": {"$select": {"query": {"className": "Company", "where": {}}, "key": "tier"}}},
            {"d1", "d3"},
        ),
        (
            {"stage": {"$dontSelect": {"query": {"className": "Company", "where": {}}, "key": "tier"}}},
            {"d2", "d4"},
        ),
        (
            {"stage": {"$select": {"query": {"className": "Company", "where": {}}, "key": "nope"}}},
            set(),
        ),
        ({"$relatedTo": {"object": ptr("c1"), "key": "deals"}}, {"d1", "d3"}),
        ({"$relatedTo": {"object": ptr("c2"), "key": "deals"}}, set()),
        ({"$relatedTo": {"object": ptr("c1"), "key": "deals"}, "stage": "gold"}, {"d1"}),
        ({"title": {"$text": {"$search": {"$term": "fox"}}}}, {"d1"}),
        ({"title": {"$text": {"$search": {"$term": "FOX dogs"}}}}, {"d1", "d2"}),
        ({"title": {"$text": {"$search": {"$term": "cafe"}}}}, set()),  # accents count, as in PostgreSQL
        ({"title": {"$text": {"$search": {"$term": "cafe", "$diacriticSensitive": True}}}}, set()),
        ({"title": {"$text": {"$search": {"$term": "CAFÉ"}}}}, {"d3"}),
        ({"title": {"$text": {"$search": {"$term": "cafe", "$diacriticSensitive": False}}}}, {"d3"}),
        ({"title": {"$text": {"$search": {"$term": "fox", "$caseSensitive": True}}}}, {"d1"}),
        ({"title": {"$text": {"$search": {"$term": "Fox", "$caseSensitive": True}}}}, set()),
    ],
)
def test_resolver_operators(where: dict[str, Any], expected: set[str]) -> None:
    assert deal_ids(where) == expected


def test_select_a_pointers_object_id() -> None:
    # `pointer.objectId` as a $select key reads the target's id; objects without the pointer give nothing
    def company_ids(op: str, where: dict[str, Any]) -> set[str]:
        sub = {op: {"query": {"className": "Deal", "where": where}, "key": "company.objectId"}}
        return {str(c["objectId"]) for c in compile_where({"objectId": sub}).filter(COMPANIES, resolve=RESOLVER)}

    assert company_ids("$select", {"stage": "gold"}) == {"c1"}
    assert company_ids("$select", {}) == {"c1", "c2"}
    assert company_ids("$dontSelect", {}) == {"c3"}


@pytest.mark.parametrize(
    "where",
    [
        {"company": {"$inQuery": {"className": "Company", "where": {}}}},
        {"company": {"$notInQuery": {"className": "Company", "where": {}}}},
        {"stage": {"$select": {"query": {"className": "Company", "where": {}}, "key": "tier"}}},
        {"stage": {"$dontSelect": {"query": {"className": "Company", "where": {}}, "key": "tier"}}},
        {"$relatedTo": {"object": ptr("c1"), "key": "deals"}},
        {"title": {"$text": {"$search": {"$term": "fox"}}}},
    ],
)
def test_resolver_required(where: dict[str, Any]) -> None:
    compile_where(where)  # valid
    with pytest.raises(ResolverRequiredError):
        matches(where, DEALS[0])


def test_sub_query_runs_once_per_filter() -> None:
    calls: list[str] = []

    class Counting(ListResolver):
        def query(self, class_name: str, where: Any) -> list[Any]:
            calls.append(class_name)
            return super().query(class_name, where)

    resolver = Counting({"Company": COMPANIES})
    where = {"company": {"$inQuery": {"className": "Company", "where": {"tier": "gold"}}}}
    assert len(compile_where(where).filter(DEALS, resolve=resolver)) == 1
    assert calls == ["Company"]


@pytest.mark.parametrize(
    ("value", "term", "expected"),
    [
        ("The quick brown fox", "quick", True),
        ("The quick brown fox", "qui", False),
        ("The quick brown fox", "-quick fox", False),
        ("The quick brown fox", '"brown fox"', True),
        ("The quick brown fox", '"fox brown"', False),
        ("The quick brown fox", '"brown fox" cat', False),
        ("The quick brown fox", '"brown fox" quick', True),
        (5, "5", False),
    ],
)
def test_approximate_text_match(value: Any, term: str, expected: bool) -> None:
    assert approximate_text_match(value, {"$term": term}) is expected
