"""Where a file's bytes live. One small interface, three implementations:

- `PostgresFiles` (the default): bytes in the database, in 1 MiB `bytea` chunks, so the embedded PostgreSQL needs
  nothing else and a backup of the database is a backup of the files;
- `LocalFiles`: a directory on disk;
- `S3Files` (s3.py): any S3-compatible object store.

Names reaching an adapter were validated by `names.check_name` (letters, digits, `@ . ~ _ -` and spaces, never a
`/` and never a leading dot), so no adapter can be steered outside its own table, directory or prefix.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Protocol

import asyncpg

CHUNK = 1024 * 1024  # bytes per row of "_FileChunk": large enough to keep rows few, small enough to stay off-heap


class FileAdapter(Protocol):
    async def put(self, name: str, data: bytes, content_type: str) -> None: ...

    async def get(self, name: str) -> bytes | None: ...

    async def delete(self, name: str) -> None: ...


FILE_TABLES_SQL = [
    # What was uploaded, whatever adapter holds the bytes: content type, size, metadata; orphans are found here.
    'CREATE TABLE IF NOT EXISTS "_File" ("name" text COLLATE "C" PRIMARY KEY, "contentType" text NOT NULL, '
    '"size" bigint NOT NULL, "metadata" jsonb NOT NULL DEFAULT \'{}\', "createdAt" timestamptz NOT NULL DEFAULT now())',
    'CREATE TABLE IF NOT EXISTS "_FileChunk" ("name" text COLLATE "C" NOT NULL, "seq" integer NOT NULL, '
    '"data" bytea NOT NULL, PRIMARY KEY ("name", "seq"))',
]


class PostgresFiles:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def put(self, name: str, data: bytes, content_type: str) -> None:
        rows = [(name, i, data[off : off + CHUNK]) for i, off in enumerate(range(0, max(len(data), 1), CHUNK))]
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute('DELETE FROM "_FileChunk" WHERE "name" = $1', name)
            await conn.executemany('INSERT INTO "_FileChunk" ("name", "seq", "data") VALUES ($1, $2, $3)', rows)

    async def get(self, name: str) -> bytes | None:
        rows = await self.pool.fetch('SELECT "data" FROM "_FileChunk" WHERE "name" = $1 ORDER BY "seq"', name)
        return b"".join(r["data"] for r in rows) if rows else None

    async def delete(self, name: str) -> None:
        await self.pool.execute('DELETE FROM "_FileChunk" WHERE "name" = $1', name)


class LocalFiles:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, name: str) -> Path:
        path = (self.root / name).resolve()
        if path.parent != self.root.resolve():  # defence in depth: validated names never contain a separator
            raise ValueError("file name escapes the files directory")
        return path

    async def put(self, name: str, data: bytes, content_type: str) -> None:
        def write() -> None:
            self.root.mkdir(parents=True, exist_ok=True)
            final = self._path(name)
            tmp = final.with_name(f".{final.name}.{os.getpid()}.part")
            tmp.write_bytes(data)
            os.replace(tmp, final)  # readers see the whole file or none of it

        await asyncio.to_thread(write)

    async def get(self, name: str) -> bytes | None:
        def read() -> bytes | None:
            try:
                return self._path(name).read_bytes()
            except FileNotFoundError:
                return None

        return await asyncio.to_thread(read)

    async def delete(self, name: str) -> None:
        await asyncio.to_thread(self._path(name).unlink, True)
