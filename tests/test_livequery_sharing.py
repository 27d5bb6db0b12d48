"""The hub shares one judgement and rendering between subscribers (judge.share_key): sharing must never change what a
subscriber receives. Property: for random subscribers (users, roles, queries, `keys`, `watch`), class-level
permissions (protected fields, pointer-based exceptions, read-user pointer permissions) and changes (ACL before and
after, owner, stage), every subscriber's frames from one hub holding them all equal the frames of a hub holding that
subscriber alone — where nothing can be shared. In memory: the hub's real judgement (security.policy, the where
evaluator); no server is needed for this, the end-to-end permission cases are in test_livequery.py."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from parsecrm.livequery.feed import Change
from parsecrm.livequery.hub import Hub
from parsecrm.livequery.judge import Subscription
from parsecrm.security.caller import Caller
from parsecrm.storage.model import ClassSchema, Field, default_fields

USERS = ["u1", "u2", "u3", "u4"]
ROLES = ["Managers", "Team"]
OPEN = {op: {"*": True} for op in ("find", "get", "count", "create", "update", "delete", "addField")}
CLPS: list[dict[str, Any] | None] = [
    None,
    {**OPEN, "protectedFields": {"*": ["secret"], "role:Managers": []}},
    {**OPEN, "protectedFields": {"*": ["secret", "amount"], "userField:owner": []}},
    {**OPEN, "find": {}, "get": {}, "readUserFields": ["owner"]},
]
WHERES = [{}, {"stage": "negotiation"}, {"amount": {"$gt": 10}}]


class Sink:
    def __init__(self, client_id: int) -> None:
        self.client_id = client_id
        self.frames: list[bytes] = []

    def push(self, frame: bytes) -> None:
        self.frames.append(frame)

    def push_many(self, frames: list[bytes]) -> None:
        self.frames.extend(frames)


class Schemas:
    def __init__(self, schema: ClassSchema) -> None:
        self.schema = schema

    async def get(self, name: str) -> ClassSchema:
        return self.schema


class NoHooks:
    def has(self, *_: Any) -> bool:
        return False


def deal(stage: str, amount: int, owner: str, readers: list[str]) -> tuple[dict[str, Any], tuple[str, ...]]:
    acl = {r: {"read": True} for r in readers}
    obj = {
        "objectId": "d1",
        "title": "Deal",
        "stage": stage,
        "amount": amount,
        "secret": "s",
        "owner": {"__type": "Pointer", "className": "_User", "objectId": owner},
        "ACL": acl,
        "createdAt": "2026-01-01T00:00:00.000Z",
        "updatedAt": "2026-01-02T00:00:00.000Z",
    }
    return obj, tuple(readers)


principal = st.sampled_from(["*", *USERS, "role:Managers", "role:Team"])
state = st.tuples(
    st.sampled_from(["lead", "negotiation"]),
    st.sampled_from([5, 50]),
    st.sampled_from(USERS),
    st.lists(principal, max_size=3, unique=True),
)
subscriber = st.tuples(
    st.sampled_from(USERS),
    st.frozensets(st.sampled_from(ROLES)),
    st.sampled_from(range(len(WHERES))),
    st.sampled_from([None, frozenset({"title"}), frozenset({"amount", "secret"})]),
    st.sampled_from([None, ("stage",), ("amount",)]),
)


def frames(schema: ClassSchema, subs: list[tuple[Any, ...]], change: Change) -> list[list[bytes]]:
    hub = Hub(Schemas(schema), None, NoHooks(), lambda _caller: None)  # type: ignore[arg-type,return-value]
    sinks = []
    for i, (user, roles, where, keys, watch) in enumerate(subs):
        sink = Sink(i)
        caller = Caller(user_id=user, roles=roles, session_token=f"t{i}")
        hub.add(Subscription(sink, 1, schema.name, hub.compile(WHERES[where]), keys, watch, caller, None))
        sinks.append(sink)
    asyncio.run(hub.publish([change]))
    return [s.frames for s in sinks]


def schema_with(clp: dict[str, Any] | None) -> ClassSchema:
    fields = {**default_fields("LiveDeal")}
    for name, kind in (("title", "String"), ("stage", "String"), ("amount", "Number"), ("secret", "String")):
        fields[name] = Field(kind)
    fields["owner"] = Field("Pointer", target="_User")
    return ClassSchema("LiveDeal", fields, clp)


def test_the_cases_are_not_vacuous() -> None:
    """Each CLP of the property gives frames, and the ones that hide fields hide them from some subscribers only."""
    before, old_rperm = deal("lead", 5, "u1", ["*"])
    after, new_rperm = deal("lead", 50, "u1", ["*"])
    change = Change("LiveDeal", before, after, old_rperm, new_rperm)
    rep = ("u2", frozenset(), 0, None, None)
    manager = ("u3", frozenset({"Managers"}), 0, None, None)
    owner = ("u1", frozenset(), 0, None, None)
    seen = [frames(schema_with(clp), [rep, manager, owner], change) for clp in CLPS]
    assert all(len(got) == 1 for got in seen[0])  # no CLP: all three
    assert [b'"secret"' in got[0] for got in seen[1]] == [False, True, False]  # only Managers see it
    assert [b'"secret"' in got[0] for got in seen[2]] == [False, False, True]  # only the owner sees it
    assert [len(got) for got in seen[3]] == [0, 0, 1]  # only the owner may read


@settings(max_examples=300, deadline=None)
@given(
    clp=st.sampled_from(range(len(CLPS))),
    subs=st.lists(subscriber, min_size=2, max_size=8),
    old=st.none() | state,
    new=st.none() | state,
)
def test_shared_frames_equal_each_subscriber_judged_alone(
    clp: int, subs: list[tuple[Any, ...]], old: tuple[Any, ...] | None, new: tuple[Any, ...] | None
) -> None:
    if old is None and new is None:
        return
    schema = schema_with(CLPS[clp])
    before, old_rperm = deal(*old) if old else (None, ())
    after, new_rperm = deal(*new) if new else (None, ())
    change = Change("LiveDeal", before, after, old_rperm, new_rperm)
    together = frames(schema, subs, change)
    alone = [frames(schema, [s], change)[0] for s in subs]
    # the client ids differ between the two runs (each lone hub's subscriber is client 0): compare without them
    strip = [[f.replace(f'"clientId":{i},'.encode(), b"") for f in got] for i, got in enumerate(together)]
    assert strip == [[f.replace(b'"clientId":0,', b"") for f in got] for got in alone]
