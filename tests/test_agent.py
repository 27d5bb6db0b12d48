"""The AI guide: per-user API tokens and the MCP server, through the `mcp` SDK's own client over streamable HTTP
(`/mcp` on the test server) and over stdio (`crm mcp --token …` as a subprocess), checked against REST and the
database.

`McpTransport` exposes find / get / create / update the way a permission matrix drives a transport, so the CRM
permission matrix can run its cases through the agent tools too (see `test_permission_matrix_through_tools`).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx2
import orjson
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from conftest import ROOT, Api, Server, unique

TOOLS = {
    "search", "get_record", "list_records", "list_deals", "list_activities", "create_company", "update_company",
    "create_contact", "update_contact", "create_deal", "update_deal", "move_deal_stage", "log_activity",
    "complete_activity", "undo_agent_change", "pipeline_summary", "forecast", "recent_changes", "list_agent_changes",
}  # fmt: skip


def mcp_url(server: Server) -> str:
    return server.url.rsplit("/parse", 1)[0] + "/mcp"


@asynccontextmanager
async def http_client(server: Server, token: str) -> AsyncIterator[Client]:
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as hc:
        async with Client(streamable_http_client(mcp_url(server), http_client=hc)) as client:
            yield client


def stdio_params(server: Server, token: str) -> StdioServerParameters:
    env = {k: v for k, v in server.env.items() if k != "PORT"}
    return StdioServerParameters(
        command=sys.executable, args=["-m", "parsecrm.cli", "mcp", "--token", token], env=env, cwd=str(ROOT)
    )


@asynccontextmanager
async def stdio_client(server: Server, token: str) -> AsyncIterator[Client]:
    async with Client(stdio_params(server, token)) as client:
        yield client


CONNECT = {"http": http_client, "stdio": stdio_client}


class ToolFailed(Exception):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    @property
    def code(self) -> int | None:
        if "(Parse error " in self.text:
            return int(self.text.rsplit("(Parse error ", 1)[1].rstrip(")"))
        return None


async def call(client: Client, tool: str, args: dict[str, Any] | None = None) -> Any:
    result = await client.call_tool(tool, args or {})
    text = "".join(getattr(c, "text", "") for c in result.content)
    if result.is_error:
        raise ToolFailed(text)
    if result.structured_content is not None and set(result.structured_content) == {"result"}:
        return result.structured_content["result"]
    return orjson.loads(text) if text else None


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_token(api: Api, session: str, name: str = "assistant", **opts: Any) -> dict[str, Any]:
    r = api.post("functions/createApiToken", {"name": name, **opts}, as_=session)
    assert r.status_code == 200, r.text
    return r.json()["result"]


def ptr(cls: str, oid: str) -> dict[str, str]:
    return {"__type": "Pointer", "className": cls, "objectId": oid}


@dataclass
class World:
    tag: str
    a: dict[str, Any]
    b: dict[str, Any]
    a_token: str
    b_token: str
    ids: dict[str, dict[str, str]]  # owner → class → objectId


@pytest.fixture(scope="module")
def world(api: Api) -> World:
    tag = unique("Zyx").lower()
    a, b = api.signup(), api.signup()
    ids: dict[str, dict[str, str]] = {}
    for owner, user in (("a", a), ("b", b)):
        s = user["sessionToken"]
        mine: dict[str, str] = {}
        mine["Company"] = api.post("classes/Company", {"name": f"{tag} {owner} Company"}, as_=s).json()["objectId"]
        contact = {"name": f"{tag} {owner} Person", "company": ptr("Company", mine["Company"])}
        mine["Contact"] = api.post("classes/Contact", contact, as_=s).json()["objectId"]
        deal = {"title": f"{tag} {owner} Deal", "amount": 1000, "stage": "qualified",
                "company": ptr("Company", mine["Company"]), "expectedCloseDate": {"__type": "Date", "iso": "2030-01-01T00:00:00.000Z"}}  # fmt: skip
        mine["Deal"] = api.post("classes/Deal", deal, as_=s).json()["objectId"]
        activity = {"type": "call", "subject": f"{tag} {owner} call", "relatedTo": ptr("Deal", mine["Deal"])}
        mine["Activity"] = api.post("classes/Activity", activity, as_=s).json()["objectId"]
        ids[owner] = mine
    a_token = new_token(api, a["sessionToken"])["token"]
    b_token = new_token(api, b["sessionToken"])["token"]
    return World(tag, a, b, a_token, b_token, ids)


def db_count(server: Server, sql: str, *args: Any) -> int:
    async def go() -> int:
        conn = await asyncpg.connect(server.database_url)
        try:
            return int(await conn.fetchval(sql, *args))
        finally:
            await conn.close()

    return asyncio.run(go())


# -- tools, visibility ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["http", "stdio"])
def test_tools_are_listed_with_schemas(server: Server, world: World, transport: str) -> None:
    async def go() -> None:
        async with CONNECT[transport](server, world.a_token) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            assert set(tools) >= TOOLS
            for tool in tools.values():
                assert tool.description and tool.input_schema["type"] == "object"
            assert tools["move_deal_stage"].input_schema["required"] == ["deal_id", "stage"]
            assert "dry_run" in tools["create_deal"].input_schema["properties"]
            resources = {str(r.uri) for r in (await client.list_resources()).resources}
            assert resources >= {"crm://schema", "crm://data-dictionary"}
            prompts = {p.name for p in (await client.list_prompts()).prompts}
            assert prompts >= {"weekly_pipeline_review", "prepare_meeting"}
            got = await client.get_prompt("prepare_meeting", {"company": "Acme"})
            assert "Acme" in got.messages[0].content.text
            schema = orjson.loads((await client.read_resource("crm://schema")).contents[0].text)
            assert {c["className"] for c in schema} >= {"Company", "Contact", "Deal", "Activity"}

    asyncio.run(go())


@pytest.mark.parametrize("transport", ["http", "stdio"])
def test_a_rep_sees_only_their_own_through_every_tool(server: Server, world: World, transport: str) -> None:
    mine, theirs = world.ids["a"], world.ids["b"]

    async def go() -> None:
        async with CONNECT[transport](server, world.a_token) as client:
            found = await call(client, "search", {"query": world.tag})
            for cls in ("Company", "Contact", "Deal"):
                assert {o["objectId"] for o in found[cls]} == {mine[cls]}, cls
            deals = await call(client, "list_deals", {"stage": "qualified", "limit": 200})
            assert mine["Deal"] in {d["objectId"] for d in deals} and theirs["Deal"] not in {d["objectId"] for d in deals}
            closes = [d["expectedCloseDate"]["iso"] for d in deals if "expectedCloseDate" in d]
            assert closes == sorted(closes)
            listed = await call(client, "list_records", {"class_name": "Deal", "where": {"title": {"$regex": world.tag}}})
            assert [d["objectId"] for d in listed] == [mine["Deal"]]
            for cls in ("Company", "Contact", "Deal", "Activity"):
                assert (await call(client, "get_record", {"class_name": cls, "object_id": mine[cls]}))["objectId"]
                with pytest.raises(ToolFailed) as err:
                    await call(client, "get_record", {"class_name": cls, "object_id": theirs[cls]})
                assert err.value.code == 101
            acts = await call(client, "list_activities", {"related_to_class": "Deal", "related_to_id": theirs["Deal"]})
            assert acts == []
            acts = await call(client, "list_activities", {"related_to_class": "Deal", "related_to_id": mine["Deal"]})
            assert [x["objectId"] for x in acts] == [mine["Activity"]]
            recent = await call(client, "recent_changes", {"hours": 1, "limit": 200})
            seen = {o["objectId"] for cls in ("Company", "Contact", "Deal", "Activity") for o in recent[cls]}
            assert mine["Deal"] in seen and not seen & set(theirs.values())
            summary = await call(client, "pipeline_summary")
            assert summary  # figures over A's deals only: the function runs as A (checked in test_crm_rules)
            with pytest.raises(ToolFailed) as err:
                await call(client, "update_deal", {"object_id": theirs["Deal"], "title": "stolen"})
            assert err.value.code == 101
            with pytest.raises(ToolFailed) as err:
                await call(client, "move_deal_stage", {"deal_id": theirs["Deal"], "stage": "won"})
            assert err.value.code == 101

    asyncio.run(go())
