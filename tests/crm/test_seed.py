"""`crm seed`: the demo is deterministic and written as its users would write it; the benchmark data's rows are the
ones the rules produce through the API. Runs the real CLI against real databases and logs in over real HTTP."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from typing import Any

import asyncpg

from conftest import ROOT, Api, Server

CLI_ENV = {"PARSE_MASTER_KEY": "seed-test-master", "PARSE_BCRYPT_ROUNDS": "4", "PYTHONUNBUFFERED": "1"}


def crm(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **CLI_ENV, "CRM_DATA_DIR": tempfile.mkdtemp(prefix="crm-cli-"), "DATABASE_URL": url}
    done = subprocess.run(
        [sys.executable, "-m", "parsecrm.cli", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def sql(url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    async def go() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(url)
        try:
            return await conn.fetch(query, *args)
        finally:
            await conn.close()

    return asyncio.run(go())



# What the demo holds, without objectIds and timestamps (those differ per run): owners by username.
SNAPSHOT = {
    "Company": 'SELECT c."name", c."website", c."industry", c."address", u."username" FROM "Company" c '
    'JOIN "_User" u ON u."objectId" = c."createdBy"',
    "Contact": 'SELECT c."name", c."email", c."phone", c."title", co."name", u."username" FROM "Contact" c '
    'JOIN "Company" co ON co."objectId" = c."company" JOIN "_User" u ON u."objectId" = c."createdBy"',
    "Deal": 'SELECT d."title", d."amount", d."stage", d."notes", k."email", a."username", u."username", '
    'array_length(d."_rperm", 1) FROM "Deal" d JOIN "Contact" k ON k."objectId" = d."contact" '
    'JOIN "_User" a ON a."objectId" = d."assignedTo" JOIN "_User" u ON u."objectId" = d."createdBy"',
    "DealStageChange": 'SELECT d."title", d."amount", h."from", h."to", u."username" FROM "DealStageChange" h '
    'JOIN "Deal" d ON d."objectId" = h."deal" JOIN "_User" u ON u."objectId" = h."changedBy"',
    "Activity": 'SELECT a."type", a."subject", a."description", a."done", split_part(a."relatedTo", \'$\', 1), '
    'u."username" FROM "Activity" a JOIN "_User" u ON u."objectId" = a."createdBy"',
}


def snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    return {cls: sorted((tuple(r) for r in sql(url, query)), key=repr) for cls, query in SNAPSHOT.items()}


def login(api: Api, username: str, password: str) -> str:
    r = api.post("login", {"username": username, "password": password}, as_=None)
    assert r.status_code == 200, r.text
    return r.json()["sessionToken"]


def test_demo_is_deterministic_and_each_rep_sees_only_their_deals(
    make_server: Callable[..., Server], fresh_db: Callable[[], str]
) -> None:
    srv = make_server()
    out = crm(srv.database_url, "seed", "--demo").stdout
    assert "demo-manager" in out and "demo-alice" in out
    other = fresh_db()
    crm(other, "seed", "--demo")
    first = snapshot(srv.database_url)
    assert first == snapshot(other)  # same names, amounts, stages, owners and history on a second database
    counts = {cls: len(rows) for cls, rows in first.items()}
    history = counts.pop("DealStageChange")
    assert counts == {"Company": 25, "Contact": 80, "Deal": 60, "Activity": 200}
    assert history > 60  # deals were moved through stages by updates, not only created
    assert {row[2] for row in first["Deal"]} == {"lead", "qualified", "proposal", "negotiation", "won", "lost"}

    again = crm(srv.database_url, "seed", "--demo")  # a second run leaves a populated database alone
    assert "not seeded" in again.stderr and snapshot(srv.database_url) == first

    api = Api(srv)
    seen: dict[str, int] = {}
    for user in ("manager", "admin", "alice", "bob", "carol"):
        token = login(api, user, f"demo-{user}")
        me = api.get("users/me", as_=token).json()["objectId"]
        deals = api.get("classes/Deal", {"limit": 1000}, as_=token).json()["results"]
        seen[user] = len(deals)
        if user in ("alice", "bob", "carol"):
            assert deals and all(d["assignedTo"]["objectId"] == me for d in deals)
            contacts = api.get("classes/Contact", {"limit": 1000}, as_=token).json()["results"]
            assert contacts and all(c["createdBy"]["objectId"] == me for c in contacts)
    assert seen["manager"] == seen["admin"] == 60
    assert seen["alice"] + seen["bob"] + seen["carol"] == 60
    assert len({seen["alice"], seen["bob"], seen["carol"]}) == 3

    summary = api.post("functions/pipelineSummary", {}, as_=login(api, "manager", "demo-manager")).json()["result"]
    assert sum(s["count"] for s in summary["stages"]) == 60
    assert any((s["averageDaysInStage"] or 0) > 1 for s in summary["stages"])  # history spread over weeks
    opened_by_manager = sql(
        srv.database_url,
        'SELECT d."_rperm", a."objectId" AS rep, m."objectId" AS manager FROM "Deal" d '
        'JOIN "_User" a ON a."objectId" = d."assignedTo" JOIN "_User" m ON m."objectId" = d."createdBy" '
        "WHERE m.\"username\" = 'manager'",
    )
    assert opened_by_manager
    for row in opened_by_manager:  # the rule's ACL: the creator, the assignee and role Managers
        assert set(row["_rperm"]) == {"role:Managers", row["rep"], row["manager"]}


def test_scale_rows_are_the_rows_the_rules_write(make_server: Callable[..., Server]) -> None:
    srv = make_server()
    out = crm(srv.database_url, "seed", "--scale", "0.002").stdout
    assert "rows/s" in out
    counts = {r["c"]: r["n"] for r in sql(srv.database_url, SCALE_COUNTS)}
    assert counts == {"_User": 50, "Company": 40, "Contact": 200, "Deal": 100, "Activity": 400}

    api = Api(srv)
    token = login(api, "rep01", "pw-rep01-bench")
    me = api.get("users/me", as_=token).json()["objectId"]
    deals = api.get("classes/Deal", {"limit": 1000}, as_=token).json()["results"]
    assert deals and all(d["assignedTo"]["objectId"] == me for d in deals)
    mine = sql(srv.database_url, 'SELECT count(*) FROM "Deal" WHERE "assignedTo" = $1', me)[0][0]
    assert len(deals) == mine
    manager = login(api, "manager", "pw-manager-bench")
    assert api.get("classes/Deal", {"count": 1, "limit": 0}, as_=manager).json()["count"] == 100

    # The same writes through the API produce the same permission columns and history as the bulk rows.
    own = next(d for d in deals if d["createdBy"]["objectId"] == me)
    made = api.post("classes/Deal", {"title": "API deal", "stage": "qualified"}, as_=token).json()["objectId"]
    activity = api.post(
        "classes/Activity",
        {"type": "call", "relatedTo": {"__type": "Pointer", "className": "Deal", "objectId": made}},
        as_=token,
    ).json()["objectId"]
    perms = 'SELECT "_rperm", "_wperm", "_acl" FROM "{}" WHERE "objectId" = $1'
    assert tuple(sql(srv.database_url, perms.format("Deal"), made)[0]) == tuple(
        sql(srv.database_url, perms.format("Deal"), own["objectId"])[0]
    )
    bulk_activity = sql(
        srv.database_url,
        'SELECT "objectId" FROM "Activity" WHERE "createdBy" = $1 AND "relatedTo" LIKE \'Deal$%\' LIMIT 1',
        me,
    )[0][0]
    assert tuple(sql(srv.database_url, perms.format("Activity"), activity)[0]) == tuple(
        sql(srv.database_url, perms.format("Activity"), bulk_activity)[0]
    )
    history = (
        'SELECT "from", "to", "changedBy", "_rperm", "_acl" FROM "DealStageChange" WHERE "deal" = $1 '
        'ORDER BY "changedAt"'
    )
    api_first = sql(srv.database_url, history, made)[0]
    bulk = sql(srv.database_url, history, own["objectId"])
    assert bulk[0]["from"] is None and bulk[-1]["to"] == own["stage"]
    assert [b["from"] for b in bulk[1:]] == [b["to"] for b in bulk[:-1]]
    assert (api_first["from"], api_first["changedBy"], api_first["_rperm"], api_first["_acl"]) == (
        None,
        me,
        bulk[0]["_rperm"],
        bulk[0]["_acl"],
    )


SCALE_COUNTS = """
SELECT '_User' AS c, count(*) AS n FROM "_User" UNION ALL SELECT 'Company', count(*) FROM "Company"
UNION ALL SELECT 'Contact', count(*) FROM "Contact" UNION ALL SELECT 'Deal', count(*) FROM "Deal"
UNION ALL SELECT 'Activity', count(*) FROM "Activity"
"""
