"""Server-Timing: how long each stage of one request took, recorded only when CRM_DEBUG is on.

The app calls `start()` per request; code anywhere below times a stage with `with timed("sql"): ...`, and the app
puts `header()` into the response (`Server-Timing: parse;dur=0.05, plan;dur=0.12, sql;dur=1.30, ...`). With
debugging off `timed` returns one shared do-nothing object, so the stages cost nothing.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from types import TracebackType

_marks: ContextVar[list[tuple[str, float]] | None] = ContextVar("parsecrm_timings", default=None)


class _Stage:
    __slots__ = ("marks", "name", "started")

    def __init__(self, marks: list[tuple[str, float]], name: str) -> None:
        self.marks, self.name, self.started = marks, name, 0.0

    def __enter__(self) -> None:
        self.started = time.perf_counter()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.marks.append((self.name, time.perf_counter() - self.started))


class _Off:
    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        return None


_OFF = _Off()


def start() -> None:
    """Record this request's stages (call at the start of a request, in its task)."""
    _marks.set([])


def timed(name: str) -> _Stage | _Off:
    marks = _marks.get()
    return _OFF if marks is None else _Stage(marks, name)


def header(total_seconds: float) -> bytes:
    """The Server-Timing value: every recorded stage (a stage run twice is summed), then the total."""
    sums: dict[str, float] = {}
    for name, seconds in _marks.get() or []:
        sums[name] = sums.get(name, 0.0) + seconds
    parts = [f"{name};dur={seconds * 1000:.2f}" for name, seconds in sums.items()]
    parts.append(f"total;dur={total_seconds * 1000:.2f}")
    return ", ".join(parts).encode()
