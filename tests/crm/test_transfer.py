"""`crm export` / `crm import`: a round trip through JSON or CSV into a fresh database gives back every object as it
was (objectIds, timestamps, pointers, ACLs, role members, password hashes), importing twice changes nothing, and a
Parse/Back4app export (REST objects, or raw parse-server MongoDB documents) comes in with its permissions working."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import bcrypt

from conftest import ROOT, Api, Server

CLI_ENV = {"PARSE_MASTER_KEY": "transfer-test-master", "PARSE_BCRYPT_ROUNDS": "4", "PYTHONUNBUFFERED": "1"}


def crm(url: str, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **CLI_ENV, "CRM_DATA_DIR": tempfile.mkdtemp(prefix="crm-cli-"), "DATABASE_URL": url}
    done = subprocess.run(
        [sys.executable, "-m", "parsecrm.cli", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=180
    )
    assert (done.returncode == 0) == ok, done.stderr[-3000:]
    return done


def count(url: str, cls: str) -> int:
    async def go() -> int:
        conn = await asyncpg.connect(url)
        try:
            return int(await conn.fetchval(f'SELECT count(*) FROM "{cls}"'))
        finally:
            await conn.close()

    return asyncio.run(go())


def load(directory: Path) -> dict[str, Any]:
    return {p.name: json.loads(p.read_text()) for p in sorted(directory.glob("*.json"))}



def test_round_trip_json_and_csv(fresh_db: Callable[[], str], tmp_path: Path) -> None:
    source = fresh_db()
    crm(source, "seed", "--demo")
    crm(source, "export", str(tmp_path / "a"), "--with-password-hashes")
    exported = load(tmp_path / "a")
    assert {"_User.json", "_Role.json", "Company.json", "Contact.json", "Deal.json", "Activity.json",
            "DealStageChange.json", "_Join:users:_Role.json", "_Join:roles:_Role.json"} <= set(exported)  # fmt: skip
    assert len(exported["Deal.json"]["results"]) == 60
    assert all(u["_hashed_password"].startswith("$2") for u in exported["_User.json"]["results"])
    deal = exported["Deal.json"]["results"][0]
    assert deal["contact"]["__type"] == "Pointer" and deal["expectedCloseDate"]["__type"] == "Date"
    assert "role:Managers" in deal["ACL"]

    target = fresh_db()  # its start-up creates its own Admins/Managers roles: the imported ones must take over
    crm(target, "import", str(tmp_path / "a"))
    crm(target, "export", str(tmp_path / "b"), "--with-password-hashes")
    assert load(tmp_path / "b") == exported
    crm(target, "import", str(tmp_path / "a"))  # idempotent: upserts by objectId
    crm(target, "export", str(tmp_path / "c"), "--with-password-hashes")
    assert load(tmp_path / "c") == exported
    assert count(target, "_Role") == 2

    crm(source, "export", str(tmp_path / "plain"))  # without the flag no hash leaves the database
    assert all("_hashed_password" not in u for u in load(tmp_path / "plain")["_User.json"]["results"])

    crm(source, "export", str(tmp_path / "csv"), "--format", "csv", "--with-password-hashes")
    header = (tmp_path / "csv" / "Activity.csv").read_text().splitlines()[0].split(",")
    assert {"objectId", "createdAt", "relatedTo", "dueDate", "ACL"} <= set(header)
    from_csv = fresh_db()
    crm(from_csv, "import", str(tmp_path / "csv"))
    crm(from_csv, "export", str(tmp_path / "d"), "--with-password-hashes")
    assert load(tmp_path / "d") == exported


def ptr(cls: str, oid: str) -> dict[str, str]:
    return {"__type": "Pointer", "className": cls, "objectId": oid}


def rw(*principals: str) -> dict[str, dict[str, bool]]:
    return {p: {"read": True, "write": True} for p in principals}


def write_parse_export(directory: Path, password_hash: str) -> None:
    """A Parse/Back4app-style export: dashboard REST files for most classes, raw parse-server MongoDB documents (as
    mongoexport writes them: one per line, extended JSON) for users, contacts and activities."""
    directory.mkdir()

    def results(name: str, rows: list[dict[str, Any]]) -> None:
        (directory / name).write_text(json.dumps({"results": rows}, indent=2))

    def lines(name: str, docs: list[dict[str, Any]]) -> None:
        (directory / name).write_text("\n".join(json.dumps(d) for d in docs) + "\n")

    def mongo_user(oid: str, username: str) -> dict[str, Any]:
        return {"_id": oid, "username": username, "email": f"{username}@parse.example", "_hashed_password":
                password_hash, "_created_at": {"$date": "2021-03-04T05:06:07.089Z"}, "_updated_at": {"$date":
                {"$numberLong": "1614834367089"}}, "_rperm": ["*", oid], "_wperm": [oid], "_acl": {"*": {"r": True},
                oid: {"r": True, "w": True}}, "_session_token": "legacy", "_email_verify_token": "x"}  # fmt: skip

    lines(
        "_User.json",
        [mongo_user("patP4rse01", "pat"), mongo_user("samP4rse02", "sam"), mongo_user("miaP4rse03", "mia")],
    )
    results("_Role.json", [
        {"objectId": "ManagersP1", "name": "Managers", "createdAt": "2021-01-01T00:00:00.000Z",
         "updatedAt": "2021-01-01T00:00:00.000Z", "users": {"__type": "Relation", "className": "_User"},
         "ACL": {"*": {"read": True}, "role:Admins": {"read": True, "write": True}}},
    ])  # fmt: skip
    # Back4app writes the colons of join-file names as U+A789
    results("_Join\ua789users\ua789_Role.json", [{"owningId": "ManagersP1", "relatedId": "miaP4rse03"}])
    results("Company.json", [
        {"objectId": "coP4rse001", "name": "Legacy Widgets", "website": "https://legacy.example", "createdAt":
         "2021-05-01T10:00:00.000Z", "updatedAt": "2021-06-01T10:00:00.000Z", "createdBy": ptr("_User",
         "patP4rse01"), "ACL": rw("patP4rse01", "role:Managers"), "className": "Company", "tier": "gold"},
    ])  # fmt: skip
    lines("Contact.json", [
        {"_id": "ctP4rse001", "name": "Lee Legacy", "email": "lee@legacy.example", "_p_company": "Company$coP4rse001",
         "_p_createdBy": "_User$patP4rse01", "_created_at": {"$date": "2021-05-02T10:00:00.000Z"},
         "_updated_at": {"$date": "2021-05-02T10:00:00.000Z"}, "_rperm": ["patP4rse01", "role:Managers"],
         "_wperm": ["patP4rse01", "role:Managers"]},
    ])  # fmt: skip
    results("Deal.json", [
        {"objectId": "dlP4rse001", "title": "Legacy renewal", "amount": 1200.5, "stage": "proposal",
         "contact": ptr("Contact", "ctP4rse001"), "company": ptr("Company", "coP4rse001"),
         "assignedTo": ptr("_User", "patP4rse01"), "createdBy": ptr("_User", "patP4rse01"),
         "expectedCloseDate": {"__type": "Date", "iso": "2021-09-30T00:00:00.000Z"},
         "createdAt": "2021-05-03T10:00:00.000Z", "updatedAt": "2021-05-04T10:00:00.000Z",
         "ACL": rw("patP4rse01", "role:Managers")},
    ])  # fmt: skip
    lines("Activity.json", [
        {"_id": "acP4rse001", "type": "call", "subject": "Renewal call", "_p_relatedTo": "Deal$dlP4rse001",
         "dueDate": {"$date": "2021-05-10T09:00:00.000Z"}, "done": True, "_p_createdBy": "_User$patP4rse01",
         "_created_at": {"$date": "2021-05-03T11:00:00.000Z"}, "_updated_at": {"$date": "2021-05-03T11:00:00.000Z"},
         "_rperm": ["patP4rse01", "role:Managers"], "_wperm": ["patP4rse01", "role:Managers"]},
    ])  # fmt: skip


def test_import_parse_export(make_server: Callable[..., Server], tmp_path: Path) -> None:
    srv = make_server()
    password_hash = bcrypt.hashpw(b"parse-pass", bcrypt.gensalt(4)).decode()
    write_parse_export(tmp_path / "parse", password_hash)
    out = crm(srv.database_url, "import", str(tmp_path / "parse")).stdout
    assert "Deal 1" in out and "Activity 1" in out

    api = Api(srv)

    def login(username: str) -> str:
        r = api.post("login", {"username": username, "password": "parse-pass"}, as_=None)
        assert r.status_code == 200, r.text  # the bcrypt hash from parse-server still opens the account
        return r.json()["sessionToken"]

    pat = login("pat")
    deals = api.get("classes/Deal", {"include": "contact,company"}, as_=pat).json()["results"]
    assert [d["objectId"] for d in deals] == ["dlP4rse001"]
    assert deals[0]["createdAt"] == "2021-05-03T10:00:00.000Z" and deals[0]["amount"] == 1200.5
    assert deals[0]["contact"]["name"] == "Lee Legacy" and deals[0]["company"]["name"] == "Legacy Widgets"
    assert deals[0]["company"]["tier"] == "gold"  # a field the CRM schema lacks was added, as a master save would
    contact = api.get("classes/Contact/ctP4rse001", as_=pat).json()
    assert contact["company"] == ptr("Company", "coP4rse001")
    assert contact["ACL"] == rw("patP4rse01", "role:Managers")
    assert contact["createdAt"] == "2021-05-02T10:00:00.000Z"
    activities = api.get(
        "classes/Activity", {"where": {"relatedTo": ptr("Deal", "dlP4rse001")}, "include": "relatedTo"}, as_=pat
    ).json()["results"]
    assert len(activities) == 1 and activities[0]["relatedTo"]["title"] == "Legacy renewal"
    assert activities[0]["dueDate"] == {"__type": "Date", "iso": "2021-05-10T09:00:00.000Z"}
    user = api.get("users/patP4rse01", as_="master").json()
    assert user["createdAt"] == "2021-03-04T05:06:07.089Z" and user["ACL"] == {"*": {"read": True}, **rw("patP4rse01")}

    sam = login("sam")  # not an owner: the imported ACLs keep pat's records from sam
    for cls in ("Company", "Contact", "Deal", "Activity"):
        assert api.get(f"classes/{cls}", as_=sam).json()["results"] == []
    mia = login("mia")  # a member of the imported Managers role (which took over the server's own) sees them
    assert [d["objectId"] for d in api.get("classes/Deal", as_=mia).json()["results"]] == ["dlP4rse001"]
    roles = api.get("roles", {"where": {"name": "Managers"}}, as_="master").json()["results"]
    assert [r["objectId"] for r in roles] == ["ManagersP1"]
    admins = api.get("roles", {"where": {"name": "Admins"}}, as_="master").json()["results"][0]["objectId"]
    inherits = api.get("roles", {"where": {"roles": ptr("_Role", admins)}}, as_="master").json()["results"]
    assert [r["name"] for r in inherits] == ["Managers"]  # Admins still inherit Managers after the take-over

    # A value of the wrong type stops the whole import, naming the object; nothing is written.
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "Company.json").write_text(json.dumps({"results": [{"objectId": "okCompany1", "name": "Fine"}]}))
    (bad / "Deal.json").write_text(
        json.dumps({"results": [{"objectId": "badDeal001", "title": "x", "amount": "lots"}]})
    )
    failed = crm(srv.database_url, "import", str(bad), ok=False)
    assert "Deal badDeal001" in failed.stderr and "amount" in failed.stderr
    assert api.get("classes/Company/okCompany1", as_="master").status_code == 404


def test_drop_field_needs_an_explicit_command(make_server: Any) -> None:
    import subprocess
    import sys

    from conftest import Api

    srv = make_server()
    api = Api(srv)
    oid = api.post("classes/Company", {"name": "Acme", "industry": "Anvils"}).json()["objectId"]
    env = {**srv.env}
    cmd = [sys.executable, "-m", "parsecrm.cli", "schema", "drop-field", "Company", "industry"]
    dry = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert "holds a value in 1 objects" in dry.stdout, dry.stderr
    assert api.get(f"classes/Company/{oid}").json()["industry"] == "Anvils"
    done = subprocess.run([*cmd, "--yes"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    r = api.get("schemas/Company").json()
    assert "industry" not in r["fields"]
    assert "industry" not in api.get(f"classes/Company/{oid}").json()
