"""CLI commands of the CRM: `crm seed`, `crm export`, `crm import`, `crm schema drop-field`, `crm files orphans`.

Each opens its own Backend the way a server process does (schema applied, CRM rules loaded), so a command run
against an empty database first creates the CRM's classes and roles, and seeding runs the same hooks as the API.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from ..backend import Backend
from ..errors import ParseError
from ..settings import from_env


def register(sub: Any, database_url: Callable[[], str]) -> None:
    """Add the CRM's subcommands to the `crm` parser; `database_url()` gives a DSN (starting embedded PostgreSQL
    when DATABASE_URL is unset)."""

    def runner(work: Callable[[Backend, argparse.Namespace], Awaitable[Any]]) -> Callable[[argparse.Namespace], None]:
        def run(args: argparse.Namespace) -> None:
            from .seed import with_backend

            dsn = database_url()
            try:
                asyncio.run(with_backend(from_env(), dsn, lambda backend: work(backend, args)))
            except ParseError as exc:
                sys.exit(f"crm {args.command}: {exc.message} (code {exc.code})")

        return run

    p = sub.add_parser("seed", help="write demo data, or large synthetic data for benchmarks")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--demo", action="store_true", help="a small realistic CRM (skipped if deals exist)")
    which.add_argument("--scale", type=float, metavar="N", help="N=1: 50 users, 20k companies, 100k contacts, …")
    p.add_argument("--seed", type=int, help="random seed (default: fixed, so runs are identical)")
    p.set_defaults(fn=runner(_seed))

    p = sub.add_parser("export", help="write all CRM data to DIR, one file per class")
    p.add_argument("dir", type=Path)
    p.add_argument("--format", choices=("json", "csv"), default="json")
    p.add_argument("--with-password-hashes", action="store_true", help="include users' bcrypt hashes")
    p.set_defaults(fn=runner(_export))

    p = sub.add_parser("import", help="upsert CRM data from DIR (this tool's export or a Parse/Back4app export)")
    p.add_argument("dir", type=Path)
    p.set_defaults(fn=runner(_import))

    p = sub.add_parser("schema", help="schema changes that lose data, which start-up never makes by itself")
    schema_sub = p.add_subparsers(dest="schema_command", required=True)
    drop = schema_sub.add_parser("drop-field", help="delete a field and its data from every object of a class")
    drop.add_argument("class_name")
    drop.add_argument("field")
    drop.add_argument("--yes", action="store_true", help="really drop it (without: say what would be lost)")
    drop.set_defaults(fn=runner(_drop_field))

    p = sub.add_parser("files", help="stored files")
    files_sub = p.add_subparsers(dest="files_command", required=True)
    orphans = files_sub.add_parser("orphans", help="list (or --delete) files that nothing refers to")
    orphans.add_argument("--delete", action="store_true", help="remove them (bytes and index entry)")
    orphans.add_argument(
        "--min-age",
        type=float,
        default=3600,
        metavar="SECONDS",
        help="only files uploaded at least this long ago (default 3600: an upload is usually "
        "followed by the save that refers to it)",
    )
    orphans.set_defaults(fn=runner(_file_orphans))


async def _seed(backend: Backend, args: argparse.Namespace) -> None:
    from . import seed

    if args.demo:
        if await seed.has_deals(backend):
            print("the database already holds deals; demo data not seeded", file=sys.stderr)
            return
        await seed.seed_demo(backend, seed.DEMO_SEED if args.seed is None else args.seed)
        return
    print(f"seeding scale {args.scale}")
    await seed.seed_scale(backend, args.scale, 42 if args.seed is None else args.seed)


async def _export(backend: Backend, args: argparse.Namespace) -> None:
    from . import transfer

    counts = await transfer.export_data(backend, args.dir, args.format, with_hashes=args.with_password_hashes)
    print(f"exported to {args.dir}: " + ", ".join(f"{cls} {n}" for cls, n in counts.items()))


async def _import(backend: Backend, args: argparse.Namespace) -> None:
    from . import transfer

    if not args.dir.is_dir():
        sys.exit(f"crm import: {args.dir} is not a directory")
    counts = await transfer.import_data(backend, args.dir)
    print(f"imported from {args.dir}: " + ", ".join(f"{cls} {n}" for cls, n in counts.items()))


async def _file_orphans(backend: Backend, args: argparse.Namespace) -> None:
    """Files no File field (also inside Arrays and Objects), field default or config parameter refers to."""
    names = await backend.files.orphans(args.min_age)
    for name in names:
        if args.delete:
            await backend.files.remove(name)
        print(name)
    verb = "deleted" if args.delete else "found"
    print(f"{len(names)} orphaned files {verb}", file=sys.stderr)


__all__ = ["register"]


async def _drop_field(backend: Backend, args: argparse.Namespace) -> None:
    """Schema as code only ever adds; removing a field (and its data) is this explicit, confirmed command."""
    from ..storage.model import q

    schema = await backend.schemas.require(args.class_name)
    if args.field not in schema.fields:
        sys.exit(f"crm schema drop-field: {args.class_name} has no field {args.field}")
    f = schema.fields[args.field]
    holding = 0
    if f.type not in ("Relation", "ACL"):
        holding = await backend.pool.fetchval(
            f"SELECT count(*) FROM {q(schema.name)} WHERE {q(args.field)} IS NOT NULL"
        )
    if not args.yes:
        print(
            f"{args.class_name}.{args.field} ({f.type}) holds a value in {holding} objects; "
            "run again with --yes to drop it and that data"
        )
        return
    await backend.schemas.update_class(args.class_name, {args.field: {"__op": "Delete"}}, None, None)
    print(f"dropped {args.class_name}.{args.field} ({holding} values)")
