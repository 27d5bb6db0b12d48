"""DDL and prepared statements: asyncpg prepares each statement once per connection, keyed by its SQL text. A
class dropped and recreated (or a field dropped and re-added) with another type gives the same INSERT text with
other parameter types, so a stale statement failed every insert with a 500 until restart. Any drop now expires
the pooled connections of every process (NOTIFY); this checks it across two server processes on one database."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncpg
import httpx

from conftest import Api, Server, unique
from test_scale_out import eventually


def _fill(api: Api, cls: str, value: object, n: int = 12) -> None:
    for _ in range(n):  # enough inserts to prepare the statement on several pooled connections
        r = api.post(f"classes/{cls}", {"flag": value})
        assert r.status_code == 201, r.text


def _empty(api: Api, cls: str) -> None:
    for row in api.get(f"classes/{cls}", params={"limit": 1000}).json()["results"]:
        assert api.delete(f"classes/{cls}/{row['objectId']}").status_code == 200


def test_retyped_fields_after_drop_work_on_every_process(make_server: Callable[..., Server]) -> None:
    env = {"PARSE_MASTER_KEY": "ddl-master", "CRM_DB_POOL_SIZE": "4"}  # several connections, each its own cache
    one = make_server(env)
    two = make_server(env, database_url=one.database_url)
    a, b = Api(one), Api(two)
    cls = unique("Retype")

    # the class is dropped and recreated with another type through one process; the other keeps inserting
    assert a.post("schemas", {"className": cls, "fields": {"flag": {"type": "Boolean"}}}).status_code == 200
    _fill(b, cls, True)
    _fill(a, cls, False)
    _empty(a, cls)
    assert a.delete(f"schemas/{cls}").status_code == 200
    assert a.post("schemas", {"className": cls, "fields": {"flag": {"type": "Number"}}}).status_code == 200
    assert eventually(lambda: b.get(f"schemas/{cls}").json()["fields"]["flag"]["type"] == "Number")
    _fill(b, cls, 1.5)
    _fill(a, cls, 2.5)
    assert sorted({o["flag"] for o in b.get(f"classes/{cls}", params={"limit": 100}).json()["results"]}) == [1.5, 2.5]

    # a field dropped and re-added with another type, through the other process this time
    assert b.put(f"schemas/{cls}", {"fields": {"flag": {"__op": "Delete"}}}).status_code == 200
    assert b.put(f"schemas/{cls}", {"fields": {"flag": {"type": "String"}}}).status_code == 200
    assert eventually(lambda: a.get(f"schemas/{cls}").json()["fields"]["flag"]["type"] == "String")
    _fill(a, cls, "text")
    _fill(b, cls, "more")
    assert "Traceback" not in one.log() and "Traceback" not in two.log()
    one.stop()
    two.stop()


def test_a_field_added_by_an_update_does_not_deadlock_with_a_writer_of_the_same_row(api: Api, server: Server) -> None:
    """An update that adds a field used to lock its row first and then ALTER the table. The ALTER waits for every
    open transaction on the table; one of them (here `other`, holding a lock on a different row) then asked for our
    row and PostgreSQL broke the deadlock by failing one of them (a 500). The field is now added before the row is
    locked, so `other` gets the row at once and the update goes through after it."""
    cls = unique("Widen")
    mine = api.post(f"classes/{cls}", {"n": 1}).json()["objectId"]
    theirs = api.post(f"classes/{cls}", {"n": 2}).json()["objectId"]
    field = unique("grown").lower()

    async def run() -> httpx.Response:
        other = await asyncpg.connect(server.database_url)
        try:
            tx = other.transaction()
            await tx.start()
            await other.execute(f'SELECT 1 FROM "{cls}" WHERE "objectId" = $1 FOR UPDATE', theirs)
            async with httpx.AsyncClient(timeout=60) as client:
                update = asyncio.ensure_future(
                    client.put(
                        f"{server.url}/classes/{cls}/{mine}", json={field: 1}, headers=Api(server).headers("master")
                    )
                )
                while not await other.fetchval(  # the update's ALTER is waiting for this transaction
                    "SELECT count(*) FROM pg_locks WHERE NOT granted AND mode = 'AccessExclusiveLock' "
                    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                ):
                    await asyncio.sleep(0.02)
                got = await other.fetchval(
                    f'SELECT "objectId" FROM "{cls}" WHERE "objectId" = $1 FOR UPDATE', mine
                )  # before the fix: a deadlock, one side failed
                assert got == mine
                await tx.commit()
                return await update
        finally:
            await other.close()

    r = asyncio.run(run())
    assert r.status_code == 200, r.text
    assert api.get(f"classes/{cls}/{mine}").json()[field] == 1
