"""A GraphQL client for the tests: POST /graphql with the same headers the REST `Api` sends."""

from __future__ import annotations

from typing import Any

import httpx

from conftest import Api, Server


class Gql:
    def __init__(self, server: Server) -> None:
        self.api = Api(server)
        self.url = server.url.rsplit("/", 1)[0] + "/graphql"
        self.client = httpx.Client(timeout=30)

    def raw(self, query: str, variables: dict[str, Any] | None = None, as_: str | None = "master", **kw: Any):
        headers = self.api.headers(as_, kw.pop("headers", None))
        return self.client.post(self.url, json={"query": query, "variables": variables or {}}, headers=headers, **kw)

    def __call__(self, query: str, variables: dict[str, Any] | None = None, as_: str | None = "master") -> Any:
        """The `data` of a successful answer (fails the test on any error)."""
        r = self.raw(query, variables, as_)
        assert r.status_code == 200, r.text
        body = r.json()
        assert "errors" not in body, body
        return body["data"]

    def error(self, query: str, variables: dict[str, Any] | None = None, as_: str | None = "master") -> dict[str, Any]:
        """The single error of a failing answer, as `{"code": …, "error": …}` (REST's shape, for comparisons)."""
        r = self.raw(query, variables, as_)
        assert r.status_code == 200, r.text
        errors = r.json().get("errors")
        assert errors and len(errors) == 1, r.text
        return {"code": errors[0].get("extensions", {}).get("code"), "error": errors[0]["message"]}
