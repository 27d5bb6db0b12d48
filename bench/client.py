"""A small HTTP/1.1 keep-alive client over raw asyncio streams.

Used both for setting up data (JSON in, JSON out) and by the load generator (pre-encoded request bytes,
status + body out). One `Conn` is one TCP connection; it is not safe to share between concurrent tasks.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import orjson

APP_ID = "bench-app"
MASTER_KEY = "bench-master-key"


class HTTPError(Exception):
    """A non-2xx answer where the caller required success."""

    def __init__(self, status: int, body: bytes, what: str = ""):
        self.status = status
        self.body = body
        super().__init__(f"{what} -> HTTP {status}: {body[:300]!r}")


def encode_request(
    method: str,
    path: str,
    host: str,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> bytes:
    """Build the exact bytes of one HTTP/1.1 request (keep-alive)."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    elif method in ("POST", "PUT"):
        lines.append("Content-Length: 0")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + (body or b"")


def parse_headers(head: bytes) -> tuple[int, dict[bytes, bytes]]:
    """Parse a status line + header block (without the final blank line)."""
    first, _, rest = head.partition(b"\r\n")
    parts = first.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise ConnectionError(f"bad status line {first[:80]!r}")
    status = int(parts[1])
    hdrs: dict[bytes, bytes] = {}
    for line in rest.split(b"\r\n"):
        if not line:
            continue
        k, _, v = line.partition(b":")
        hdrs[k.strip().lower()] = v.strip()
    return status, hdrs


class Conn:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, host: str, port: int):
        self.host = host
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port, limit=1 << 22)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def _read_response(self) -> tuple[int, bytes, bool]:
        reader = self.reader
        assert reader is not None
        head = await reader.readuntil(b"\r\n\r\n")
        status, hdrs = parse_headers(head[:-4])
        keep = hdrs.get(b"connection", b"").lower() != b"close"
        cl = hdrs.get(b"content-length")
        if cl is not None:
            n = int(cl)
            body = await reader.readexactly(n) if n else b""
        elif hdrs.get(b"transfer-encoding", b"").lower() == b"chunked":
            chunks = []
            while True:
                size_line = await reader.readuntil(b"\r\n")
                size = int(size_line.split(b";", 1)[0].strip(), 16)
                if size == 0:
                    # trailers until blank line
                    while (await reader.readuntil(b"\r\n")) != b"\r\n":
                        pass
                    break
                chunks.append(await reader.readexactly(size))
                await reader.readexactly(2)
            body = b"".join(chunks)
        elif status in (204, 304) or 100 <= status < 200:
            body = b""
        else:
            body = await reader.read()
            keep = False
        return status, body, keep

    async def roundtrip(self, data: bytes) -> tuple[int, bytes]:
        """Send pre-encoded request bytes, return (status, body). Reconnects once if the peer closed."""
        for attempt in (0, 1):
            if self.writer is None:
                await self.connect()
            try:
                self.writer.write(data)  # type: ignore[union-attr]
                status, body, keep = await self._read_response()
            except (ConnectionError, asyncio.IncompleteReadError) as e:
                self.close()
                if attempt == 1:
                    raise ConnectionError(f"connection failed: {e}") from e
                continue
            if not keep:
                self.close()
            return status, body
        raise AssertionError("unreachable")


@dataclass
class Api:
    """Parse REST helper over one connection: JSON bodies, the Parse headers, errors raised."""

    host: str
    port: int
    mount: str = "/parse"
    app_id: str = APP_ID
    master_key: str = MASTER_KEY

    def __post_init__(self) -> None:
        self.conn = Conn(self.host, self.port)
        self.hostport = f"{self.host}:{self.port}"

    def headers(self, session: str | None = None, master: bool = False, body: bool = False) -> dict[str, str]:
        h = {"X-Parse-Application-Id": self.app_id}
        if master:
            h["X-Parse-Master-Key"] = self.master_key
        if session:
            h["X-Parse-Session-Token"] = session
        if body:
            h["Content-Type"] = "application/json"
        return h

    def encode(
        self,
        method: str,
        path: str,
        body: object = None,
        session: str | None = None,
        master: bool = False,
        absolute: bool = False,
    ) -> bytes:
        """`path` is relative to the mount, or (absolute) to the origin: `/graphql` lives outside the mount."""
        raw = orjson.dumps(body) if body is not None else None
        target = path if absolute else self.mount + path
        return encode_request(method, target, self.hostport, self.headers(session, master, raw is not None), raw)

    async def call(
        self,
        method: str,
        path: str,
        body: object = None,
        session: str | None = None,
        master: bool = False,
        ok: tuple[int, ...] = (200, 201),
    ):
        status, raw = await self.conn.roundtrip(self.encode(method, path, body, session, master))
        if status not in ok:
            raise HTTPError(status, raw, f"{method} {path}")
        return orjson.loads(raw) if raw else None

    def close(self) -> None:
        self.conn.close()


def split_url(url: str) -> tuple[str, int, str]:
    """'http://127.0.0.1:1337/parse' -> ('127.0.0.1', 1337, '/parse')."""
    if not url.startswith("http://"):
        raise ValueError(f"only http:// URLs are supported: {url}")
    rest = url[len("http://") :]
    hostport, _, path = rest.partition("/")
    host, _, port = hostport.partition(":")
    return host, int(port or 80), "/" + path.rstrip("/") if path else ""


async def wait_health(host: str, port: int, mount: str, timeout: float = 90.0, proc=None) -> None:
    """Poll GET <mount>/health until {"status":"ok"} (parse-server answers 503 while starting)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last = ""
    while loop.time() < deadline:
        code = proc.poll() if proc is not None else None
        if code is not None:  # Popen or bench's ServerProcess: both answer poll()
            raise RuntimeError(f"server exited with code {code} before becoming healthy")
        c = Conn(host, port)
        try:
            status, body = await asyncio.wait_for(
                c.roundtrip(encode_request("GET", mount + "/health", f"{host}:{port}")), 5
            )
            if status == 200 and orjson.loads(body).get("status") == "ok":
                return
            last = f"HTTP {status} {body[:100]!r}"
        except (TimeoutError, OSError, ValueError) as e:
            last = repr(e)
        finally:
            c.close()
        await asyncio.sleep(0.25)
    raise TimeoutError(f"{host}:{port}{mount}/health not ok after {timeout}s (last: {last})")
