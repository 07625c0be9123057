"""«column among these ids» with the ids as ONE bound value: a PostgreSQL integer array sent as its text form
(the driver dumps one string, not hundreds of integers one by one), a JSON list read by SQLite's json_each. An
expanded IN of a batch's hundreds of ids is rendered, bound and parsed parameter by parameter on every
statement: most of a batch's CPU in the exchange job's profiles (issue 19)."""
import json

from sqlalchemy import ARRAY, Integer, String, any_, bindparam, cast, func, select

from app.extensions import db


def among(column, ids, name: str = "ids"):
    """`column` is one of `ids` (any iterable of ints; sorted, so equal sets bind equal values)."""
    ids = sorted(ids)
    if db.session.get_bind().dialect.name == "postgresql":
        text = "{" + ",".join(map(str, ids)) + "}"
        return column == any_(cast(bindparam(name, text, type_=String), ARRAY(Integer)))
    listed = func.json_each(bindparam(name, json.dumps(ids))).table_valued("value")
    return column.in_(select(listed.c.value))
