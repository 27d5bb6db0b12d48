"""Several server processes on one database stay consistent: no cache is the only copy of anything.

Two independent servers (and one with two workers) share a database; a change made through one is honoured by
the other at once — schema, sessions, roles and config — because every cache is invalidated by NOTIFY.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from conftest import Api, Server, unique


def eventually(check: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def test_two_servers_share_state(make_server: Callable[..., Server]) -> None:
    one = make_server({"PARSE_MASTER_KEY": "shared-master"})
    two = make_server({"PARSE_MASTER_KEY": "shared-master"}, database_url=one.database_url)
    a, b = Api(one), Api(two)

    # schema: a class and a field created through one server are used by the other
    cls = unique("Shared")
    assert a.post(f"classes/{cls}", {"n": 1}).status_code == 201
    assert b.get(f"classes/{cls}").json()["results"][0]["n"] == 1
    assert b.post(f"classes/{cls}", {"fresh": "x"}).status_code == 201
    assert eventually(lambda: "fresh" in a.get(f"schemas/{cls}").json()["fields"])
    assert a.post(f"classes/{cls}", {"fresh": 5}).json()["code"] == 111  # one knows the other's field type

    # sessions: a token logged out on one is refused by the other, even after the other cached it
    user = a.signup()
    token = user["sessionToken"]
    assert b.get("users/me", as_=token).status_code == 200
    assert a.post("logout", as_=token).status_code == 200
    assert eventually(lambda: b.get("users/me", as_=token).json().get("code") == 209)

    # roles: adding a user to Managers through one server widens what the other lets them read
    rep = b.signup()
    other = b.signup()
    deal = b.post("classes/Deal", {"title": "private"}, as_=other["sessionToken"]).json()["objectId"]
    assert a.get(f"classes/Deal/{deal}", as_=rep["sessionToken"]).status_code == 404
    role = b.get("roles", params={"where": {"name": "Managers"}}).json()["results"][0]["objectId"]
    pointer = {"__type": "Pointer", "className": "_User", "objectId": rep["objectId"]}
    b.put(f"roles/{role}", {"users": {"__op": "AddRelation", "objects": [pointer]}})
    assert eventually(lambda: a.get(f"classes/Deal/{deal}", as_=rep["sessionToken"]).status_code == 200)

    # config
    assert b.put("config", {"params": {"motd": "hello"}}).status_code == 200
    assert eventually(lambda: a.get("config", as_=None).json()["params"].get("motd") == "hello")


def test_workers_share_a_port(make_server: Callable[..., Server]) -> None:
    srv = make_server(workers=2)
    api = Api(srv)
    cls = unique("W")
    ids: set[Any] = set()
    for i in range(20):
        ids.add(api.post(f"classes/{cls}", {"i": i}).json()["objectId"])
    assert len(ids) == 20
    assert api.get(f"classes/{cls}", params={"count": 1, "limit": 0}).json()["count"] == 20
    user = api.signup()
    for _ in range(10):  # whichever worker answers, the session is known
        assert api.get("users/me", as_=user["sessionToken"]).status_code == 200
