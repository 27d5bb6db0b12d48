"""Serves the built web app (web/dist) next to the API: files by path, index.html for every other route.

index.html (and graphiql.html, the GraphQL playground) carries the placeholder `<!-- crm-config: … -->`; it is
replaced by a JSON script with what the app needs to reach this server (application id, API mount path, JavaScript
key, GraphQL path — all public values a browser client holds anyway), so one build works against any deployment.
"""

from __future__ import annotations

import json
import mimetypes
import re
from pathlib import Path
from typing import Any

from ..asgi_types import Receive, Scope, Send
from ..settings import Settings, from_env

CONFIG_PLACEHOLDER = re.compile(rb"<!--\s*crm-config:[^>]*-->")


def client_config(settings: Settings) -> dict[str, Any]:
    """What a browser needs to talk to this server. Never a secret: the JavaScript key is public by design."""
    return {
        "appId": settings.app_id,
        "mountPath": settings.mount_path,
        "javascriptKey": settings.javascript_key or None,
        "stages": list(settings.deal_stages),
        "graphqlPath": settings.graphql_path,  # for the GraphQL playground (graphiql.html), which posts there
    }


def config_script(settings: Settings) -> bytes:
    body = json.dumps(client_config(settings)).replace("<", "\\u003c")  # cannot close the script element
    return f'<script type="application/json" id="crm-config">{body}</script>'.encode()


class StaticFiles:
    def __init__(self, root: Path, settings: Settings | None = None) -> None:
        self.root = root.resolve()
        self.config = config_script(settings or from_env())

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
            if target.suffix == ".html":  # index.html, and graphiql.html (also served at GET /graphql)
                body = CONFIG_PLACEHOLDER.sub(lambda _m: self.config, body, count=1)
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
