"""`crm mcp --token …`: the MCP server over stdio, for desktop assistants that start it as a subprocess.

It talks to the database directly, through the same objects path and permissions as the HTTP server (no running
server is needed, and nothing differs: one code path). The token is checked at start (a bad one exits with a
message on stderr) and again on every tool call, so revoking it in the app stops this process's access at once —
the process listens on the same invalidation channel as the servers. Only MCP messages go to stdout; logs go to
stderr.
"""

from __future__ import annotations

import dataclasses
import logging
import sys

from ..backend import Backend
from ..errors import ParseError
from ..settings import Settings

log = logging.getLogger("parsecrm.agent")
STDIO_POOL_SIZE = 3


async def serve(settings: Settings, dsn: str, secret: str) -> int:
    from ..asgi import build_cloud
    from .runner import Agent
    from .tools import build

    # one client, one call at a time: a few connections are plenty (the database serves the servers too)
    settings = dataclasses.replace(settings, db_pool_size=min(settings.db_pool_size, STDIO_POOL_SIZE))
    backend = await Backend.open(settings, dsn, build_cloud(settings))
    try:
        try:
            grant = await backend.tokens.resolve(secret, count=False)
        except ParseError as exc:
            print(f"crm mcp: {exc.message}", file=sys.stderr)
            return 2
        log.info(
            "MCP over stdio as %s (token %r%s)", grant.user_id, grant.name, ", read-only" if grant.read_only else ""
        )
        await build(Agent(backend, fixed_secret=secret)).run_stdio_async()
        return 0
    finally:
        await backend.close()
