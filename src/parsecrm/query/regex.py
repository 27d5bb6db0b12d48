"""PCRE-flavoured Parse regexes → PostgreSQL ARE.

The SDK quotes literals as `\\Q…\\E` (startsWith/endsWith/contains); PostgreSQL has no such quoting, so the quoted
part is escaped character by character. Options map onto ARE's embedded flags so `.`, `^` and `$` behave as in PCRE.
"""

from __future__ import annotations

from .. import errors
from ..errors import ParseError

_SPECIAL = set("\\.^$|?*+()[]{}")


def _escape(text: str) -> str:
    return "".join("\\" + c if c in _SPECIAL else c for c in text)


def unquote(pattern: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("\\Q", i):
            end = pattern.find("\\E", i + 2)
            if end == -1:
                out.append(_escape(pattern[i + 2 :]))
                break
            out.append(_escape(pattern[i + 2 : end]))
            i = end + 2
        elif pattern[i] == "\\" and i + 1 < len(pattern):
            out.append(pattern[i : i + 2])
            i += 2
        else:
            out.append(pattern[i])
            i += 1
    return "".join(out)


def to_postgres(pattern: object, options: object = "") -> tuple[str, bool]:
    """Return (ARE pattern with embedded flags, case_insensitive)."""
    if not isinstance(pattern, str):
        raise ParseError(errors.INVALID_QUERY, "$regex should be a string")
    if options is None:
        options = ""
    if not isinstance(options, str) or any(c not in "imxsu" for c in options):
        raise ParseError(errors.INVALID_QUERY, "Invalid regex options; only i, m, x, s and u are supported")
    multiline, dotall = "m" in options, "s" in options
    # PCRE default: `.` excludes \n and ^/$ anchor at the ends only → ARE "p" (partial newline-sensitive).
    flag = {(False, False): "p", (True, False): "n", (False, True): "s", (True, True): "w"}[(multiline, dotall)]
    if "x" in options:
        flag += "x"
    return f"(?{flag}){unquote(pattern)}", "i" in options
