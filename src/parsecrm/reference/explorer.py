"""`/api`: the REST explorer, a small page that reads `<mount>/openapi.json` and sends real requests with the
caller's session (picked up from the web app's Parse SDK storage when opened from the app)."""

from __future__ import annotations

from importlib import resources

import orjson

from ..backend import Backend
from .pages import PageRequest, Result

PAGE = resources.files("parsecrm.reference").joinpath("explorer.html").read_text()


async def page(backend: Backend, req: PageRequest) -> Result:
    s = backend.settings
    openapi = s.mount_path + "/openapi.json"
    body = (
        PAGE.replace("__APP_ID__", orjson.dumps(s.app_id).decode().replace("<", "\\u003c"))
        .replace("__OPENAPI_JSON__", orjson.dumps(openapi).decode())
        .replace("__OPENAPI__", openapi)
        .replace("__GRAPHQL__", s.graphql_path)
    )
    return 200, body.encode(), [(b"content-type", b"text/html; charset=utf-8")]
