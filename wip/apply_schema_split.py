"""Re-apply parse's storage changes (File type, DDL statement-cache expiry, drop message) onto core's split of
storage/schema.py into model.py / ddl.py / cache.py. Run in a worktree root."""
import re, sys
def sub(path, old, new, count=1):
    s = open(path).read()
    if old not in s:
        sys.exit(f"{path}: pattern not found:\n{old[:200]}")
    s = s.replace(old, new, count)
    open(path, 'w').write(s)

M = 'src/parsecrm/storage/model.py'
sub(M, '''FIELD_TYPES = frozenset({"String", "Number", "Boolean", "Date", "Object", "Array", "Pointer", "Relation", "ACL"})
UNSUPPORTED_TYPES = frozenset({"GeoPoint", "File", "Bytes", "Polygon"})''', '''FIELD_TYPES = frozenset(
    {"String", "Number", "Boolean", "Date", "Object", "Array", "Pointer", "Relation", "ACL", "File"}
)
UNSUPPORTED_TYPES = frozenset({"GeoPoint", "Bytes", "Polygon"})''')
D = 'src/parsecrm/storage/ddl.py'
s = open(D).read()
m = re.search(r'    "Pointer": \'text COLLATE "C"\',\n}', s)
if not m:
    sys.exit("ddl.py: SQL_TYPES Pointer line not found")
sub(D, m.group(0), '''    "Pointer": 'text COLLATE "C"',
    "File": 'text COLLATE "C"',  # the stored file name; the URL is built when the row is read
}''')
C = 'src/parsecrm/storage/cache.py'
sub(C, '''SCHEMA_CHANNEL = "parsecrm_schema"''', '''SCHEMA_CHANNEL = "parsecrm_schema"
# Sent when a table or column was dropped. A column recreated under the same name with another type would otherwise
# meet asyncpg's per-connection prepared statements, which keep the old parameter types for the same SQL text
# ("a boolean is required (got type float)"); every process expires its pooled connections on this message.
DDL_CHANNEL = "parsecrm_ddl"''')
sub(C, '''                    await self._drop_field(conn, schema, k)
                    continue''', '''                    await self._drop_field(conn, schema, k)
                    dropped = True
                    continue''')
sub(C, '''        """PUT /schemas/C: add or delete fields, replace the CLP, add or drop indexes."""
        async with self.pool.acquire() as conn, conn.transaction():''', '''        """PUT /schemas/C: add or delete fields, replace the CLP, add or drop indexes."""
        dropped = False
        async with self.pool.acquire() as conn, conn.transaction():''')
sub(C, '''                await conn.execute(index_sql(schema, iname, spec))
                schema.indexes[iname] = spec
            await self._save(conn, schema)
        self._store(schema)
        return schema''', '''                await conn.execute(index_sql(schema, iname, spec))
                schema.indexes[iname] = spec
            await self._save(conn, schema)
            if dropped:
                await conn.execute("SELECT pg_notify($1, $2)", DDL_CHANNEL, name)
        self._store(schema)
        if dropped:
            await self.forget_statements()
        return schema

    async def forget_statements(self) -> None:
        """Replace every pooled connection (idle ones at once, busy ones when released), dropping their prepared
        statements. Called here right after a drop commits, and on every process by the DDL_CHANNEL message."""
        await self.pool.expire_connections()''')
sub(C, '''            if await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {q(name)})"):
                raise ParseError(errors.INVALID_SCHEMA_OPERATION, f"Class {name} is not empty, contains objects.")''', '''            count = await conn.fetchval(f"SELECT count(*) FROM (SELECT 1 FROM {q(name)} LIMIT 1000000) t")
            if count:
                raise ParseError(
                    errors.INVALID_SCHEMA_OPERATION,
                    f"Class {name} is not empty, contains {count} objects, cannot drop schema.",
                )''')
sub(C, '''            await conn.execute('DELETE FROM "_SCHEMA" WHERE "className" = $1', name)
            await conn.execute("SELECT pg_notify($1, $2)", SCHEMA_CHANNEL, name)
        self.invalidate()''', '''            await conn.execute('DELETE FROM "_SCHEMA" WHERE "className" = $1', name)
            await conn.execute("SELECT pg_notify($1, $2)", SCHEMA_CHANNEL, name)
            await conn.execute("SELECT pg_notify($1, $2)", DDL_CHANNEL, name)
        self.invalidate()
        await self.forget_statements()''')
# importers of the removed module
sub('src/parsecrm/files/service.py', 'from ..storage.schema import STARTUP_LOCK, q', 'from ..storage.cache import STARTUP_LOCK\nfrom ..storage.model import q')
print("applied")
