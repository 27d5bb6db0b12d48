"""Benchmark harness for parsecrm: same Parse REST workload against our server, parse-server and raw SQL.

Run from the repository root with ``python -m bench --help``. Nothing here is imported by the server.
"""
