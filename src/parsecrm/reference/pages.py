"""What a page of this package is: a request in, (status, body, extra headers) out. Its own module so the pages
and the table that routes to them (routes.py) import it without importing each other."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ..backend import Backend


@dataclass
class PageRequest:
    method: str
    headers: dict[str, str]
    body: bytes
    query_string: bytes
    ip: str | None


Result = tuple[int, bytes, list[tuple[bytes, bytes]]]
Page = Callable[[Backend, PageRequest], Awaitable[Result]]
