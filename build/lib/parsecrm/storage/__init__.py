"""PostgreSQL: the pool, the class schemas and their DDL, cross-process notifications, the embedded server."""
