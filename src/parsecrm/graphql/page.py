"""The GraphQL playground page: a small self-contained editor served by the server (no CDN, no bundle).

It sends the REST headers; opened from the web app it picks up the signed-in user's session token from the Parse
SDK's local storage (same origin), so queries run as that user. The master key is never put in the page."""

from __future__ import annotations

import html
from importlib import resources

from ..settings import Settings

EXAMPLE = """# Deals in a stage, by expected close date (Ctrl+Enter runs)
query Pipeline($stage: String) {
  deals(where: {stage: {equalTo: $stage}}, order: [expectedCloseDate_ASC], first: 10) {
    count
    edges { node { id objectId title amount stage expectedCloseDate contact { name } company { name } } }
    pageInfo { hasNextPage endCursor }
  }
}"""

PAGE = resources.files("parsecrm.graphql").joinpath("playground.html").read_text()


def playground(settings: Settings) -> str:
    import json

    return (
        PAGE.replace("__EXAMPLE__", html.escape(EXAMPLE))
        .replace("__ENDPOINT__", json.dumps(settings.graphql_path))
        .replace("__APP_ID__", json.dumps(settings.app_id).replace("<", "\\u003c"))
    )
