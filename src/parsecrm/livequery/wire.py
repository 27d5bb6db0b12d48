"""The WebSocket protocol `crm serve` runs: uvicorn's websockets-sansio one, plus a direct way to write text frames.

Fan-out writes one frame per subscriber and event, so the cost of a frame is the live layer's cost: through the
ASGI interface a frame is a message dict, a coroutine, the websockets state machine building a `Frame` object and
serialising it, and a join — about as much CPU as the `write` system call itself (profiled: ~35 % of the server's
time at 1 000 subscribers). `write_text` does only what RFC 6455 asks of an unfragmented, uncompressed server frame
(a 2-, 4- or 10-byte header; servers never mask) and writes header and payload to the transport in one call.

It is offered to the application as the ASGI scope extension `TEXT_FRAMES`, a callable `(payloads: list[bytes]) ->
bool` (several frames go out in one write: one system call),
only when it is exact: no WebSocket extension was negotiated (permessage-deflate would have to compress the
payload). It answers False — and writes nothing — whenever the ASGI `send` is the right path: the transport is
paused by flow control (the ASGI send waits for it; frames must then queue in order behind that send, see
outbox.py), or the connection is closing or closed. Everything else — the handshake, pings, close, reading — is
uvicorn's, unchanged. Any other ASGI server simply lacks the extension and every frame goes through `send`.

Invariant: this relies on the websockets `ServerProtocol` not tracking outgoing data frames (it tracks only
fragmentation of its own sends, which we never start, and the closing handshake, which we check), so writing a
complete frame beside it leaves its state true. uvicorn is pinned to the minor version this was read against.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

TEXT_FRAMES = "parsecrm.websocket.text_frames"


def frame_header(size: int) -> bytes:
    """The header of a final, unmasked text frame of `size` bytes (RFC 6455 §5.2)."""
    if size < 126:
        return bytes((0x81, size))
    if size < 65536:
        return b"\x81\x7e" + size.to_bytes(2, "big")
    return b"\x81\x7f" + size.to_bytes(8, "big")


class FrameWriterProtocol(WebSocketsSansIOProtocol):
    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None and not self.conn.extensions:
            scope["extensions"][TEXT_FRAMES] = self.write_text

    def write_text(self, payloads: list[bytes]) -> bool:
        """Writes these text frames now, in one write, or returns False (nothing written): use the ASGI send."""
        if (
            self.close_sent
            or self.disconnected
            or not self.handshake_complete
            or not self.writable.is_set()
            or self.conn.state is not State.OPEN
            or self.transport.is_closing()
        ):
            return False
        if len(payloads) == 1:
            self.transport.write(frame_header(len(payloads[0])) + payloads[0])
        else:
            self.transport.write(b"".join([part for p in payloads for part in (frame_header(len(p)), p)]))
        return True
