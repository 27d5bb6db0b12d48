"""`crm`: serve the API, seed demo data, import/export, benchmark.

crm serve [--host H] [--port P] [--workers N] [--demo]
crm seed --demo | --scale N
crm export DIR | crm import DIR
crm mcp --token T   (MCP over stdio as the token's user; see docs/ai-guide.md)
crm bench [...]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

from . import logs
from .settings import Settings, from_env, persistent_master_key


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if url:
        return url
    from .storage import embedded

    url = embedded.start(_data_dir())
    os.environ["DATABASE_URL"] = url
    return url


def _data_dir() -> Path:
    return Path(os.environ.get("CRM_DATA_DIR", ".data")).resolve()


def serve(args: argparse.Namespace) -> None:
    """Run the server. With the embedded PostgreSQL, this process owns it: it stops when the server stops (Ctrl-C,
    SIGTERM, SIGHUP), and a second `crm serve` on the same data directory refuses to start."""
    if args.host:
        os.environ["HOST"] = args.host
    if args.port:
        os.environ["PORT"] = str(args.port)
    data_dir = _data_dir()
    key_note = _master_key_note(data_dir)  # before the settings loader generates a key
    database = None
    if not os.environ.get("DATABASE_URL"):
        from .storage import embedded

        embedded.claim_serve(data_dir)
        database = embedded.open_server(data_dir)
        os.environ["DATABASE_URL"] = database.dsn
    _exit_cleanly_on_signals()
    try:
        _run(args, key_note)
    except KeyboardInterrupt:
        pass
    finally:
        if database is not None:
            database.release()


def _run(args: argparse.Namespace, key_note: str | None) -> None:
    settings = from_env()
    if not settings.master_key:  # generated once and kept under the data directory; workers get it from here
        os.environ["PARSE_MASTER_KEY"] = persistent_master_key(settings.data_dir)
        settings = from_env()
    logs.add_secret(settings.master_key)
    logs.add_secret(settings.read_only_master_key)
    os.environ.setdefault("CRM_DATA_DIR", str(settings.data_dir))
    web = os.environ.get("CRM_WEB_DIR") or _default_web_dir()
    if web:
        os.environ["CRM_WEB_DIR"] = web
    if args.demo:
        from .crm import seed

        seed.run_demo_if_empty()
    kept = settings.data_dir / "master_key"
    _banner(settings, web, key_note or f"{settings.master_key}   (generated now, kept in {kept}; not shown again)")
    import uvicorn

    from .livequery.wire import FrameWriterProtocol

    uvicorn.run(
        "parsecrm.asgi:app",
        host=settings.host,
        port=settings.port,
        workers=args.workers,
        loop="uvloop",
        http="httptools",
        # live queries: uvicorn's websockets-sansio protocol (half the memory per idle WebSocket of the default, same
        # flow control) with a direct text-frame writer for the fan-out (livequery/wire.py)
        ws=FrameWriterProtocol,
        ws_per_message_deflate=settings.live_query_compression,
        log_level="warning",
        log_config=None,  # our handler (logs.configure): redacted, request ids, CRM_LOG_FORMAT
        access_log=False,  # CRM_ACCESS_LOG writes a redacted one instead
        lifespan="on",
        factory=False,
    )


def _exit_cleanly_on_signals() -> None:
    """SIGTERM and SIGHUP end `crm serve` like Ctrl-C does: through the `finally` that stops the embedded database.
    (uvicorn shuts down gracefully on SIGTERM, then re-raises it; Python's default would end the process on the
    spot, without cleanup.)"""

    def leave(signum: int, _frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, leave)
    signal.signal(signal.SIGHUP, lambda _s, _f: os.kill(os.getpid(), signal.SIGTERM))


def _master_key_note(data_dir: Path) -> str | None:
    """What the banner says about the master key: never the key itself, except once, right after generating it."""
    if os.environ.get("PARSE_MASTER_KEY"):
        return "(from PARSE_MASTER_KEY)"
    path = data_dir / "master_key"
    if path.exists():
        return f"kept in {path}"
    return None


def _default_web_dir() -> str | None:
    from pathlib import Path

    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "web" / "dist"
        if (candidate / "index.html").is_file():
            return str(candidate)
    return None


def _banner(settings: Settings, web: str | None, master_key: str) -> None:
    base = f"http://{settings.host}:{settings.port}"
    url = os.environ.get("DATABASE_URL", "")
    embedded = "host=/" in url or "@/" in url
    where = f"embedded PostgreSQL in {settings.data_dir / 'pg'}" if embedded else url.split("@")[-1]
    lines = [
        "parsecrm is starting",
        f"  API (Parse REST)   {base}{settings.mount_path}",
        *([f"  App                {base}/"] if web else []),
        f"  GraphQL            {base}{settings.graphql_path}   (playground in a browser)",
        *(
            [f"  Reference          {base}/schema   {base}/api   {base}{settings.mount_path}/openapi.json"]
            if settings.api_reference
            else []
        ),
        *(
            [f"  MCP (AI agents)    {base}/mcp   (API token as Bearer; see {base}{settings.mount_path}/agent-prompt)"]
            if settings.mcp_enabled and settings.crm_enabled
            else []
        ),
        f"  Application ID     {settings.app_id}",
        f"  Master key         {master_key}   (accepted from {', '.join(map(str, settings.master_key_ips))} only)",
        f"  JavaScript key     {settings.javascript_key or '(none required)'}",
        f"  Database           {where}",
    ]
    print("\n".join(lines), flush=True)


def mcp(args: argparse.Namespace) -> None:
    """MCP over stdio: stdout carries only the protocol, so logging stays on stderr."""
    import asyncio

    from .agent.stdio import serve as serve_mcp

    token = args.token or os.environ.get("CRM_API_TOKEN", "")
    if not token:
        raise SystemExit("crm mcp: give --token or set CRM_API_TOKEN (create one in the app's settings)")
    saved = os.dup(1)
    os.dup2(2, 1)  # an embedded PostgreSQL starting up must not write to stdout, which is the MCP channel
    try:
        dsn = _database_url()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    raise SystemExit(asyncio.run(serve_mcp(from_env(), dsn, token)))


def bench(args: argparse.Namespace, rest: list[str]) -> None:
    """`crm bench …` runs the benchmark harness (`python -m bench …`, in the repository's bench/ folder)."""
    from pathlib import Path

    for parent in Path(__file__).resolve().parents:
        if (parent / "bench" / "__main__.py").is_file():
            raise SystemExit(subprocess.call([sys.executable, "-m", "bench", *rest], cwd=parent))
    raise SystemExit("crm bench needs a source checkout (the bench/ folder is not installed with the package)")


def main(argv: list[str] | None = None) -> None:
    logs.configure(os.environ.get("CRM_LOG_FORMAT", "text").strip().lower())
    parser = argparse.ArgumentParser(prog="crm", description="Parse-compatible CRM backend")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("serve", help="run the API server")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--demo", action="store_true", help="seed demo data first if the database is empty")
    p.set_defaults(fn=serve)
    p = sub.add_parser("mcp", help="MCP server over stdio, acting as an API token's user")
    p.add_argument("--token", help="an API token (or set CRM_API_TOKEN)")
    p.set_defaults(fn=mcp)
    p = sub.add_parser("bench", help="benchmarks, side by side with parse-server (see bench/README.md)", add_help=False)
    p.set_defaults(fn=None)
    from .crm import commands

    commands.register(sub, _database_url)
    args, rest = parser.parse_known_args(argv)
    if args.command == "bench":
        bench(args, rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    args.fn(args)


if __name__ == "__main__":
    main(sys.argv[1:])
