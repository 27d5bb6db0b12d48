"""What a reference page gets and answers (its own module, so the pages and the route table import it, not each
other)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class PageRequest:
    method: str
    headers: dict[str, str]
    body: bytes
    query_string: bytes
    ip: str | None


Result = tuple[int, bytes, list[tuple[bytes, bytes]]]
JSON_TYPE = (b"content-type", b"application/json; charset=utf-8")
