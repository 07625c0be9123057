"""Rows in bulk for loaders (the demo, a district): COPY on PostgreSQL (psycopg 3), executemany in chunks
elsewhere. Like any Core insert they pass by the session's listeners (audit trail, outbox capture, freeze
guard): the caller decides what goes in the trail, as the demo always did for its bulk rows."""
from collections.abc import Iterable
from operator import itemgetter

from sqlalchemy import Column, Connection, MetaData, Table, insert, update

from app.extensions import db

CHUNK = 20000  # rows per executemany (SQLite, and the statements a test counts)


def _table(target) -> Table:
    return getattr(target, "__table__", target)


def _default(column: Column):
    """The Python-side default a Core insert would fill in for a missing value (None: none)."""
    default = column.default
    if default is None or not (default.is_scalar or default.is_callable):
        return None
    return default.arg if default.is_scalar else default.arg(None)


def _columns(table: Table, rows: list[dict]) -> list[Column]:
    """The rows' keys, and every column with a Python default they leave out, in the table's order."""
    keys = set().union(*rows)
    return [c for c in table.c if c.key in keys or (c.default is not None and _default(c) is not None)]


def _complete(columns: list[Column], rows: list[dict]) -> list[dict]:
    """Each row with a value for every column (a missing one: its default, else NULL)."""
    fill = {c.key: _default(c) for c in columns}
    return [fill | row if len(row) < len(fill) else row for row in rows]


def insert_rows(target, rows: list[dict]) -> int:
    """Insert plain dict rows into a model's table; returns how many. Ids are not returned: read them back
    if needed (or use an `insert().returning()` for the few rows that need theirs)."""
    if not rows:
        return 0
    table = _table(target)
    columns = _columns(table, rows)
    rows = _complete(columns, rows)
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        _copy(connection, table, columns, rows)
    else:
        for start in range(0, len(rows), CHUNK):
            connection.execute(insert(table), rows[start:start + CHUNK])
    return len(rows)


def _copy(connection: Connection, table: Table, columns: list[Column], rows: Iterable[dict]) -> None:
    """COPY … FROM STDIN on the session's own connection (its transaction), each value through its
    column type's bind processor (enums by value, JSON) as an INSERT would send it."""
    dialect = connection.dialect
    quote = dialect.identifier_preparer
    keys = [c.key for c in columns]
    take = itemgetter(*keys) if len(keys) > 1 else (lambda row: (row[keys[0]],))
    convert = [(n, process) for n, c in enumerate(columns)
               if (process := c.type.dialect_impl(dialect).bind_processor(dialect)) is not None]
    names = ", ".join(quote.format_column(c) for c in columns)
    driver = connection.connection.driver_connection
    with driver.cursor() as cursor, cursor.copy(f"COPY {quote.format_table(table)} ({names}) FROM STDIN") as copy:
        for row in rows:
            values = take(row)
            if convert:  # most bulk tables have none: ints, strings, dates go as they are
                values = list(values)
                for n, process in convert:
                    if values[n] is not None:
                        values[n] = process(values[n])
            copy.write_row(values)


def update_rows(target, rows: list[dict]) -> int:
    """Update rows of a model by primary key `id` (each dict: id and the new values; rows may set different columns).
    PostgreSQL: COPY into a temporary table and one UPDATE … FROM per set of columns; elsewhere an
    executemany per set of columns."""
    table = _table(target)
    groups: dict[tuple[str, ...], list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    connection = db.session.connection()
    for keys, group in groups.items():
        columns = [table.c[k] for k in keys]
        if connection.dialect.name != "postgresql":
            for start in range(0, len(group), CHUNK):
                db.session.execute(update(target), group[start:start + CHUNK])
            continue
        scratch = Table(f"_bulk_{table.name}", MetaData(), *(Column(c.name, c.type) for c in columns),
                        prefixes=["TEMPORARY"], postgresql_on_commit="DROP")
        scratch.create(connection)
        _copy(connection, scratch, list(scratch.c), group)
        connection.execute(update(table).where(table.c.id == scratch.c.id)
                           .values({k: scratch.c[k] for k in keys if k != "id"}))
        scratch.drop(connection)
    return len(rows)
