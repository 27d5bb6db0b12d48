"""Parse's regexes (PCRE flavoured, as MongoDB runs them): checked once, then translated for each engine.

- `check` refuses, with 102 at parse time, what is malformed or could run for minutes: patterns longer than
  `RegexLimits.max_length`, back-references (`\\1`, `\\k<name>`: PostgreSQL's engine backtracks exponentially on
  them — `^(e+)(e+)(e+)\\3\\2\\1$` held a connection for 12 s on a 201-character title), nested or alternating
  quantified groups (`(a+)+`, `(a|b)*`: exponential in Python's engine, which the live-query matcher uses) and
  repetition counts over 255 (PostgreSQL's limit). Every statement still runs under the statement timeout, as a
  backstop.
- `to_python` compiles the PCRE meaning for Python's `re` (the evaluator): `\\Q…\\E` literal quoting, ASCII-only
  `\\d \\w \\s \\b` and POSIX classes (PCRE without UCP), `\\z`/`\\Z`, `(?<name>…)`.
- `to_postgres` gives the PostgreSQL ARE with the same meaning: quoted literals escaped character by character,
  `\\b` → `\\y` (a backspace in ARE), PCRE's `$` (also before a final newline), options as ARE embedded flags so
  `.`, `^` and `$` behave as in PCRE. Known gap: with `i`, case folding of non-ASCII letters follows the
  database's C collation (é does not match É).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ..errors import ErrorCode, ParseError

OPTIONS = frozenset("imxsu")
MAX_REPEAT = 255  # PostgreSQL's own limit (RE_DUP_MAX)


@dataclass(frozen=True)
class RegexLimits:
    max_length: int = 1000  # characters of pattern (PARSE_MAX_REGEX_LENGTH)


def _bad(message: str) -> ParseError:
    return ParseError(ErrorCode.INVALID_QUERY, message)


# -- safety ---------------------------------------------------------------------------------------------------------

_QUANTIFIER = re.compile(r"[*+?]|\{(\d*)(,?)(\d*)\}")


def check(pattern: str, options: str, limits: RegexLimits) -> None:
    """Raise 102 unless `pattern` is a valid regex this server is willing to run (see the module docstring)."""
    if len(pattern) > limits.max_length:
        raise _bad(f"The regular expression is longer than {limits.max_length} characters (PARSE_MAX_REGEX_LENGTH).")
    _check_structure(pattern)
    to_python(pattern, options)  # compiles, or raises 102
    to_postgres(pattern, options)


def _check_structure(pattern: str) -> None:
    """Back-references, quantified groups holding a quantifier or an alternation, huge repetition counts."""
    # per open group: [holds a quantifier or an alternation]
    groups: list[bool] = [False]
    last_group_risky = False  # the group that just closed held a quantifier/alternation
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        after_group, last_group_risky = last_group_risky, False
        if c == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            if nxt == "Q":
                end = pattern.find("\\E", i + 2)
                i = n if end < 0 else end + 2
                continue
            if nxt in "123456789" or nxt in "kg":
                raise _bad("Back-references are not supported in regular expressions (they can run for minutes).")
            i += 2
            continue
        if c == "[":
            i = _class_end(pattern, i)
            continue
        if c == "(":
            if pattern.startswith("(?P=", i):
                raise _bad("Back-references are not supported in regular expressions (they can run for minutes).")
            groups.append(False)
            i += 1
            if pattern.startswith("?", i):  # (?:  (?=  (?<name>  (?i) …: a prefix, not a quantifier
                i += 1
                while i < n and (pattern[i].isalnum() or pattern[i] in "_:=!<>-"):
                    i += 1
            continue
        if c == ")":
            risky = groups.pop() if len(groups) > 1 else False
            last_group_risky = risky
            i += 1
            continue
        if c == "|":
            groups[-1] = True
            i += 1
            continue
        m = _QUANTIFIER.match(pattern, i)
        if m:
            low, comma, high = m.group(1), m.group(2), m.group(3)
            if any(x and int(x) > MAX_REPEAT for x in (low, high)):
                raise _bad(f"Repetition counts above {MAX_REPEAT} are not supported in regular expressions.")
            repeats = m.group(0) in ("*", "+") or (m.group(0).startswith("{") and (comma or (low and int(low) > 1)))
            if repeats and after_group:
                raise _bad("Nested quantifiers such as (a+)+ or (a|b)* are not supported in regular expressions.")
            groups[-1] = True  # any quantifier inside makes a repeated group ambiguous
            i = m.end()
            if i < n and pattern[i] in "?+":  # lazy or possessive modifier
                i += 1
            continue
        i += 1


def _class_end(pattern: str, i: int) -> int:
    """The index after the character class starting at `i` (a leading `]` or `^]` is a literal)."""
    j = i + 1
    if j < len(pattern) and pattern[j] == "^":
        j += 1
    if j < len(pattern) and pattern[j] == "]":
        j += 1
    while j < len(pattern):
        if pattern[j] == "\\":
            j += 2
            continue
        if pattern[j] == "[" and pattern.startswith("[:", j):
            close = pattern.find(":]", j + 2)
            j = j + 1 if close < 0 else close + 2
            continue
        if pattern[j] == "]":
            return j + 1
        j += 1
    return j


# -- PCRE → Python re (the evaluator) -------------------------------------------------------------------------------

_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE, "u": 0}
_WORD = "A-Za-z0-9_"
_SPACE = "\\t\\n\\x0b\\f\\r\\x20"
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
    """A Mongo/Parse (PCRE) regex in Python `re` syntax with the same meaning (see the module docstring). PCRE-only
    escapes such as `\\h` are passed through and fail to compile."""
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
                    raise _bad(f"Unsupported POSIX class in regular expression: {posix.group(0)}")
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
def to_python(pattern: str, options: str) -> re.Pattern[str]:
    """The compiled Python regex (cached); 102 if it does not compile."""
    flags = 0
    for option in options:
        flags |= _FLAGS[option]
    try:
        return re.compile(translate_regex(pattern), flags)
    except (re.error, OverflowError, RecursionError, ValueError) as exc:
        raise _bad(f"Invalid regular expression {pattern[:100]!r}: {exc}") from None


# -- PCRE → PostgreSQL ARE (the SQL compiler) ----------------------------------------------------------------------

_SPECIAL = set("\\.^$|?*+()[]{}")
_LEADING_FLAGS = re.compile(r"^\(\?([imsx]+)\)")


def _escape(text: str, expanded: bool) -> str:
    out = []
    for c in text:
        if c in _SPECIAL or (expanded and (c.isspace() or c == "#")):
            out.append("\\" + c)
        else:
            out.append(c)
    return "".join(out)


def _translate_are(pattern: str, multiline: bool, expanded: bool) -> str:
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            if nxt == "Q":
                end = pattern.find("\\E", i + 2)
                literal = pattern[i + 2 :] if end == -1 else pattern[i + 2 : end]
                out.append(_escape(literal, expanded))
                i = n if end == -1 else end + 2
                continue
            if nxt == "E":  # a stray \E ends nothing
                i += 2
                continue
            if not in_class:
                mapped = {"b": "\\y", "B": "\\Y", "z": "\\Z", "Z": "(?:\\Z|(?=\\n\\Z))"}.get(nxt)
                if mapped:
                    out.append(mapped)
                    i += 2
                    continue
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if c == "]":
                in_class = False
        elif c == "[":
            in_class = True
            out.append(c)
            i += 1
            if i < n and pattern[i] == "^":
                out.append("^")
                i += 1
            if i < n and pattern[i] == "]":  # a leading ] is a literal
                out.append("\\]")
                i += 1
            continue
        elif c == "$" and not multiline:
            out.append("(?:$|(?=\\n$))")  # PCRE's $ also matches before a final newline
            i += 1
            continue
        out.append(c)
        i += 1
    return "".join(out)


@lru_cache(maxsize=1024)
def to_postgres(pattern: str, options: str) -> tuple[str, bool]:
    """(ARE pattern with embedded flags, case_insensitive) for a pattern `check` accepted."""
    leading = _LEADING_FLAGS.match(pattern)
    if leading:  # an inline (?i) at the start becomes an option: ARE allows one flag group, which we emit
        options += leading.group(1)
        pattern = pattern[leading.end() :]
    multiline, dotall, expanded = "m" in options, "s" in options, "x" in options
    # PCRE default: `.` excludes \n and ^/$ anchor at the ends only → ARE "p" (partial newline-sensitive).
    flag = {(False, False): "p", (True, False): "n", (False, True): "s", (True, True): "w"}[(multiline, dotall)]
    if expanded:
        flag += "x"
    return f"(?{flag}){_translate_are(pattern, multiline, expanded)}", "i" in options
