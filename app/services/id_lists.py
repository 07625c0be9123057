"""«column among these ids» with the ids as ONE bound value: a PostgreSQL integer array sent as its text form
(the driver dumps one string, not hundreds of integers one by one), a JSON list read by SQLite's json_each. An
expanded IN of a batch's hundreds of ids is rendered, bound and parsed parameter by parameter on every
statement: most of a batch's CPU in the exchange job's profiles (issue 19)."""
import json
from functools import cache, wraps

from sqlalchemy import ARRAY, Integer, String, any_, bindparam, cast, func, select

from app.extensions import db


def dialect() -> str:
    """The session's database: "postgresql" or "sqlite"."""
    return db.session.get_bind().dialect.name


def per_database(build):
    """A statement built once for each database, `build(dialect)`, its values bound each time it runs (building
    one can cost more than running it: issue 19); called without arguments, for the session's database."""
    built = cache(build)
    return wraps(build)(lambda: built(dialect()))


def _postgresql() -> bool:
    return dialect() == "postgresql"


def listed(ids) -> str:
    """The one value that stands for `ids` (any iterable of ints; sorted, so equal sets bind equal values)."""
    ids = sorted(ids)
    return "{" + ",".join(map(str, ids)) + "}" if _postgresql() else json.dumps(ids)


def among(column, ids=None, name: str = "ids"):
    """`column` is one of `ids`; without `ids`, a placeholder for a statement built once (`per_database`), the
    value `listed(ids)` given as `name` when it runs."""
    value = bindparam(name, type_=String) if ids is None else bindparam(name, listed(ids), type_=String)
    if _postgresql():
        return column == any_(cast(value, ARRAY(Integer)))
    return column.in_(select(func.json_each(value).table_valued("value").c.value))
