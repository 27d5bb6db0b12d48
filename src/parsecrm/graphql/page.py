"""The GraphQL playground a browser gets at GET /graphql: GraphiQL, built from npm with the web app (web/graphiql.html,
web/src/graphiql; `make web` writes it to the web folder as graphiql.html, its scripts, styles and editor workers in
assets/). The server fills in the same settings block as the app's index.html (application id, API path, JavaScript
key: public values), so the page sends the REST headers and, opened from the app, the signed-in user's session token,
which the Parse SDK keeps in local storage on the same origin. The master key is never put in the page.

Without a built web app (no Node at build time, or CRM_WEB_DIR pointing at a build without the playground) the
answer is a short page that says how to build it: the endpoint itself works the same either way."""

from __future__ import annotations

import html

from ..settings import Settings
from ..web import CONFIG_PLACEHOLDER, config_script

PAGE = "graphiql.html"

NOT_BUILT = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>GraphQL playground</title>
<meta name="viewport" content="width=device-width,initial-scale=1">
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:42rem;margin:3rem auto;padding:0 1rem;color:#1d2330}
code{background:#f1f3f7;padding:.1rem .3rem;border-radius:3px}</style></head><body>
<h1>GraphQL playground not built</h1>
<p>The playground (GraphiQL) is part of the web app's build, which this server does not have. Build it with
<code>make web</code> (Node.js 20 or later; <code>make run</code> does it too), then reload this page.</p>
<p>The GraphQL API itself answers here: <code>POST __ENDPOINT__</code> with
<code>{"query": "…", "variables": {…}}</code>, or <code>GET __ENDPOINT__?query=…</code>, with the same headers as the
REST API (<code>X-Parse-Application-Id</code>, <code>X-Parse-Session-Token</code>). See also the
<a href="/schema">schema</a> and the <a href="/api">REST explorer</a>.</p>
</body></html>"""


def playground(settings: Settings) -> bytes:
    """The built GraphiQL page with this server's settings in it, or the page that says how to build it."""
    path = settings.web_dir / PAGE if settings.web_dir else None
    if path is None or not path.is_file():
        return NOT_BUILT.replace("__ENDPOINT__", html.escape(settings.graphql_path)).encode()
    script = config_script(settings)
    return CONFIG_PLACEHOLDER.sub(lambda _m: script, path.read_bytes(), count=1)
