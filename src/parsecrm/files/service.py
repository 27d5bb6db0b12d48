"""Files: who may upload what, the `_File` index of every stored file (whatever adapter holds the bytes), and the
search for orphans — files no object, default value or config parameter refers to any more."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import asyncpg

from .. import errors
from ..errors import ErrorCode, ParseError
from ..security.caller import Caller
from ..settings import Settings
from ..storage.cache import STARTUP_LOCK
from ..storage.model import q
from ..storage.pool import NO_TIMEOUT
from . import names
from .adapters import FILE_TABLES_SQL, FileAdapter, LocalFiles, PostgresFiles


@dataclass(frozen=True)
class StoredFile:
    data: bytes
    content_type: str


def make_adapter(settings: Settings, pool: asyncpg.Pool) -> FileAdapter:
    if settings.files_adapter == "filesystem":
        assert settings.files_dir is not None
        return LocalFiles(settings.files_dir)
    if settings.files_adapter == "s3":
        from .s3 import S3Files

        return S3Files(settings)
    return PostgresFiles(pool)


def _is_anonymous(user: dict[str, Any] | None) -> bool:
    auth = (user or {}).get("authData")
    return isinstance(auth, dict) and "anonymous" in auth


class Files:
    def __init__(self, settings: Settings, pool: asyncpg.Pool, adapter: FileAdapter) -> None:
        self.settings = settings
        self.pool = pool
        self.adapter = adapter
        self.patterns = [re.compile(p) for p in settings.file_extensions if p != "*"]
        self.any_extension = "*" in settings.file_extensions

    @classmethod
    async def open(cls, settings: Settings, pool: asyncpg.Pool) -> Files:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(NO_TIMEOUT)
            await conn.execute("SELECT pg_advisory_xact_lock($1)", STARTUP_LOCK)
            for stmt in FILE_TABLES_SQL:
                await conn.execute(stmt)
        return cls(settings, pool, make_adapter(settings, pool))

    def url(self, name: str) -> str:
        return names.url_for(self.settings.server_url, self.settings.app_id, name)

    def check_upload(self, caller: Caller, client_name: str, declared: str) -> None:
        """parse-server's fileUpload rules: who may upload, and which extensions (the master key may do anything)."""
        if caller.master:
            return
        if caller.read_only:
            raise ParseError(
                errors.OPERATION_FORBIDDEN, "read-only masterKey isn't allowed to create a file.", status=403
            )
        s = self.settings
        if caller.user_id is None:
            allowed, who = s.file_upload_public, "public"
        elif _is_anonymous(caller.user):
            allowed, who = s.file_upload_anonymous, "anonymous user"
        else:
            allowed, who = s.file_upload_authenticated, "authenticated user"
        if not allowed:
            raise ParseError(ErrorCode.FILE_SAVE_ERROR, f"File upload by {who} is disabled.")
        ext = re.sub(r"\s+", "", names.extension(client_name, declared))
        if ext and not self.any_extension and not any(p.search(ext) for p in self.patterns):
            raise ParseError(ErrorCode.FILE_SAVE_ERROR, f"File upload of extension {ext[:40]} is disabled.")

    async def upload(
        self, caller: Caller, client_name: str, data: bytes, declared: str | None, metadata: dict[str, Any]
    ) -> dict[str, str]:
        names.check_name(client_name)
        kind = names.content_type(declared, client_name)
        self.check_upload(caller, client_name, kind)
        if len(data) > self.settings.file_max_bytes:
            raise ParseError(ErrorCode.FILE_SAVE_ERROR, self.too_large(), status=413)
        name = names.stored_name(client_name)
        await self.adapter.put(name, data, kind)
        await self.pool.execute(
            'INSERT INTO "_File" ("name", "contentType", "size", "metadata") VALUES ($1, $2, $3, $4)',
            name,
            kind,
            len(data),
            metadata,
        )
        return {"url": self.url(name), "name": name}

    def too_large(self) -> str:
        return f"File size exceeds maximum allowed: {self.settings.file_max_bytes} bytes."

    async def fetch(self, name: str) -> StoredFile | None:
        kind = await self.pool.fetchval('SELECT "contentType" FROM "_File" WHERE "name" = $1', name)
        if kind is None:
            return None
        data = await self.adapter.get(name)
        return None if data is None else StoredFile(data, kind)

    async def metadata(self, name: str) -> dict[str, Any]:
        """parse-server's shape: `{"metadata": {…}}` for a stored file, `{}` for an unknown one."""
        found = await self.pool.fetchval('SELECT "metadata" FROM "_File" WHERE "name" = $1', name)
        return {"metadata": found} if isinstance(found, dict) else {}

    async def delete(self, caller: Caller, name: str) -> None:
        if not caller.master:
            raise ParseError(errors.OPERATION_FORBIDDEN, "unauthorized: master key is required", status=403)
        removed = await self.pool.fetchval('DELETE FROM "_File" WHERE "name" = $1 RETURNING true', name)
        try:
            await self.adapter.delete(name)
        except OSError as exc:
            raise ParseError(ErrorCode.FILE_DELETE_ERROR, "Could not delete file.") from exc
        if not removed:
            raise ParseError(ErrorCode.FILE_DELETE_ERROR, "Could not delete file.")

    async def orphans(self, min_age_seconds: float) -> list[str]:
        """Files older than `min_age_seconds` that no File field, field default or config parameter refers to
        (the age keeps a file uploaded just before the object that will refer to it)."""
        used = await referenced(self.pool)
        rows = await self.pool.fetch(
            'SELECT "name" FROM "_File" WHERE "createdAt" < now() - make_interval(secs => $1) ORDER BY "name"',
            float(min_age_seconds),
        )
        return [r["name"] for r in rows if r["name"] not in used]

    async def remove(self, name: str) -> None:
        await self.pool.execute('DELETE FROM "_File" WHERE "name" = $1', name)
        await self.adapter.delete(name)


FILES_IN_JSON = 'strict $.** ? (@.__type == "File").name'


async def referenced(pool: asyncpg.Pool) -> set[str]:
    """Every file name some object, schema default or config parameter refers to."""
    used: set[str] = set()
    for (raw,) in await pool.fetch('SELECT "schema" FROM "_SCHEMA"'):
        table = q(raw["className"])
        for fname, spec in (raw.get("fields") or {}).items():
            kind = spec.get("type") if isinstance(spec, dict) else None
            _collect(spec.get("defaultValue") if isinstance(spec, dict) else None, used)
            if kind == "File":
                sql = f"SELECT DISTINCT {q(fname)} AS n FROM {table} WHERE {q(fname)} IS NOT NULL"
            elif kind in ("Array", "Object"):  # files inside arrays and objects count too
                sql = f"SELECT DISTINCT jsonb_path_query({q(fname)}, '{FILES_IN_JSON}') #>> '{{}}' AS n FROM {table}"
            else:
                continue
            used.update(r["n"] for r in await pool.fetch(sql) if r["n"] is not None)
    params = await pool.fetchval('SELECT "params" FROM "_GlobalConfig" WHERE "objectId" = \'1\'')
    _collect(params, used)
    return used


def _collect(value: Any, out: set[str]) -> None:
    if isinstance(value, dict):
        if value.get("__type") == "File" and isinstance(value.get("name"), str):
            out.add(value["name"])
        for v in value.values():
            _collect(v, out)
    elif isinstance(value, list):
        for v in value:
            _collect(v, out)
