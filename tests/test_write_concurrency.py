"""Concurrent writes that change a class's schema: PostgreSQL may pick one as a deadlock victim (40P01); the server
retries that transaction instead of answering 500."""

from __future__ import annotations

import concurrent.futures

from conftest import Api, unique


def test_concurrent_updates_adding_fields_all_succeed(api: Api) -> None:
    cls = unique("Race")
    ids = [api.post(f"classes/{cls}", {"n": i}).json()["objectId"] for i in range(8)]

    def write(i: int):
        # each update locks its row, then adds a column (ALTER TABLE): the classic lock-order deadlock
        return api.put(f"classes/{cls}/{ids[i]}", {f"f{i}": i, "n": {"__op": "Increment", "amount": 1}})

    for _ in range(3):
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            results = list(pool.map(write, range(8)))
        assert [r.status_code for r in results] == [200] * 8, [r.text for r in results if r.status_code != 200]
        cls_fields = api.get(f"schemas/{cls}").json()["fields"]
        assert all(f"f{i}" in cls_fields for i in range(8))
        cls = unique("Race")
        ids = [api.post(f"classes/{cls}", {"n": i}).json()["objectId"] for i in range(8)]
