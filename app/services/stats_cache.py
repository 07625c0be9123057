"""The results of a period (app.services.stats.results) served from an in-process cache that no write can make
stale: an entry is keyed by the filters and the token of the period's school in stats_version, which
database triggers renew on every statement writing what the results read in that school (migration
0017_stats_cache). The administration opens the dashboard and its API again and again while a period's
finals change rarely. A school without a row (the migration gives every school one, the triggers each new
school) is computed uncached: no fixed initial token could tell its data before the migration from after.

The token is read before the results are computed: a write committed in between leaves the entry under the
old token (newer figures, never older ones), and a rolled-back write's token is random, never seen again.
The period itself (title, closed) and the filters are added on every call from the request's own rows; the
figures hold no translated text (numbers, and names as the database holds them), so the locale is no part
of the key."""
import threading
from collections import OrderedDict

from sqlalchemy import select

from app.extensions import db
from app.models import StatsVersion
from app.services import stats
from app.services.stats import Filters, period_info

SIZE = 64  # entries (a school's results are some tens of KB): a few periods × filters of a few schools

_entries: OrderedDict[tuple, dict] = OrderedDict()
_lock = threading.Lock()


def token(school_id: int) -> str | None:
    """The school's current token (None if its row is missing: nothing is cached then)."""
    return db.session.scalar(select(StatsVersion.token).where(StatsVersion.school_id == school_id))


def results(f: Filters) -> dict:
    """stats.results(f), from the cache when the data is what it was computed from. The figures are shared
    between callers: read them, never change them."""
    version = token(f.period.school_id)
    if version is None:
        return stats.results(f)
    key = (f.key(), version)
    with _lock:
        figures = _entries.get(key)
        if figures is not None:
            _entries.move_to_end(key)
    if figures is None:
        figures = stats.results(f)
        with _lock:
            _entries[key] = figures
            if len(_entries) > SIZE:
                _entries.popitem(last=False)
    return {**figures, "period": period_info(f.period), "filters": f.as_dict()}


def clear() -> None:
    """Forget every entry (the bench's cold calls)."""
    with _lock:
        _entries.clear()
