"""The direct text-frame writer (livequery/wire.py) under a real uvicorn server, read by an independent client.

The `websockets` client checks every frame it receives (header, lengths, UTF-8, no mask from a server), so a frame
we build wrongly fails here. The server is uvicorn with `FrameWriterProtocol`, as `crm serve` runs it, and a small
ASGI application that writes through the live layer's Outbox, so the switch between the direct writer and the ASGI
`send` under flow control is exercised exactly as the fan-out uses it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import orjson
import uvicorn
from websockets.asyncio.client import connect

from conftest import free_port
from parsecrm.livequery.outbox import Outbox
from parsecrm.livequery.wire import TEXT_FRAMES, FrameWriterProtocol, frame_header

# lengths at every boundary of the three header forms, and multi-byte UTF-8 text
PAYLOADS = [b"", b"x" * 125, b"y" * 126, "é".encode() * 40_000, b"z" * 65_535, b"w" * 65_536, "雪".encode() * 70_000]


class App:
    """On `{"burst": n, "size": s}` pushes n frames `{"seq": i, "pad": ...}` through an Outbox; on `{"sizes": true}`
    writes PAYLOADS alternately through the direct writer and the ASGI send."""

    def __init__(self) -> None:
        self.direct_offered: list[bool] = []
        self.direct_refusals = 0
        self.outboxes: list[Outbox] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        await receive()
        await send({"type": "websocket.accept"})
        write_now = scope["extensions"].get(TEXT_FRAMES)
        self.direct_offered.append(write_now is not None)

        def counted(frames: list[bytes]) -> bool:
            ok = bool(write_now(frames)) if write_now else False
            self.direct_refusals += not ok
            return ok

        outbox = Outbox(send, limit=100_000, overflow=lambda: None, write_now=counted)
        self.outboxes.append(outbox)
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            order = orjson.loads(message["text"])
            if order.get("sizes"):
                for i, payload in enumerate(PAYLOADS):
                    if i % 2 == 0 and write_now is not None:
                        assert write_now([payload])
                    else:
                        await send({"type": "websocket.send", "text": payload.decode()})
            else:
                pad = "p" * order["size"]
                frames = [orjson.dumps({"seq": seq, "pad": pad}) for seq in range(order["burst"])]
                for start in range(0, len(frames), 3):  # one at a time, and several at once as for a batch of events
                    chunk = frames[start : start + 3]
                    if start % 2:
                        outbox.push_many(chunk)
                    else:
                        for frame in chunk:
                            outbox.push(frame)


@contextlib.asynccontextmanager
async def serving(app: App, deflate: bool = False) -> AsyncIterator[str]:
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, ws=FrameWriterProtocol, ws_per_message_deflate=deflate, log_level="warning"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield f"ws://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        await task


def test_frames_of_every_header_form_arrive_intact_and_in_order_beside_asgi_sends() -> None:
    async def run() -> None:
        app = App()
        async with serving(app) as url, connect(url, compression=None, max_size=None) as ws:
            await ws.send(orjson.dumps({"sizes": True}).decode())
            for payload in PAYLOADS:
                got = await asyncio.wait_for(ws.recv(), 10)
                assert isinstance(got, str)  # a text frame
                assert got.encode() == payload
        assert app.direct_offered == [True]

    asyncio.run(run())


def test_with_compression_negotiated_the_direct_writer_is_not_offered_and_frames_still_arrive() -> None:
    async def run() -> None:
        app = App()
        async with serving(app, deflate=True) as url, connect(url, max_size=None) as ws:  # client offers deflate
            await ws.send(orjson.dumps({"burst": 3, "size": 10}).decode())
            seqs = [orjson.loads(await asyncio.wait_for(ws.recv(), 10))["seq"] for _ in range(3)]
        assert seqs == [0, 1, 2]
        assert app.direct_offered == [False]

    asyncio.run(run())


def test_a_client_that_stops_reading_gets_every_frame_in_order_once_it_reads_again() -> None:
    """Flow control: the direct writer refuses while the transport is paused, the Outbox queues behind the waiting
    ASGI send, and the direct writer is used again only once the queue has drained — never out of order."""

    async def run() -> None:
        app = App()
        async with serving(app) as url, connect(url, compression=None, max_size=None, max_queue=1) as ws:
            # ~20 MB: far beyond the socket buffers and the transport's high-water mark, while the client does
            # not read (max_queue=1 stops it pulling from the socket)
            await ws.send(orjson.dumps({"burst": 2_000, "size": 10_000}).decode())
            await asyncio.sleep(1.0)
            assert app.outboxes[0].writer is not None  # a send is waiting on the paused socket
            assert app.direct_refusals > 0
            seqs = [orjson.loads(await asyncio.wait_for(ws.recv(), 10))["seq"] for _ in range(2_000)]
            assert seqs == list(range(2_000))
            # drained: the next burst goes out through the direct writer again
            refusals = app.direct_refusals
            await ws.send(orjson.dumps({"burst": 5, "size": 10}).decode())
            seqs = [orjson.loads(await asyncio.wait_for(ws.recv(), 10))["seq"] for _ in range(5)]
            assert seqs == list(range(5))
            assert app.outboxes[0].writer is None
            assert app.direct_refusals == refusals

    asyncio.run(run())


def test_frame_header_lengths() -> None:
    assert frame_header(0) == b"\x81\x00"
    assert frame_header(125) == b"\x81\x7d"
    assert frame_header(126) == b"\x81\x7e\x00\x7e"
    assert frame_header(65_535) == b"\x81\x7e\xff\xff"
    assert frame_header(65_536) == b"\x81\x7f" + (65_536).to_bytes(8, "big")
