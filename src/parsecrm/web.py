"""Serves the built web app (web/dist) next to the API: files by path, index.html for every other route."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from .asgi_types import Receive, Scope, Send


class StaticFiles:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rel = scope["path"].lstrip("/")
        target = (self.root / rel).resolve() if rel else self.root / "index.html"
        # is_relative_to, not a string prefix: "/srv/dist-private/x" starts with "/srv/dist" but is outside it
        if not target.is_relative_to(self.root) or not target.is_file():
            target = self.root / "index.html"
        if not target.is_file():
            body, ctype, status = b"Not Found", "text/plain", 404
        else:
            body = target.read_bytes()
            ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
            status = 200
        cache = b"public, max-age=31536000, immutable" if "/assets/" in str(target) else b"no-cache"
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", ctype.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"cache-control", cache),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
