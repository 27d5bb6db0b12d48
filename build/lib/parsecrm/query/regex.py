"""PCRE-flavoured Parse regexes → PostgreSQL ARE.

The SDK quotes literals as `\\Q…\\E` (startsWith/endsWith/contains); PostgreSQL has no such quoting, so the quoted
part is escaped character by character. PCRE escapes that mean something else in ARE are rewritten (`\\b` is a
backspace in ARE: word boundaries are `\\y`), and options map onto ARE's embedded flags so that `.`, `^` and `$`
behave as in PCRE. Every pattern is first compiled with the evaluator's PCRE → Python translation, so an invalid
pattern is a 102 before it reaches the database. Known gap: with `i`, case folding of non-ASCII letters follows
the database's C collation (é does not match É).
"""

from __future__ import annotations

import re

from .. import errors
from ..errors import ParseError

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


def translate(pattern: str, multiline: bool, expanded: bool) -> str:
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


def _validate(pattern: str, options: str) -> None:
    from .evaluate import ParseQueryError, compile_regex

    try:
        compile_regex(pattern, options)
    except ParseQueryError as exc:
        raise ParseError(errors.INVALID_QUERY, f"Invalid regular expression: {exc}") from exc
    except (re.error, ValueError, RecursionError) as exc:
        raise ParseError(errors.INVALID_QUERY, "Invalid regular expression") from exc


def to_postgres(pattern: object, options: object = "") -> tuple[str, bool]:
    """Return (ARE pattern with embedded flags, case_insensitive)."""
    if not isinstance(pattern, str):
        raise ParseError(errors.INVALID_QUERY, "$regex should be a string")
    if options is None:
        options = ""
    if not isinstance(options, str) or any(c not in "imxsu" for c in options):
        raise ParseError(errors.INVALID_QUERY, "Invalid regex options; only i, m, x, s and u are supported")
    _validate(pattern, options)
    leading = _LEADING_FLAGS.match(pattern)
    if leading:  # an inline (?i) at the start becomes an option: ARE allows one flag group, which we emit
        options += leading.group(1)
        pattern = pattern[leading.end() :]
    multiline, dotall, expanded = "m" in options, "s" in options, "x" in options
    # PCRE default: `.` excludes \n and ^/$ anchor at the ends only → ARE "p" (partial newline-sensitive).
    flag = {(False, False): "p", (True, False): "n", (False, True): "s", (True, True): "w"}[(multiline, dotall)]
    if expanded:
        flag += "x"
    return f"(?{flag}){translate(pattern, multiline, expanded)}", "i" in options
