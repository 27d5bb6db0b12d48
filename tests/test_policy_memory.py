"""The in-memory permission rules (live queries) give exactly the answers of the SQL rules (every other read path).

Random class-level permissions (public, roles, requiresAuthentication, pointer permissions, readUserFields,
protectedFields with userField: groups), random ACLs and pointer values on real rows in PostgreSQL, and random
callers (anonymous, users with roles, master): for each, the rows `Policy.read_sql` selects must be the rows
`Policy.can_read` admits on the row's `_rperm`, and the fields the SQL projection leaves in each row must be those
`Policy.visible_fields` leaves. (tests/test_policy_property.py checks the same through the server, with ACLs.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import asyncpg
import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from parsecrm.errors import ParseError
from parsecrm.query.project import Shape, row_json
from parsecrm.query.sql import Context, Params
from parsecrm.security.caller import Caller
from parsecrm.security.policy import Policy
from parsecrm.storage.model import ClassSchema, Field

USERS = ["u1", "u2", "u3"]
ROLES = ["A", "B"]
PRINCIPALS = ["*", *USERS, "role:A", "role:B"]
FIELDS = {
    "objectId": Field("String"),
    "createdAt": Field("Date"),
    "updatedAt": Field("Date"),
    "ACL": Field("ACL"),
    "owner": Field("Pointer", "_User"),
    "any": Field("Pointer", None, ("_User", "Thing")),
    "team": Field("Array"),
    "secret": Field("String"),
    "note": Field("String"),
}
TABLE = """CREATE TABLE "Thing" ("objectId" text PRIMARY KEY, "createdAt" timestamptz NOT NULL DEFAULT now(),
 "updatedAt" timestamptz NOT NULL DEFAULT now(), "_rperm" text[] NOT NULL, "_wperm" text[] NOT NULL, "_acl" jsonb,
 "owner" text, "any" text, "team" jsonb, "secret" text, "note" text)"""


def user_ptr(uid: str) -> dict[str, str]:
    return {"__type": "Pointer", "className": "_User", "objectId": uid}


perm_sets = st.fixed_dictionaries(
    {},
    optional={
        "*": st.just(True),
        "requiresAuthentication": st.just(True),
        "role:A": st.just(True),
        "u1": st.just(True),
        "pointerFields": st.lists(st.sampled_from(["owner", "any", "team"]), max_size=2, unique=True),
    },
)
clps = st.fixed_dictionaries(
    {"find": perm_sets},
    optional={
        "readUserFields": st.lists(st.sampled_from(["owner", "team"]), max_size=2, unique=True),
        "protectedFields": st.dictionaries(
            st.sampled_from(["*", "authenticated", "role:A", "u2", "userField:owner"]),
            st.lists(st.sampled_from(["secret", "note"]), max_size=2, unique=True),
            max_size=3,
        ),
    },
)
rows = st.lists(
    st.fixed_dictionaries(
        {
            "rperm": st.lists(st.sampled_from(PRINCIPALS), max_size=3, unique=True),
            "owner": st.none() | st.sampled_from(USERS),
            "any": st.none() | st.sampled_from(["_User$u1", "_User$u2", "Thing$u1"]),
            "team": st.none() | st.lists(st.sampled_from(USERS), max_size=2, unique=True),
        }
    ),
    min_size=1,
    max_size=8,
)
callers = st.one_of(
    st.just(Caller()),
    st.just(Caller(master=True)),
    st.builds(
        lambda uid, roles: Caller(user_id=uid, roles=frozenset(roles)),
        st.sampled_from(USERS),
        st.lists(st.sampled_from(ROLES), max_size=2, unique=True),
    ),
)


@pytest.fixture(scope="module")
def db(fresh_db: Callable[[], str]) -> Iterator[tuple[asyncio.AbstractEventLoop, asyncpg.Connection]]:
    loop = asyncio.new_event_loop()
    conn = loop.run_until_complete(asyncpg.connect(fresh_db()))
    loop.run_until_complete(conn.execute(TABLE))
    yield loop, conn
    loop.run_until_complete(conn.close())
    loop.close()


async def load(conn: asyncpg.Connection, data: list[dict[str, Any]]) -> None:
    await conn.execute('TRUNCATE "Thing"')
    for i, row in enumerate(data):
        team = [user_ptr(u) for u in row["team"]] if row["team"] is not None else None
        await conn.execute(
            'INSERT INTO "Thing" ("objectId", "_rperm", "_wperm", "owner", "any", "team", "secret", "note") '
            "VALUES ($1, $2, '{}', $3, $4, $5::jsonb, 's', 'n')",
            f"o{i}",
            row["rperm"],
            row["owner"],
            row["any"],
            None if team is None else orjson.dumps(team).decode(),
        )


async def sql_answers(conn: asyncpg.Connection, schema: ClassSchema, caller: Caller) -> dict[str, Any] | None:
    """objectId → the row's JSON as the SQL read path gives it to `caller`; None if the class is denied."""
    params = Params()
    rules = Policy(caller)
    try:
        cond = rules.read_sql(schema, "t", "find", params) or "TRUE"
    except ParseError:
        return None
    select = row_json(schema, "t", Shape(), Context({"Thing": schema}, rules, params))
    found = await conn.fetch(f'SELECT "objectId", {select} AS j FROM "Thing" t WHERE {cond}', *params.values)
    return {r["objectId"]: orjson.loads(r["j"]) for r in found}


async def memory_answers(conn: asyncpg.Connection, schema: ClassSchema, caller: Caller) -> dict[str, Any] | None:
    """The same, judged in memory on every row as the master key reads it with its `_rperm` (what a live-query
    event carries)."""
    rules = Policy(caller)
    try:
        rules.check(schema, "find")
    except ParseError:
        return None
    master = Params()
    select = row_json(schema, "t", Shape(), Context({"Thing": schema}, Policy.MASTER, master))
    out = {}
    for r in await conn.fetch(f'SELECT "objectId", "_rperm", {select} AS j FROM "Thing" t', *master.values):
        obj = orjson.loads(r["j"])
        if rules.can_read(schema, obj, "find", rperm=list(r["_rperm"])):
            out[r["objectId"]] = rules.visible_fields(schema, obj)
    return out


@example(  # a polymorphic pointer to another class with the caller's id is not the caller
    clp={"find": {"pointerFields": ["any"]}},
    data=[{"rperm": ["*"], "owner": None, "any": "Thing$u1", "team": None}],
    caller=Caller(user_id="u1"),
)
@example(  # an owner sees the field their userField: group leaves unprotected
    clp={"find": {"*": True}, "protectedFields": {"*": ["secret"], "userField:owner": []}},
    data=[{"rperm": ["*"], "owner": "u1", "any": None, "team": ["u1"]}],
    caller=Caller(user_id="u1"),
)
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(clp=clps, data=rows, caller=callers)
def test_memory_rules_equal_sql_rules(
    db: tuple[asyncio.AbstractEventLoop, asyncpg.Connection], clp: dict[str, Any], data: list[Any], caller: Caller
) -> None:
    loop, conn = db
    schema = ClassSchema("Thing", dict(FIELDS), clp)
    loop.run_until_complete(load(conn, data))
    in_sql = loop.run_until_complete(sql_answers(conn, schema, caller))
    in_memory = loop.run_until_complete(memory_answers(conn, schema, caller))
    assert in_memory == in_sql
