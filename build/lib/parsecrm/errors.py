"""Parse errors: one exception type carrying Parse's code, and the HTTP status it maps to.

Parse's rule (parse-server `middlewares.handleParseErrors`): code 101 → 404, code 1 → 500, every other code → 400.
The JS SDK retries 5xx responses, so a deterministic failure must never be reported as code 1.
"""

from __future__ import annotations

from typing import Any

# Parse's names and numbers (Parse-SDK-JS src/ParseError.ts).
INTERNAL_SERVER_ERROR = 1
CONNECTION_FAILED = 100
OBJECT_NOT_FOUND = 101
INVALID_QUERY = 102
INVALID_CLASS_NAME = 103
MISSING_OBJECT_ID = 104
INVALID_KEY_NAME = 105
INVALID_POINTER = 106
INVALID_JSON = 107
COMMAND_UNAVAILABLE = 108
INCORRECT_TYPE = 111
INVALID_CHANNEL_NAME = 112
OPERATION_FORBIDDEN = 119
CACHE_MISS = 120
INVALID_NESTED_KEY = 121
INVALID_ACL = 123
TIMEOUT = 124
INVALID_EMAIL_ADDRESS = 125
DUPLICATE_VALUE = 137
INVALID_ROLE_NAME = 139
EXCEEDED_QUOTA = 140
SCRIPT_FAILED = 141
VALIDATION_ERROR = 142
REQUEST_LIMIT_EXCEEDED = 155
DUPLICATE_REQUEST = 159
USERNAME_MISSING = 200
PASSWORD_MISSING = 201
USERNAME_TAKEN = 202
EMAIL_TAKEN = 203
EMAIL_MISSING = 204
EMAIL_NOT_FOUND = 205
SESSION_MISSING = 206
MUST_CREATE_USER_THROUGH_SIGNUP = 207
INVALID_SESSION_TOKEN = 209
INVALID_SCHEMA_OPERATION = 255


class ParseError(Exception):
    """An error the client sees as `{"code": code, "error": message}`."""

    def __init__(self, code: int, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status if status is not None else http_status(code)

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "error": self.message}


class Unauthorized(Exception):
    """Missing or wrong application id / client key: 403 `{"error": "unauthorized"}` (no code, as in Parse)."""

    status = 403

    def __init__(self, message: str = "unauthorized") -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict[str, Any]:
        return {"error": self.message}


def http_status(code: int) -> int:
    if code == OBJECT_NOT_FOUND:
        return 404
    if code == INTERNAL_SERVER_ERROR:
        return 500
    if code == CONNECTION_FAILED:
        return 429  # the only server-sent 100 is the rate limiter
    return 400


def not_found(message: str = "Object not found.") -> ParseError:
    return ParseError(OBJECT_NOT_FOUND, message)


# PostgreSQL SQLSTATE → Parse error, for failures that are the client's fault. Anything not listed is a bug or an
# outage and becomes code 1 (500).
SQLSTATE_CODES: dict[str, tuple[int, str]] = {
    "23505": (DUPLICATE_VALUE, "A duplicate value for a field with unique values was provided"),  # unique_violation
    "22P02": (INCORRECT_TYPE, "invalid input syntax"),  # invalid_text_representation
    "22003": (INCORRECT_TYPE, "numeric value out of range"),  # numeric_value_out_of_range
    "22008": (INCORRECT_TYPE, "date/time value out of range"),  # datetime_field_overflow
    "22007": (INCORRECT_TYPE, "invalid date/time format"),  # invalid_datetime_format
    "2201B": (INVALID_QUERY, "invalid regular expression"),  # invalid_regular_expression
    "22025": (INVALID_QUERY, "invalid escape sequence"),  # invalid_escape_sequence
    "22021": (INVALID_JSON, "invalid byte sequence"),  # character_not_in_repertoire (e.g. NUL in text)
    "22P05": (INVALID_JSON, "unsupported character (e.g. \\u0000) in JSON"),  # untranslatable_character
    "54000": (INVALID_QUERY, "query too complex"),  # program_limit_exceeded
    "54001": (INVALID_QUERY, "query too complex"),  # statement_too_complex
    "57014": (TIMEOUT, "query timed out"),  # query_canceled (statement_timeout)
    "2BP01": (INVALID_SCHEMA_OPERATION, "dependent objects still exist"),  # dependent_objects_still_exist
}


def from_sqlstate(sqlstate: str | None) -> ParseError | None:
    found = SQLSTATE_CODES.get(sqlstate or "")
    return ParseError(found[0], found[1]) if found else None
