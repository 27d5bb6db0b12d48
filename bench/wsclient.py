"""A lean LiveQuery subscriber for the live bench: a WebSocket client on asyncio's Protocol interface.

The bench measures the server, so its clients must cost as little as the load generator of the HTTP bench does:
with 500 subscribers per client process, a library client's task wake-up and message object per frame made the
client processes' parsing a large part of the measured latency (and took cores from the server). Here a frame is
taken apart in `data_received` (no task per frame), stamped with the time its bytes arrived, and kept as bytes:
JSON is decoded only after the timed phase. Server frames are unmasked and, with compression off, never
fragmented by our server or parse-server's `ws`; anything else is reported as an error, not guessed.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
import time
from collections.abc import Callable
from typing import Any

import orjson


def client_frame(text: str) -> bytes:
    """One masked text frame (RFC 6455 §5.3: a client masks every frame)."""
    data = text.encode()
    mask = os.urandom(4)
    n = len(data)
    if n < 126:
        head = struct.pack("!BB", 0x81, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x81, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
    key = (mask * (n // 4 + 1))[:n]
    masked = (int.from_bytes(data, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")
    return head + mask + masked


class Subscriber(asyncio.Protocol):
    """Connects (op connect with a session token), subscribes once, then records (receipt time, frame) pairs."""

    def __init__(self, host: str, path: str, hello: list[dict[str, Any]], on_ready: Callable[[], None]) -> None:
        self.request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
        self.hello = hello  # the ops sent in turn: each after the previous one's answer
        self.on_ready = on_ready
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.upgraded = False
        self.ready = False
        self.frames: list[tuple[float, bytes]] = []
        self.counting = False
        self.count = 0
        self.error: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.write(self.request)  # type: ignore[union-attr]

    def data_received(self, data: bytes) -> None:
        now = time.time()
        buf = self.buffer + data if self.buffer else data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self.buffer = buf
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                self.error = buf[:end].decode(errors="replace")
                return
            self.upgraded, buf = True, buf[end + 4 :]
            self._next_hello()
        self.buffer = self._frames(buf, now)

    def _frames(self, buf: bytes, now: float) -> bytes:
        at, size = 0, len(buf)
        while size - at >= 2:
            first, n = buf[at], buf[at + 1] & 0x7F
            start = at + 2
            if n == 126:
                if size - at < 4:
                    break
                n, start = struct.unpack_from("!H", buf, at + 2)[0], at + 4
            elif n == 127:
                if size - at < 10:
                    break
                n, start = struct.unpack_from("!Q", buf, at + 2)[0], at + 10
            if size - start < n:
                break
            at = start + n
            if first != 0x81:  # ping, close, or a fragment: not part of the measured stream
                if first & 0x0F == 0x8:
                    self.error = f"closed by the server: {buf[start : start + 2].hex()}"
                continue
            payload = buf[start:at]
            if self.ready:
                if self.counting:
                    self.count += 1
                else:
                    self.frames.append((now, payload))
            else:
                self._handshake(payload)
        return buf[at:]

    def _handshake(self, payload: bytes) -> None:
        op = orjson.loads(payload).get("op")
        if op == "error":
            self.error = payload.decode()
        elif op in ("connected", "subscribed"):
            self._next_hello()

    def _next_hello(self) -> None:
        if self.hello:
            self.transport.write(client_frame(orjson.dumps(self.hello.pop(0)).decode()))  # type: ignore[union-attr]
        else:
            self.ready = True
            self.on_ready()


async def subscribe(url: str, hello: list[dict[str, Any]]) -> Subscriber:
    """Opens `ws://host:port/path`, sends the `hello` ops in turn; returns once the last one was answered."""
    host_port, _, path = url.removeprefix("ws://").partition("/")
    host, _, port = host_port.partition(":")
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    _, sub = await loop.create_connection(
        lambda: Subscriber(host_port, "/" + path, hello, lambda: done.done() or done.set_result(None)),
        host,
        int(port or 80),
    )
    while not done.done():
        if sub.error:
            raise RuntimeError(sub.error)
        await asyncio.wait([done], timeout=0.05)
    return sub
