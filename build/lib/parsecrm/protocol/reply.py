"""What a handler returns: a status, a JSON body (bytes already encoded, or a value to encode) and headers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson


def _default(value: Any) -> Any:
    from decimal import Decimal

    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


@dataclass
class Reply:
    body: Any
    status: int = 200
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)

    def encoded(self) -> bytes:
        return self.body if isinstance(self.body, bytes) else orjson.dumps(self.body, default=_default)
