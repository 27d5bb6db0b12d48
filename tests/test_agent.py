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
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as hc,
        Client(streamable_http_client(mcp_url(server), http_client=hc)) as client,
    ):
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
        deal = {
            "title": f"{tag} {owner} Deal",
            "amount": 1000,
            "stage": "qualified",
            "company": ptr("Company", mine["Company"]),
            "expectedCloseDate": {"__type": "Date", "iso": "2030-01-01T00:00:00.000Z"},
        }
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
            assert mine["Deal"] in {d["objectId"] for d in deals} and theirs["Deal"] not in {
                d["objectId"] for d in deals
            }
            closes = [d["expectedCloseDate"]["iso"] for d in deals if "expectedCloseDate" in d]
            assert closes == sorted(closes)
            listed = await call(
                client, "list_records", {"class_name": "Deal", "where": {"title": {"$regex": world.tag}}}
            )
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


# -- writes, dry runs, audit, undo ----------------------------------------------------------------------------------


def test_tool_writes_are_the_same_objects_over_rest_with_acls_and_hooks(api: Api, world: World, server: Server) -> None:
    a_s, b_s = world.a["sessionToken"], world.b["sessionToken"]

    async def go() -> dict[str, Any]:
        async with http_client(server, world.a_token) as client:
            company = await call(
                client, "create_company", {"name": f"  {world.tag} Tooled Co  ", "website": "tooled.example/"}
            )
            deal = await call(
                client,
                "create_deal",
                {
                    "title": f"{world.tag} tooled deal",
                    "amount": 250,
                    "company_id": company["objectId"],
                    "expected_close_date": "2031-03-01",
                },
            )
            moved = await call(client, "move_deal_stage", {"deal_id": deal["objectId"], "stage": "proposal"})
            assert moved["before"]["stage"] == "lead" and moved["after"]["stage"] == "proposal"
            activity = await call(
                client,
                "log_activity",
                {
                    "type": "meeting",
                    "subject": "kick-off",
                    "related_to_class": "Deal",
                    "related_to_id": deal["objectId"],
                },
            )
            done = await call(client, "complete_activity", {"activity_id": activity["objectId"]})
            assert done["after"]["done"] is True and "completedAt" in done["after"]
            with pytest.raises(ToolFailed) as err:  # the CRM's validation (a hook) answers through the tool
                await call(client, "move_deal_stage", {"deal_id": deal["objectId"], "stage": "bogus"})
            assert err.value.code == 142 and "stage must be one of" in err.value.text
            with pytest.raises(ToolFailed) as err:
                await call(client, "create_contact", {"name": "X", "email": "not-an-email"})
            assert err.value.code == 125
            return {"company": company, "deal": deal, "activity": activity}

    made = asyncio.run(go())
    company = api.get(f"classes/Company/{made['company']['objectId']}", as_=a_s).json()
    assert company["name"] == f"{world.tag} Tooled Co" and company["website"] == "https://tooled.example"
    assert company["createdBy"]["objectId"] == world.a["objectId"]
    assert company["ACL"] == {
        world.a["objectId"]: {"read": True, "write": True},
        "role:Managers": {"read": True, "write": True},
    }
    deal_id = made["deal"]["objectId"]
    deal = api.get(f"classes/Deal/{deal_id}", as_=a_s).json()
    assert deal["stage"] == "proposal" and deal["assignedTo"]["objectId"] == world.a["objectId"]
    assert api.get(f"classes/Deal/{deal_id}", as_=b_s).status_code == 404
    history = api.get(
        "classes/DealStageChange", params={"where": {"deal": ptr("Deal", deal_id)}, "order": "changedAt"}, as_=a_s
    )
    assert [(h.get("from"), h["to"]) for h in history.json()["results"]] == [(None, "lead"), ("lead", "proposal")]
    activity = api.get(f"classes/Activity/{made['activity']['objectId']}", as_=a_s).json()
    assert activity["done"] is True and activity["completedAt"]["__type"] == "Date"
    changes = api.get(
        "classes/AgentChange", params={"where": {"targetId": deal_id}, "order": "createdAt"}, as_=a_s
    ).json()["results"]
    assert [c["action"] for c in changes] == ["create", "update"]
    assert changes[1]["summary"] == (
        f"update Deal {deal_id} via agent token 'assistant' on behalf of {world.a['username']}"
    )
    assert changes[1]["before"]["stage"] == "lead" and changes[1]["after"]["stage"] == "proposal"
    assert api.get("classes/AgentChange", params={"where": {"targetId": deal_id}}, as_=b_s).json()["results"] == []
    assert api.post("classes/AgentChange", {"action": "forged"}, as_=a_s).status_code in (400, 403)


def test_dry_run_validates_and_changes_nothing(api: Api, world: World, server: Server) -> None:
    counts = {
        t: f'SELECT count(*) FROM "{t}"' for t in ("Company", "Deal", "DealStageChange", "Activity", "AgentChange")
    }
    before = {t: db_count(server, sql) for t, sql in counts.items()}
    deal_id = world.ids["a"]["Deal"]
    stage_before = api.get(f"classes/Deal/{deal_id}", as_=world.a["sessionToken"]).json()["stage"]

    async def go() -> None:
        async with http_client(server, world.a_token) as client:
            preview = await call(client, "create_deal", {"title": "preview only", "amount": 5, "dry_run": True})
            assert preview["dryRun"] is True and preview["after"]["stage"] == "lead" and "changeId" not in preview
            assert preview["after"]["createdBy"]["objectId"] == world.a["objectId"]  # the hooks ran
            moved = await call(client, "move_deal_stage", {"deal_id": deal_id, "stage": "won", "dry_run": True})
            assert moved["after"]["stage"] == "won" and moved["dryRun"] is True
            await call(client, "create_company", {"name": "preview co", "dry_run": True})
            await call(
                client,
                "log_activity",
                {
                    "type": "note",
                    "subject": "preview",
                    "dry_run": True,
                    "related_to_class": "Deal",
                    "related_to_id": deal_id,
                },
            )
            with pytest.raises(ToolFailed) as err:  # a dry run still refuses what would fail
                await call(
                    client, "move_deal_stage", {"deal_id": world.ids["b"]["Deal"], "stage": "won", "dry_run": True}
                )
            assert err.value.code == 101
            with pytest.raises(ToolFailed) as err:
                await call(client, "create_deal", {"title": "x", "stage": "nope", "dry_run": True})
            assert err.value.code == 142

    asyncio.run(go())
    assert {t: db_count(server, sql) for t, sql in counts.items()} == before
    assert api.get(f"classes/Deal/{deal_id}", as_=world.a["sessionToken"]).json()["stage"] == stage_before


def test_undo_restores_and_only_for_the_owner(api: Api, world: World, server: Server) -> None:
    a_s, b_s = world.a["sessionToken"], world.b["sessionToken"]
    company_id = world.ids["a"]["Company"]
    original = api.get(f"classes/Company/{company_id}", as_=a_s).json()

    async def edit() -> tuple[str, str, str]:
        async with stdio_client(server, world.a_token) as client:
            changed = await call(
                client, "update_company", {"object_id": company_id, "industry": "Agritech", "notes": "via agent"}
            )
            created = await call(client, "create_contact", {"name": f"{world.tag} temp", "company_id": company_id})
            return changed["changeId"], created["changeId"], created["objectId"]

    update_change, create_change, contact_id = asyncio.run(edit())
    assert api.get(f"classes/Company/{company_id}", as_=a_s).json()["industry"] == "Agritech"
    # another user cannot undo (nor see) A's agent changes
    r = api.post("functions/undoAgentChange", {"id": update_change}, as_=b_s)
    assert r.json()["code"] == 101
    r = api.post("functions/undoAgentChange", {"id": update_change}, as_=a_s)
    assert r.status_code == 200, r.text
    restored = api.get(f"classes/Company/{company_id}", as_=a_s).json()
    assert restored.get("industry") == original.get("industry") and "notes" not in restored
    assert api.post("functions/undoAgentChange", {"id": update_change}, as_=a_s).json()["code"] == 142  # once only

    async def undo_create() -> None:
        async with http_client(server, world.a_token) as client:
            listed = await call(client, "list_agent_changes", {"limit": 50})
            assert create_change in {c["objectId"] for c in listed}
            assert all(c["user"]["objectId"] == world.a["objectId"] for c in listed)
            done = await call(client, "undo_agent_change", {"change_id": create_change})
            assert done["action"] == "create"

    asyncio.run(undo_create())
    assert api.get(f"classes/Contact/{contact_id}", as_=a_s).status_code == 404
    audit = api.get(f"classes/AgentChange/{update_change}", as_=a_s).json()
    assert audit["undoneAt"]["__type"] == "Date"


def test_undo_refuses_when_the_record_changed_since(api: Api, world: World, server: Server) -> None:
    a_s = world.a["sessionToken"]
    deal_id = world.ids["a"]["Deal"]

    async def edit() -> str:
        async with http_client(server, world.a_token) as client:
            return (await call(client, "update_deal", {"object_id": deal_id, "notes": "agent note"}))["changeId"]

    change = asyncio.run(edit())
    assert api.put(f"classes/Deal/{deal_id}", {"notes": "human edit"}, as_=a_s).status_code == 200
    r = api.post("functions/undoAgentChange", {"id": change}, as_=a_s)
    assert r.json()["code"] == 142 and "changed after" in r.json()["error"]
    assert api.post("functions/undoAgentChange", {"id": change, "force": True}, as_=a_s).status_code == 200
    assert "notes" not in api.get(f"classes/Deal/{deal_id}", as_=a_s).json()


# -- tokens ---------------------------------------------------------------------------------------------------------


def refused_over_http(server: Server, token: str) -> int:
    r = httpx2.post(
        mcp_url(server),
        headers={**bearer(token), "Accept": "application/json, text/event-stream"},
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
    )
    return r.status_code


def test_token_acts_as_its_user_on_rest(api: Api, world: World) -> None:
    r = api.get(
        "classes/Deal", params={"where": {"title": {"$regex": world.tag}}}, as_=None, headers=bearer(world.a_token)
    )
    assert r.status_code == 200
    seen = {d["objectId"] for d in r.json()["results"]}
    assert world.ids["a"]["Deal"] in seen and world.ids["b"]["Deal"] not in seen
    r = api.post("classes/Company", {"name": f"{world.tag} via rest token"}, as_=None, headers=bearer(world.a_token))
    assert r.status_code == 201
    got = api.get(f"classes/Company/{r.json()['objectId']}", as_=world.a["sessionToken"]).json()
    assert got["createdBy"]["objectId"] == world.a["objectId"]
    # the session header and a token together are ambiguous: refused
    both = api.get("classes/Deal", as_=world.b["sessionToken"], headers=bearer(world.a_token))
    assert both.json()["code"] == 209
    assert api.get("classes/Deal", as_=None, headers=bearer("pcrm_nope")).json() == {
        "code": 209,
        "error": "Invalid or revoked API token.",
    }


def test_token_management_shows_secrets_once_and_only_to_the_owner(api: Api, world: World) -> None:
    made = new_token(api, world.a["sessionToken"], "laptop", readOnly=True, expiresInDays=30)
    assert made["token"].startswith("pcrm_") and made["prefix"] == made["token"][:12] and made["readOnly"] is True
    listed = api.post("functions/listApiTokens", {}, as_=world.a["sessionToken"]).json()["result"]
    mine = next(t for t in listed if t["id"] == made["id"])
    assert "token" not in mine and "hash" not in mine and mine["expiresAt"]
    assert made["token"] not in orjson.dumps(listed).decode()
    others = api.post("functions/listApiTokens", {}, as_=world.b["sessionToken"]).json()["result"]
    assert made["id"] not in {t["id"] for t in others}
    assert api.post("functions/revokeApiToken", {"id": made["id"]}, as_=world.b["sessionToken"]).json()["code"] == 101
    # a token cannot manage tokens (a leaked one cannot make itself permanent)
    r = api.post("functions/createApiToken", {"name": "x"}, as_=None, headers=bearer(world.a_token))
    assert r.json()["code"] == 119
    assert api.post("functions/createApiToken", {"name": "x"}, as_=None).json()["code"] == 209
    assert api.post("functions/createApiToken", {"name": ""}, as_=world.a["sessionToken"]).json()["code"] == 142
    # the stored row holds a hash, never the secret; the master key cannot read tokens as a class either
    assert api.get("classes/_ApiToken").status_code >= 400


def test_read_only_token_cannot_write(api: Api, world: World, server: Server) -> None:
    ro = new_token(api, world.a["sessionToken"], "reader", readOnly=True)["token"]
    r = api.post("classes/Company", {"name": "nope"}, as_=None, headers=bearer(ro))
    assert r.status_code == 400 and r.json()["code"] == 119 and "read-only" in r.json()["error"]
    r = api.put(f"classes/Deal/{world.ids['a']['Deal']}", {"stage": "won"}, as_=None, headers=bearer(ro))
    assert r.json()["code"] == 119
    assert api.get(f"classes/Deal/{world.ids['a']['Deal']}", as_=None, headers=bearer(ro)).status_code == 200

    async def go() -> None:
        async with http_client(server, ro) as client:
            assert await call(client, "get_record", {"class_name": "Deal", "object_id": world.ids["a"]["Deal"]})
            for tool, args in [
                ("create_company", {"name": "nope"}),
                ("create_company", {"name": "nope", "dry_run": True}),
                ("move_deal_stage", {"deal_id": world.ids["a"]["Deal"], "stage": "won"}),
                ("complete_activity", {"activity_id": world.ids["a"]["Activity"]}),
            ]:
                with pytest.raises(ToolFailed) as err:
                    await call(client, tool, args)
                assert err.value.code == 119, tool

    asyncio.run(go())


def test_revoked_token_is_refused_everywhere_at_once(api: Api, world: World, server: Server) -> None:
    made = new_token(api, world.a["sessionToken"], "to revoke")
    token = made["token"]
    assert api.get("classes/Deal", as_=None, headers=bearer(token)).status_code == 200

    async def go() -> None:
        async with stdio_client(server, token) as client:  # a separate process, with its own cache
            assert await call(client, "list_deals", {"limit": 1}) is not None
            assert refused_over_http(server, token) == 200
            r = api.post("functions/revokeApiToken", {"id": made["id"]}, as_=world.a["sessionToken"])
            assert r.json() == {"result": {"revoked": True}}
            for _ in range(50):  # the NOTIFY reaches the other process within milliseconds
                try:
                    await call(client, "list_deals", {"limit": 1})
                except ToolFailed as exc:
                    assert exc.code == 209 and "revoked" in exc.text
                    break
                await asyncio.sleep(0.1)
            else:
                pytest.fail("the stdio server kept accepting a revoked token")

    asyncio.run(go())
    r = api.get("classes/Deal", as_=None, headers=bearer(token))
    assert r.status_code == 400 and r.json()["code"] == 209
    assert refused_over_http(server, token) == 401


def test_expired_token_is_refused(api: Api, world: World, server: Server) -> None:
    token = new_token(api, world.a["sessionToken"], "brief", expiresInDays=2 / 86400)["token"]  # two seconds
    assert api.get("classes/Deal", as_=None, headers=bearer(token)).status_code == 200
    time.sleep(2.5)
    r = api.get("classes/Deal", as_=None, headers=bearer(token))
    assert r.json()["code"] == 209 and "expired" in r.json()["error"]
    assert refused_over_http(server, token) == 401


def test_stdio_refuses_a_bad_token_at_start(server: Server) -> None:
    import subprocess

    params = stdio_params(server, "pcrm_not-a-token")
    proc = subprocess.run(
        [params.command, *params.args],
        env=params.env,
        cwd=params.cwd,
        capture_output=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 2 and b"Invalid or revoked API token" in proc.stderr and proc.stdout == b""


def test_mcp_over_http_needs_a_token(server: Server) -> None:
    r = httpx2.post(mcp_url(server), json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert r.status_code == 401 and r.json()["code"] == 209 and r.headers["www-authenticate"] == "Bearer"


def test_rate_limit_per_token(make_server: Any) -> None:
    srv = make_server({"CRM_TOKEN_RATE_LIMIT": "5"})
    api = Api(srv)
    user = api.signup()
    token = new_token(api, user["sessionToken"])["token"]
    other = new_token(api, user["sessionToken"], "other")["token"]
    codes = [api.get("classes/Deal", as_=None, headers=bearer(token)).status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]
    r = api.get("classes/Deal", as_=None, headers=bearer(token))
    assert r.json()["code"] == 100 and int(r.headers["retry-after"]) >= 1  # parse-server's rate-limit answer
    assert api.get("classes/Deal", as_=None, headers=bearer(other)).status_code == 200  # per token
    assert refused_over_http(srv, token) == 429


# -- the agent prompt -----------------------------------------------------------------------------------------------


def test_agent_prompt_is_rendered_from_the_live_schema(api: Api, world: World, server: Server) -> None:
    url = server.url + "/agent-prompt"
    assert httpx2.get(url).json() == {"error": "unauthorized"}  # no application id: Parse's 403
    anonymous = httpx2.get(url, headers={"X-Parse-Application-Id": server.app_id})
    assert anonymous.status_code == 401 and anonymous.json()["code"] == 209
    r = httpx2.get(url, headers=bearer(world.a_token))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/markdown")
    text = r.text
    assert "Create a CRM app" in text and "with this exact schema and behaviour" in text
    assert "Deal: title (String; required)" in text and "stage (String; one of lead, qualified, proposal" in text, text
    assert "relatedTo (Pointer to Contact or Deal)" in text and server.url in text and "/mcp" in text
    field = unique("custom")
    r = api.put("schemas/Company", {"className": "Company", "fields": {field: {"type": "Number"}}})
    assert r.status_code == 200, r.text
    headers = {"X-Parse-Application-Id": server.app_id, "X-Parse-Session-Token": world.b["sessionToken"]}
    assert f"{field} (Number)" in httpx2.get(url, headers=headers).text
    fn = api.post("functions/agentPrompt", {}, as_=world.a["sessionToken"]).json()["result"]
    assert fn.startswith("# Agent prompt") and field in fn


# -- docs tell the truth --------------------------------------------------------------------------------------------


def test_every_tool_resource_and_prompt_is_documented() -> None:
    from parsecrm.agent.tools import Agent, build

    server = build(Agent(None))  # type: ignore[arg-type]  # listing needs no backend

    async def names() -> set[str]:
        tools = {t.name for t in await server.list_tools()}
        prompts = {p.name for p in await server.list_prompts()}
        resources = {str(r.uri) for r in await server.list_resources()}
        return tools | prompts | resources

    listed = asyncio.run(names())
    assert listed >= TOOLS
    doc = (ROOT / "docs/ai-guide.md").read_text()
    missing = sorted(n for n in listed if f"`{n}`" not in doc)
    assert not missing, f"missing from docs/ai-guide.md: {missing}"


# -- the permission matrix, with the agent tools as the transport ---------------------------------------------------


class McpTransport:
    """The CRM permission matrix's operations through MCP tools: each answers None (allowed) or the Parse code of
    the refusal, and `find` the objectIds it saw — the shape the REST and SDK matrices check."""

    CREATE = {"Company": "create_company", "Contact": "create_contact", "Deal": "create_deal"}
    UPDATE = {"Company": "update_company", "Contact": "update_contact", "Deal": "update_deal"}

    def __init__(self, client: Client) -> None:
        self.client = client

    async def _code(self, tool: str, args: dict[str, Any]) -> int | None:
        try:
            await call(self.client, tool, args)
        except ToolFailed as exc:
            return exc.code
        return None

    async def find(self, cls: str, where: dict[str, Any]) -> set[str]:
        found = await call(self.client, "list_records", {"class_name": cls, "where": where, "limit": 200})
        return {o["objectId"] for o in found}

    async def get(self, cls: str, oid: str) -> int | None:
        return await self._code("get_record", {"class_name": cls, "object_id": oid})

    async def create(self, cls: str, fields: dict[str, Any]) -> int | None:
        if cls == "Activity":
            return await self._code("log_activity", {"type": "note", **fields})
        return await self._code(self.CREATE[cls], fields)

    async def update(self, cls: str, oid: str) -> int | None:
        if cls == "Activity":
            return await self._code("complete_activity", {"activity_id": oid})
        return await self._code(self.UPDATE[cls], {"object_id": oid, "notes": "matrix"})


def test_permission_matrix_through_tools(api: Api, world: World, server: Server) -> None:
    manager = api.signup()
    role = api.get("roles", params={"where": {"name": "Managers"}}).json()["results"][0]["objectId"]
    users = {"users": {"__op": "AddRelation", "objects": [ptr("_User", manager["objectId"])]}}
    assert api.put(f"roles/{role}", users).status_code == 200
    tokens = {
        "a": world.a_token,
        "b": world.b_token,
        "manager": new_token(api, manager["sessionToken"])["token"],
        "a_reader": new_token(api, world.a["sessionToken"], "reader", readOnly=True)["token"],
    }
    reads = {"a": {"a"}, "b": {"b"}, "manager": {"a", "b"}, "a_reader": {"a"}}
    writes = {"a": {"a"}, "b": {"b"}, "manager": {"a", "b"}, "a_reader": set()}
    create_fields = {
        "Company": {"name": "m"},
        "Contact": {"name": "m"},
        "Deal": {"title": "m"},
        "Activity": {"subject": "m", "related_to_class": "Deal", "related_to_id": world.ids["a"]["Deal"]},
    }
    failures: list[str] = []

    async def run(actor: str) -> None:
        async with http_client(server, tokens[actor]) as client:
            t = McpTransport(client)
            for cls in ("Company", "Contact", "Deal", "Activity"):
                all_ids = {world.ids[o][cls] for o in ("a", "b")}
                seen = await t.find(cls, {"objectId": {"$in": sorted(all_ids)}})
                if seen != {world.ids[o][cls] for o in reads[actor]}:
                    failures.append(f"{actor} find {cls}: {seen}")
                for owner in ("a", "b"):
                    oid = world.ids[owner][cls]
                    got = await t.get(cls, oid)
                    if got != (None if owner in reads[actor] else 101):
                        failures.append(f"{actor} get {owner}'s {cls}: {got}")
                    want = None if owner in writes[actor] else (119 if actor == "a_reader" else 101)
                    got = await t.update(cls, oid)
                    if got != want:
                        failures.append(f"{actor} update {owner}'s {cls}: {got}, want {want}")
                fields = create_fields[cls]
                # an activity on a deal B cannot read is refused by the CRM rule (142)
                want = 119 if actor == "a_reader" else (142 if cls == "Activity" and actor == "b" else None)
                got = await t.create(cls, {**fields, "dry_run": True})
                if got != want:
                    failures.append(f"{actor} create {cls}: {got}, want {want}")

    for actor in tokens:
        asyncio.run(run(actor))
    assert not failures, failures


def test_tokens_cannot_change_accounts_roles_or_sessions(api: Api, world: World) -> None:
    token = bearer(world.a_token)
    r = api.put(f"users/{world.a['objectId']}", {"password": "taken-over"}, as_=None, headers=token)
    assert r.json()["code"] == 119
    role = api.get("roles", params={"where": {"name": "Managers"}}).json()["results"][0]["objectId"]
    users = {"users": {"__op": "AddRelation", "objects": [ptr("_User", world.a["objectId"])]}}
    assert api.put(f"roles/{role}", users, as_=None, headers=token).json()["code"] == 119
    r = api.get(f"users/{world.a['objectId']}", as_=None, headers=token)
    assert r.status_code == 200 and r.json()["username"] == world.a["username"]


def test_token_writes_over_rest_are_recorded_and_a_delete_can_be_undone(api: Api, world: World) -> None:
    a_s, token = world.a["sessionToken"], bearer(world.a_token)
    r = api.post("classes/Contact", {"name": f"{world.tag} rest-made", "phone": "1"}, as_=None, headers=token)
    oid = r.json()["objectId"]
    assert api.put(f"classes/Contact/{oid}", {"phone": "2"}, as_=None, headers=token).status_code == 200
    assert api.put(f"classes/Contact/{oid}", {"phone": "3"}, as_=a_s).status_code == 200  # a session: not recorded
    assert api.delete(f"classes/Contact/{oid}", as_=None, headers=token).status_code == 200
    where = {"where": {"targetId": oid}, "order": "createdAt"}
    changes = api.get("classes/AgentChange", params=where, as_=a_s).json()["results"]
    assert [(c["action"], c["fields"]) for c in changes] == [
        ("create", ["name", "phone"]),
        ("update", ["phone"]),
        ("delete", ["name", "phone"]),
    ]
    assert changes[1]["before"]["phone"] == "1" and changes[1]["after"]["phone"] == "2"
    assert changes[2]["before"]["phone"] == "3" and "after" not in changes[2]
    r = api.post("functions/undoAgentChange", {"id": changes[2]["objectId"]}, as_=a_s)
    assert r.status_code == 200, r.text
    back = api.get(f"classes/Contact/{oid}", as_=a_s).json()
    assert back["phone"] == "3" and back["createdBy"]["objectId"] == world.a["objectId"]
    assert api.get(f"classes/Contact/{oid}", as_=world.b["sessionToken"]).status_code == 404


def test_mcp_answers_cors_preflight(server: Server) -> None:
    r = httpx2.options(
        mcp_url(server), headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
    )
    assert r.status_code == 204 and "Authorization" in r.headers["access-control-allow-headers"]


# -- GraphQL takes the same tokens ----------------------------------------------------------------------------------


def test_tokens_on_graphql(api: Api, world: World, server: Server) -> None:
    from graphql_client import Gql

    gql = Gql(server)
    query = "{ deals(first: 1000) { edges { node { objectId } } } }"
    made = new_token(api, world.a["sessionToken"], "graphql")
    r = gql.raw(query, as_=None, headers=bearer(made["token"]))
    assert r.status_code == 200 and "errors" not in r.json(), r.text
    seen = {e["node"]["objectId"] for e in r.json()["data"]["deals"]["edges"]}
    assert world.ids["a"]["Deal"] in seen and world.ids["b"]["Deal"] not in seen
    ro = new_token(api, world.a["sessionToken"], "graphql-reader", readOnly=True)["token"]
    create = 'mutation { createCompany(input: {fields: {name: "via graphql"}}) { company { objectId } } }'
    r = gql.raw(create, as_=None, headers=bearer(ro))
    assert r.json()["errors"][0]["extensions"]["code"] == 119, r.text
    assert api.post("functions/revokeApiToken", {"id": made["id"]}, as_=world.a["sessionToken"]).status_code == 200
    r = gql.raw(query, as_=None, headers=bearer(made["token"]))
    assert r.status_code == 400 and r.json() == {"code": 209, "error": "Invalid or revoked API token."}
    expired = new_token(api, world.a["sessionToken"], "brief", expiresInDays=1 / 86400)["token"]
    time.sleep(1.5)
    r = gql.raw(query, as_=None, headers=bearer(expired))
    assert r.status_code == 400 and r.json() == {"code": 209, "error": "This API token has expired."}
