"""DDL: the tables, columns and indexes a class schema needs. Statements only; the cache runs them in its
transactions (cache.py)."""

from __future__ import annotations

from typing import Any

from .. import errors
from ..errors import ParseError
from ..values import check_field_name
from .model import SCOPED_PERMISSIONS, ClassSchema, Field, join_table, q

# GIN's "fast update" parks new entries in a pending list that every search scans until a vacuum merges it; under
# steady inserts that made a rep's pipeline query 5 ms instead of 0.2 ms. Each row adds a few entries, so
# updating the index directly costs little and keeps reads flat.
GIN_OPTIONS = "WITH (fastupdate = off)"

SQL_TYPES = {
    "String": 'text COLLATE "C"',
    "Number": "double precision",
    "Boolean": "boolean",
    "Date": "timestamptz",
    "Object": "jsonb",
    "Array": "jsonb",
    "Pointer": 'text COLLATE "C"',
    "File": 'text COLLATE "C"',  # the stored file name; the URL is built when the row is read
    "GeoPoint": "point",  # (longitude, latitude): x is east-west, as PostgreSQL's geometric types and parse-server
    "Bytes": "text",  # the base64 text as sent
    "Polygon": "jsonb",  # its closed ring of [latitude, longitude] pairs, as the wire has them
}

# Columns that exist in a table but are never fields: permissions, the stored ACL, and _User secrets.
HIDDEN_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "*": [("_rperm", "text[] NOT NULL DEFAULT '{*}'"), ("_wperm", "text[] NOT NULL DEFAULT '{*}'"), ("_acl", "jsonb")],
    "_User": [
        ("_hashed_password", "text"),
        ("_failed_login_count", "integer NOT NULL DEFAULT 0"),
        ("_account_lockout_expires_at", "timestamptz"),
        ("_perishable_token", "text"),
        ("_perishable_token_expires_at", "timestamptz"),
        ("_email_verify_token", "text"),
        ("_password_changed_at", "timestamptz"),
    ],
}


def column_ddl(name: str, f: Field) -> str:
    return f"{q(name)} {SQL_TYPES[f.type]}"


def create_table_sql(schema: ClassSchema) -> list[str]:
    cols = [
        '"objectId" text COLLATE "C" PRIMARY KEY',
        '"createdAt" timestamptz NOT NULL',
        '"updatedAt" timestamptz NOT NULL',
    ]
    for name in schema.column_fields():
        if name in ("objectId", "createdAt", "updatedAt"):
            continue
        cols.append(column_ddl(name, schema.fields[name]))
    for col, ddl in HIDDEN_COLUMNS["*"] + HIDDEN_COLUMNS.get(schema.name, []):
        cols.append(f"{q(col)} {ddl}")
    t = q(schema.name)
    stmts = [f"CREATE TABLE IF NOT EXISTS {t} ({', '.join(cols)})"]
    # The read-permission index: a caller's visible rows are found through it, never by testing every row.
    stmts.append(f'CREATE INDEX IF NOT EXISTS {q(schema.name + "_rperm")} ON {t} USING gin ("_rperm") {GIN_OPTIONS}')
    stmts.extend(system_indexes(schema.name))
    for name, f in schema.fields.items():
        if f.type == "Relation":
            stmts.extend(join_table_sql(schema.name, name))
    return stmts


def system_indexes(class_name: str) -> list[str]:
    if class_name == "_User":
        return [
            'CREATE UNIQUE INDEX IF NOT EXISTS "_User_unique_username" ON "_User" (lower("username"))',
            'CREATE INDEX IF NOT EXISTS "_User_username" ON "_User" ("username")',
            'CREATE UNIQUE INDEX IF NOT EXISTS "_User_unique_email" ON "_User" (lower("email"))',
            'CREATE INDEX IF NOT EXISTS "_User_perishable_token" ON "_User" ("_perishable_token")',
            'CREATE INDEX IF NOT EXISTS "_User_email_verify_token" ON "_User" ("_email_verify_token")',
        ]
    if class_name == "_Session":
        return [
            'CREATE UNIQUE INDEX IF NOT EXISTS "_Session_token" ON "_Session" ("sessionToken")',
            'CREATE INDEX IF NOT EXISTS "_Session_user" ON "_Session" ("user")',
        ]
    if class_name == "_Role":
        return ['CREATE UNIQUE INDEX IF NOT EXISTS "_Role_unique_name" ON "_Role" ("name")']
    return []


def join_table_sql(owner: str, field_name: str) -> list[str]:
    t = q(join_table(owner, field_name))
    return [
        f'CREATE TABLE IF NOT EXISTS {t} ("owningId" text COLLATE "C" NOT NULL, "relatedId" text COLLATE "C" NOT NULL, '
        f'PRIMARY KEY ("owningId", "relatedId"))',
        f'CREATE INDEX IF NOT EXISTS {q(join_table(owner, field_name) + ":related")} ON {t} ("relatedId")',
    ]


def index_sql(schema: ClassSchema, name: str, spec: Any) -> str:
    """A schema-declared index. `spec` maps field → 1 | -1 | "text" | "acl"; index names are prefixed by the
    class because PostgreSQL index names are global."""
    if not isinstance(spec, dict) or not spec:
        raise ParseError(errors.INVALID_QUERY, f"index {name} must map fields to 1, -1 or 'text'")
    check_field_name(name)
    parts: list[str] = []
    text_cols: list[str] = []
    for fname, direction in spec.items():
        if fname not in schema.fields:
            raise ParseError(errors.INVALID_QUERY, f"Field {fname!s:.40} does not exist, cannot create index.")
        if schema.fields[fname].type in ("Relation", "ACL"):
            raise ParseError(errors.INVALID_QUERY, f"cannot index {fname}")
        if direction == "acl":
            if len(spec) != 1 or schema.fields[fname].type not in ("String", "Pointer"):
                raise ParseError(errors.INVALID_QUERY, "an acl index covers one String or Pointer field")
            iname = q(f"{schema.name}_{name}")
            return (
                f"CREATE INDEX IF NOT EXISTS {iname} ON {q(schema.name)} "
                f'USING gin ({SCOPED_PERMISSIONS}({q(fname)}, "_rperm")) {GIN_OPTIONS}'
            )
        if direction == "text":
            text_cols.append(fname)
        elif direction in (1, -1):
            parts.append(q(fname) + (" DESC" if direction == -1 else ""))
        else:
            raise ParseError(errors.INVALID_QUERY, f"index {name}: {fname} must be 1, -1, 'text' or 'acl'")
    iname = q(f"{schema.name}_{name}")
    if text_cols:
        if parts:
            raise ParseError(errors.INVALID_QUERY, "a text index cannot mix text and ordered fields")
        doc = " || ' ' || ".join(f"coalesce({q(c)}, '')" for c in text_cols)
        return (
            f"CREATE INDEX IF NOT EXISTS {iname} ON {q(schema.name)} "
            f"USING gin (to_tsvector('english', {doc})) {GIN_OPTIONS}"
        )
    return f"CREATE INDEX IF NOT EXISTS {iname} ON {q(schema.name)} ({', '.join(parts)})"


BOOTSTRAP_SQL = [
    'CREATE TABLE IF NOT EXISTS "_SCHEMA" ("className" text COLLATE "C" PRIMARY KEY, "schema" jsonb NOT NULL, '
    '"isParseClass" boolean NOT NULL DEFAULT true)',
    'CREATE TABLE IF NOT EXISTS "_GlobalConfig" ("objectId" text PRIMARY KEY, "params" jsonb NOT NULL DEFAULT \'{}\', '
    "\"masterKeyOnly\" jsonb NOT NULL DEFAULT '{}')",
    # chr(31), the unit separator, cannot occur in a principal (user ids, `role:Name`, `*`)
    # (created once, not replaced at every start: replacing locks the function against running inserts)
    f"DO $do$ BEGIN IF to_regprocedure('{SCOPED_PERMISSIONS}(text, text[])') IS NULL THEN "
    f"CREATE FUNCTION {SCOPED_PERMISSIONS}(value text, perms text[]) RETURNS text[] "
    "LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT array_agg(value || chr(31) || p) FROM unnest(perms) p $$; "
    "END IF; END $do$",
]
