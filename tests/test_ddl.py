"""DDL and prepared statements: asyncpg prepares each statement once per connection, keyed by its SQL text. A
class dropped and recreated (or a field dropped and re-added) with another type gives the same INSERT text with
other parameter types, so a stale statement failed every insert with a 500 until restart. Any drop now expires
the pooled connections of every process (NOTIFY); this checks it across two server processes on one database."""

from __future__ import annotations

from collections.abc import Callable

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
