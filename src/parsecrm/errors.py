"""Errors: Parse's codes as one enum, one exception hierarchy, and one function that turns any exception into the
reply a client sees.

The hierarchy (everything a handler may raise on purpose derives from `ApiError`)::

    Exception
     └── ApiError                  has `status` and `body()`; never logged (the client's fault, or expected)
          ├── ParseError           {"code": N, "error": "..."}; the status follows the code (see http_status)
          │    └── TooLarge        a request body over PARSE_MAX_BODY_BYTES: 413, code 107
          └── Unauthorized         missing or wrong application id / keys: 403 {"error": "unauthorized"} (no code)

Anything else reaching `reply_for` is a bug or an outage: asyncpg errors whose SQLSTATE is the client's fault
(`SQLSTATE_CODES`) become that Parse error; every other exception is logged with its traceback and answered
`{"code": 1, "error": "Internal server error."}` with status 500 (503 while the database is unreachable).

Parse's rule for statuses (parse-server `middlewares.handleParseErrors`): code 101 → 404, code 1 → 500, every other
code → 400. The JS SDK retries 5xx responses, so a deterministic failure must never be reported as code 1.
"""

from __future__ import annotations

import logging
from enum import IntEnum
from typing import Any

log = logging.getLogger("parsecrm.errors")


class ErrorCode(IntEnum):
    """Parse's error names and numbers (Parse-SDK-JS src/ParseError.ts), those this server answers with."""

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
    NOT_INITIALIZED = 109
    INCORRECT_TYPE = 111
    INVALID_CHANNEL_NAME = 112
    PUSH_MISCONFIGURED = 115
    OBJECT_TOO_LARGE = 116
    OPERATION_FORBIDDEN = 119
    CACHE_MISS = 120
    INVALID_NESTED_KEY = 121
    INVALID_FILE_NAME = 122
    INVALID_ACL = 123
    TIMEOUT = 124
    INVALID_EMAIL_ADDRESS = 125
    MISSING_CONTENT_TYPE = 126
    MISSING_CONTENT_LENGTH = 127
    INVALID_CONTENT_LENGTH = 128
    FILE_TOO_LARGE = 129
    FILE_SAVE_ERROR = 130
    MISSING_REQUIRED_FIELD_ERROR = 135
    DUPLICATE_VALUE = 137
    INVALID_ROLE_NAME = 139
    EXCEEDED_QUOTA = 140
    SCRIPT_FAILED = 141
    VALIDATION_ERROR = 142
    INVALID_IMAGE_DATA = 143
    UNSAVED_FILE_ERROR = 151
    INVALID_PUSH_TIME_ERROR = 152
    FILE_DELETE_ERROR = 153
    REQUEST_LIMIT_EXCEEDED = 155
    DUPLICATE_REQUEST = 159
    INVALID_EVENT_NAME = 160
    INVALID_VALUE = 162
    USERNAME_MISSING = 200
    PASSWORD_MISSING = 201
    USERNAME_TAKEN = 202
    EMAIL_TAKEN = 203
    EMAIL_MISSING = 204
    EMAIL_NOT_FOUND = 205
    SESSION_MISSING = 206
    MUST_CREATE_USER_THROUGH_SIGNUP = 207
    ACCOUNT_ALREADY_LINKED = 208
    INVALID_SESSION_TOKEN = 209
    MFA_ERROR = 210
    MFA_TOKEN_REQUIRED = 211
    LINKED_ID_MISSING = 250
    INVALID_LINKED_SESSION = 251
    UNSUPPORTED_SERVICE = 252
    INVALID_SCHEMA_OPERATION = 255
    VERSION_CONFLICT = 409  # our extension: a conditional write based on an old version (protocol/conditional.py)


def __getattr__(name: str) -> ErrorCode:
    """`errors.INVALID_QUERY` is `ErrorCode.INVALID_QUERY`: the short spelling stays valid for hooks and older code."""
    try:
        return ErrorCode[name]
    except KeyError:
        raise AttributeError(name) from None


def http_status(code: int) -> int:
    """The HTTP status Parse answers a code with."""
    return _STATUS_OF.get(code, 400)


_STATUS_OF: dict[int, int] = {
    ErrorCode.OBJECT_NOT_FOUND: 404,
    ErrorCode.INTERNAL_SERVER_ERROR: 500,
    ErrorCode.CONNECTION_FAILED: 429,  # the only server-sent 100 is a rate limiter's
    ErrorCode.VERSION_CONFLICT: 409,  # our extension (protocol/conditional.py), as HTTP's own conflict status
}


class ApiError(Exception):
    """An answer the client is meant to get: a status and a JSON body."""

    status: int = 400

    def body(self) -> dict[str, Any]:
        raise NotImplementedError


class ParseError(ApiError):
    """An error the client sees as `{"code": code, "error": message}`."""

    def __init__(self, code: int, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.code = ErrorCode(code) if code in ErrorCode._value2member_map_ else code
        self.message = message
        self.status = status if status is not None else http_status(code)

    def body(self) -> dict[str, Any]:
        return {"code": int(self.code), "error": self.message}


class TooLarge(ParseError):
    """The request body is over the configured limit."""

    def __init__(self) -> None:
        super().__init__(ErrorCode.INVALID_JSON, "Request body is too large.", status=413)


class Unauthorized(ApiError):
    """Missing or wrong application id / client key: 403 `{"error": "unauthorized"}` (no code, as in Parse)."""

    status = 403

    def __init__(self, message: str = "unauthorized") -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict[str, Any]:
        return {"error": self.message}


def not_found(message: str = "Object not found.") -> ParseError:
    return ParseError(ErrorCode.OBJECT_NOT_FOUND, message)


# PostgreSQL SQLSTATE → Parse error, for failures that are the client's fault. Anything not listed is a bug or an
# outage and becomes code 1 (500).
SQLSTATE_CODES: dict[str, tuple[ErrorCode, str]] = {
    "23505": (ErrorCode.DUPLICATE_VALUE, "A duplicate value for a field with unique values was provided"),
    "22P02": (ErrorCode.INCORRECT_TYPE, "invalid input syntax"),  # invalid_text_representation
    "22003": (ErrorCode.INCORRECT_TYPE, "numeric value out of range"),  # numeric_value_out_of_range
    "22008": (ErrorCode.INCORRECT_TYPE, "date/time value out of range"),  # datetime_field_overflow
    "22007": (ErrorCode.INCORRECT_TYPE, "invalid date/time format"),  # invalid_datetime_format
    "2201B": (ErrorCode.INVALID_QUERY, "invalid regular expression"),  # invalid_regular_expression
    "22025": (ErrorCode.INVALID_QUERY, "invalid escape sequence"),  # invalid_escape_sequence
    "22021": (ErrorCode.INVALID_JSON, "invalid byte sequence"),  # character_not_in_repertoire (e.g. NUL in text)
    "22P05": (ErrorCode.INVALID_JSON, "unsupported character (e.g. \\u0000) in JSON"),  # untranslatable_character
    "54000": (ErrorCode.INVALID_QUERY, "query too complex"),  # program_limit_exceeded
    "54001": (ErrorCode.INVALID_QUERY, "query too complex"),  # statement_too_complex
    "57014": (ErrorCode.TIMEOUT, "Timeout: the query took too long and was cancelled"),  # query_canceled
    "2BP01": (ErrorCode.INVALID_SCHEMA_OPERATION, "dependent objects still exist"),  # dependent_objects_still_exist
}


def from_sqlstate(sqlstate: str | None) -> ParseError | None:
    found = SQLSTATE_CODES.get(sqlstate or "")
    return ParseError(found[0], found[1]) if found else None


def as_api_error(exc: BaseException) -> ApiError | None:
    """The client-facing error `exc` stands for, or None when it is a bug or an outage."""
    if isinstance(exc, ApiError):
        return exc
    sqlstate = getattr(exc, "sqlstate", None)
    if isinstance(sqlstate, str):
        return from_sqlstate(sqlstate)
    return None


INTERNAL = ParseError(ErrorCode.INTERNAL_SERVER_ERROR, "Internal server error.")
UNAVAILABLE = ParseError(ErrorCode.INTERNAL_SERVER_ERROR, "The database is unavailable; try again.", status=503)


def reply_for(exc: BaseException, where: str) -> tuple[int, dict[str, Any]]:
    """(status, body) for any exception. Unexpected ones are logged here, with their traceback and `where` (e.g.
    "POST /classes/Deal" or "batch item 3: PUT /classes/Deal/x"), so no 5xx ever goes unlogged."""
    known = as_api_error(exc)
    if known is not None:
        return known.status, known.body()
    log.error("unexpected error on %s", where, exc_info=exc)
    if _is_outage(exc):
        return UNAVAILABLE.status, UNAVAILABLE.body()
    return INTERNAL.status, INTERNAL.body()


def _is_outage(exc: BaseException) -> bool:
    """The database is unreachable or refusing connections (a retry may succeed): SQLSTATE class 08, 57P01-03,
    53300, a socket error, or the driver's "connection is closed" or broken protocol state — also when that is what
    the exception was raised while handling (a transaction's exit after its connection died: PostgreSQL restarted
    mid-request). Matched without importing the driver; the traceback is logged either way."""
    seen = 0
    while exc is not None and seen < 5:
        sqlstate = getattr(exc, "sqlstate", None) or ""
        if (
            isinstance(exc, OSError)
            or type(exc).__name__ == "ConnectionDoesNotExistError"
            or (type(exc).__name__ == "InterfaceError" and "connection is closed" in str(exc))
            # the driver's protocol state broken by the server's shutdown message arriving mid-statement
            or type(exc).__name__ == "InternalClientError"
            or sqlstate.startswith("08")
            or sqlstate in ("57P01", "57P02", "57P03", "53300")
        ):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1  # type: ignore[assignment]
    return False
