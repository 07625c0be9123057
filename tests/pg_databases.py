"""Databases the tests and benches make beside the configured one on a PostgreSQL server."""
from sqlalchemy import Engine, text


def drop_database(admin: Engine, name: str) -> None:
    """Drop `name` if it exists, ending this role's own sessions on it first.

    Not `WITH (FORCE)`: for a role that is not a superuser, PostgreSQL refuses it while an autovacuum
    worker (a process of no role) is in the database, as one is soon after a restore loads rows; a plain
    DROP stops such a worker itself and waits a few seconds for ended sessions to go."""
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                          " WHERE datname = :name AND usename = current_user AND pid <> pg_backend_pid()"),
                     {"name": name})
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))


def recreate_database(admin: Engine, name: str) -> None:
    """`name` empty: dropped as above if it exists, then created."""
    drop_database(admin, name)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
