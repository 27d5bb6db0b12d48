"""A client's outgoing frames: sent at once when the socket takes them, else queued (bounded) behind a writer task.

Fan-out cost is per subscriber and event, so the usual case must not wake a task. Where the server offers it
(wire.py's `TEXT_FRAMES` scope extension) a frame is written straight to the transport; otherwise an ASGI `send`
whose socket is not paused by flow control completes without ever suspending (uvicorn writes to the transport
synchronously), so `push` runs it to completion by hand (`_step`). Only if it suspends — the client is not reading
and the transport's buffer is full — does a task take over the started send, and every later frame queues behind
it, keeping order (the direct writer is not used while anything is queued). A queue that reaches `limit` frames
means the client cannot keep up: `overflow` is called (the server closes it).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Generator, MutableMapping
from typing import Any, cast

Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
WriteNow = Callable[[list[bytes]], bool]  # writes text frames now, or says False: use `send` (wire.py)


class _Started:
    """The rest of a coroutine that was stepped by hand and suspended on the future it yielded: awaiting this waits
    for that future as a task would, then resumes the coroutine where it stopped."""

    def __init__(self, coro: Coroutine[Any, Any, None], waiting_on: Any) -> None:
        self.coro, self.waiting_on = coro, waiting_on

    def __await__(self) -> Generator[Any, None, None]:
        yield self.waiting_on  # a future with _asyncio_future_blocking set: the task waits for it
        yield from self.coro.__await__()  # resumes the started coroutine


def _message(frame: bytes) -> dict[str, Any]:
    return {"type": "websocket.send", "text": frame.decode()}


class Outbox:
    def __init__(self, send: Send, limit: int, overflow: Callable[[], None], write_now: WriteNow | None = None) -> None:
        self.send, self.limit, self.overflow = send, limit, overflow
        self.write_now: WriteNow = write_now or (lambda _frame: False)
        self.queue: deque[bytes] = deque()
        self.writer: asyncio.Task[None] | None = None  # only while a send is waiting on the socket
        self.closed = False

    def push(self, frame: bytes) -> None:
        """Queue or send one frame: UTF-8 JSON text."""
        if self.closed:
            return
        if self.writer is not None:  # a send is waiting: queue behind it
            if len(self.queue) >= self.limit:
                self.overflow()
                return
            self.queue.append(frame)
            return
        if not self.write_now([frame]):
            self._step(frame)

    def push_many(self, frames: list[bytes]) -> None:
        """Several frames in order: one write when the socket takes them."""
        if self.closed:
            return
        if self.writer is not None or not self.write_now(frames):
            for frame in frames:
                self.push(frame)

    def _step(self, frame: bytes) -> None:
        coro = cast(Coroutine[Any, Any, None], self.send(_message(frame)))
        try:
            waiting_on = coro.send(None)
        except StopIteration:
            return  # sent: the usual case, no task woken
        except (OSError, RuntimeError):  # the connection went away under us: serve() cleans up
            self.closed = True
            return
        self.writer = asyncio.ensure_future(self._drain(_Started(coro, waiting_on)))

    async def _drain(self, started: _Started) -> None:
        try:
            await started
            while self.queue:
                await self.send(_message(self.queue.popleft()))
        except (OSError, RuntimeError):
            self.closed = True
        finally:
            self.writer = None

    def stop(self) -> None:
        self.closed = True
        self.queue.clear()
        if self.writer is not None:
            self.writer.cancel()
