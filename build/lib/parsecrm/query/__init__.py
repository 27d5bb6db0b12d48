"""Parse queries → parameterised SQL. Pure: no I/O; class schemas and the caller come in, (sql, params) go out."""
