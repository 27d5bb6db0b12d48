"""Real parts only: a real PostgreSQL (the machine's at 127.0.0.1:5432 when it answers, else the embedded one),
a real server process per fixture on a free port, real HTTP.

Fixtures:
  server        one server for the whole session (client class creation on), shared by most tests
  make_server   start another server with its own database and settings (key/permission configurations)
  api           a REST client bound to `server`: api.post("classes/X", {...}, as_=token | "master")
  fresh_db      make empty databases, for command-line tests
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from hypothesis import settings as hypothesis_settings

ROOT = Path(__file__).resolve().parents[1]
MACHINE_PG = "postgresql://postgres@127.0.0.1:5432/test"

# Property tests explore new random inputs on every developer run; in CI (CI=true) they run a fixed sequence, so a
# submission is judged on what it changed, not on a counterexample drawn that day (a developer run finds those).
hypothesis_settings.register_profile("ci", derandomize=True)
if os.environ.get("CI") == "true":
    hypothesis_settings.load_profile("ci")


def _admin_dsn() -> str:
    """The machine's PostgreSQL if it answers, else an embedded one started for this test session."""
    explicit = os.environ.get("TEST_DATABASE_URL")
    if explicit:
        return explicit

    async def probe() -> bool:
        try:
            conn = await asyncpg.connect(MACHINE_PG, timeout=3)
        except (TimeoutError, OSError, asyncpg.PostgresError):
            return False
        await conn.close()
        return True

    if asyncio.run(probe()):
        return MACHINE_PG
    from parsecrm.storage import embedded

    return embedded.start(Path(tempfile.gettempdir()) / "parsecrm-test-pg")


def _db_url(admin_dsn: str, name: str) -> str:
    base, _, query = admin_dsn.partition("?")
    base = base.rsplit("/", 1)[0] + "/" + name
    return base + ("?" + query if query else "")


def create_database(admin_dsn: str) -> str:
    name = f"parsecrm_t_{os.getpid()}_{secrets.token_hex(3)}"  # the pid lets a later run drop what a killed one left

    async def go() -> None:
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(go())
    return _db_url(admin_dsn, name)


def drop_database(admin_dsn: str, url: str) -> None:
    name = url.partition("?")[0].rsplit("/", 1)[1]

    async def go() -> None:
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(go())


def _die_with_parent() -> None:
    """In the server's child process: get SIGTERM when the test process dies, even if it is killed, so no server
    outlives its test run."""
    import ctypes
    import signal

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    app_id: str
    master_key: str
    database_url: str
    env: dict[str, str]
    proc: subprocess.Popen[bytes]
    log_path: Path
    javascript_key: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

    def mails(self, to: str | None = None) -> list[str]:
        """Messages the development mail sender wrote to the outbox (oldest first), optionally only those to `to`."""
        outbox = Path(self.env.get("CRM_MAIL_DIR") or Path(self.env["CRM_DATA_DIR"]) / "outbox")
        found = [f.read_text() for f in sorted(outbox.glob("*.txt"), key=lambda f: f.stat().st_mtime_ns)]
        return [m for m in found if to is None or m.startswith(f"To: {to}\n")]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def start_server(
    admin_dsn: str, env_overrides: dict[str, str] | None = None, workers: int = 1, database_url: str | None = None
) -> Server:
    db = database_url or create_database(admin_dsn)
    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="parsecrm-srv-"))
    env = {
        **os.environ,
        "DATABASE_URL": db,
        "PARSE_APP_ID": "testapp",
        "PARSE_MASTER_KEY": "test-master-" + secrets.token_hex(4),
        "PARSE_ALLOW_CLIENT_CLASS_CREATION": "true",
        "PARSE_BCRYPT_ROUNDS": "4",
        "PARSE_RATE_LIMITS": "off",  # every test client is 127.0.0.1; the rate-limit tests turn them on
        "CRM_DATA_DIR": str(tmp),
        "PYTHONUNBUFFERED": "1",
    }
    env.update(env_overrides or {})
    log_path = tmp / "server.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "parsecrm.cli", "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=str(ROOT),
        preexec_fn=_die_with_parent,
    )
    server = Server(
        f"http://127.0.0.1:{port}/parse",
        env["PARSE_APP_ID"],
        env["PARSE_MASTER_KEY"],
        db,
        env,
        proc,
        log_path,
        env.get("PARSE_JAVASCRIPT_KEY", ""),
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.log()}")
        try:
            r = httpx.get(server.url + "/health", timeout=1)
            if r.status_code == 200:  # uvicorn accepts connections only once start-up is complete
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"server did not become healthy:\n{server.log()}")


def drop_leftovers(admin_dsn: str) -> None:
    """Drop test databases whose test process is gone (a run that was killed never reached its teardown)."""

    async def go() -> None:
        conn = await asyncpg.connect(admin_dsn)
        try:
            names = await conn.fetch("SELECT datname FROM pg_database WHERE datname LIKE 'parsecrm\\_t\\_%'")
            for (name,) in names:
                parts = name.split("_")
                if len(parts) < 4 or not parts[2].isdigit() or not Path(f"/proc/{parts[2]}").exists():
                    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(go())


@pytest.fixture(scope="session")
def admin_dsn() -> str:
    dsn = _admin_dsn()
    drop_leftovers(dsn)
    return dsn


@pytest.fixture(scope="session")
def server(admin_dsn: str) -> Iterator[Server]:
    srv = start_server(admin_dsn)
    yield srv
    srv.stop()
    drop_database(admin_dsn, srv.database_url)


@pytest.fixture(scope="module")
def make_server(admin_dsn: str) -> Iterator[Callable[..., Server]]:
    started: list[Server] = []

    def make(env: dict[str, str] | None = None, workers: int = 1, database_url: str | None = None) -> Server:
        srv = start_server(admin_dsn, env, workers, database_url)
        started.append(srv)
        return srv

    yield make
    for srv in started:
        srv.stop()
    for url in {srv.database_url for srv in started}:
        drop_database(admin_dsn, url)


@pytest.fixture(scope="module")
def fresh_db(admin_dsn: str) -> Iterator[Callable[[], str]]:
    """Make empty databases (for CLI tests that run against a database, not a server); dropped after the module."""
    made: list[str] = []

    def make() -> str:
        made.append(create_database(admin_dsn))
        return made[-1]

    yield make
    for url in made:
        drop_database(admin_dsn, url)


class Api:
    """REST with real headers. `as_` is a session token, "master", or None (anonymous)."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.client = httpx.Client(base_url=server.url + "/", timeout=30)

    def headers(self, as_: str | None, extra: dict[str, str] | None = None) -> dict[str, str]:
        h = {"X-Parse-Application-Id": self.server.app_id}
        if self.server.javascript_key:
            h["X-Parse-Javascript-Key"] = self.server.javascript_key
        if as_ == "master":
            h["X-Parse-Master-Key"] = self.server.master_key
        elif as_:
            h["X-Parse-Session-Token"] = as_
        h.update(extra or {})
        return h

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        as_: str | None = "master",
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        import orjson

        q = {k: (orjson.dumps(v).decode() if isinstance(v, (dict, list)) else v) for k, v in (params or {}).items()}
        content = orjson.dumps(body) if body is not None else None
        h = self.headers(as_, headers)
        if content is not None:
            h["Content-Type"] = "application/json"
        # params=None, not {}: httpx replaces a query string written in `path` with any params given, even none
        return self.client.request(method, path, content=content, params=q or None, headers=h)

    def get(self, path: str, params: dict[str, Any] | None = None, **kw: Any) -> httpx.Response:
        return self.request("GET", path, params=params, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        return self.request("POST", path, body if body is not None else {}, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        return self.request("PUT", path, body if body is not None else {}, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("DELETE", path, **kw)

    def signup(self, username: str | None = None, password: str = "pw-123456", **fields: Any) -> dict[str, Any]:
        username = username or "u_" + secrets.token_hex(4)
        r = self.post("users", {"username": username, "password": password, **fields}, as_=None)
        assert r.status_code == 201, r.text
        return {**r.json(), "username": username, "password": password, **fields}


@pytest.fixture(scope="session")
def api(server: Server) -> Api:
    return Api(server)


def unique(prefix: str = "T") -> str:
    return prefix + secrets.token_hex(4)
