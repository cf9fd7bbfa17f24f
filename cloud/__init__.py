"""The online portal and back office: Litestar + Piccolo, SQLite by default and PostgreSQL in production.

Nothing is kept in process memory between requests (sessions, counters and tokens live in the database), so the
same code runs as one process on SQLite or as many workers and hosts on one PostgreSQL.
"""
