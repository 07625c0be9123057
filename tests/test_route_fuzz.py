"""Fuzzing of every route of the app's URL map (issue 15.7), beyond the OpenAPI that
tests/test_api_fuzz.py covers: pages, forms, our JSON endpoints, FAB's screens and the REST API alike.

For each route and method, as the deployment admin and as a teacher, a probe request finds the
parameters the route reads (query string, form, JSON body: the request object records every name the
code asks for); then each parameter in turn gets a bad value — huge and negative numbers, words
where numbers go, NUL, very long text, and in JSON objects, lists, huge ints, NaN — while the others
keep plausible values (real ids of the user's journal), so the bad one reaches the rules behind them.
Names read only on a deeper path (e.g. `code` once `kind` is attendance) are fuzzed as they appear. A
list of a model view is also given its filters, page, page size and order. Every answer must be below
500, and a refused request (4xx) must leave every table's row count as it was.

The run is seeded (FUZZ_SEED) and bounded: ROUTE_FUZZ_EXAMPLES rounds (default 1) of bad values for
PER_ROUND parameters per route and place (about 2 000 requests a user). A longer run:

    ROUTE_FUZZ_EXAMPLES=5 FUZZ_SEED=7 .venv/bin/pytest tests/test_route_fuzz.py
"""
import math
import os
import random
import re
from dataclasses import dataclass, field

import pytest
from flask import Request
from flask_appbuilder import Model, ModelView
from flask_appbuilder.api import BaseApi
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.sqla.models import Role
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.pool import Pool
from werkzeug.datastructures import ImmutableMultiDict

from app.extensions import db
from app.models import ClassUnit, Lesson, ReportingPeriod, Student
from app.security.scope import scope_for_user, visible_clause
from tests.conftest import KEEP_TABLES
from tests.isolation import SharedConnection
from tests.journal_helpers import message
from tests.security_helpers import bearer, changed_tables, is_ours, snapshot
from tests.test_tampering import planted  # noqa: F401 - a fixture: rows of every model, the teacher's own ids

EXAMPLES = int(os.environ.get("ROUTE_FUZZ_EXAMPLES", "1"))
SEED = int(os.environ.get("FUZZ_SEED", "20261204"))
MAX_NAMES = 40  # parameters known per route and place (a FAB list has dozens of filters)
PER_ROUND = 2  # of which each round fuzzes these many, drawn by the seed, and those found on the way

HUGE = "99999999999999999999"
TEXT_VALUES = [HUGE, "-" + HUGE, "2147483648", "-1", "0", "abc", "1.5", "", "\x00", "a\x00b", "ж" * 3000,
               "1e400", "NaN", "2026-02-30", "[]", "{'a': 1}", "(", "'"]
JSON_VALUES = [{"a": 1}, [1], ["Н"], [], 2**70, -(2**70), 2**31, -1, 0, 1.5, math.nan, math.inf, True, None, "",
               "\x00", "ж" * 100_000, "abc", "2026-02-30", HUGE]
JSON_BODIES = [[], [1, 2], "Н", 5, None]

# Routes not fuzzed: signing in and out (the session is the test's), the language switch, static files.
SKIP = {"AuthDBView.login", "AuthDBView.logout", "LocaleView.index", "static", "appbuilder.static",
        "SecurityApi.login", "SecurityApi.refresh"}
PATH_MODELS = {"class_id": ClassUnit, "lesson_id": Lesson, "period_id": ReportingPeriod, "student_id": Student}
IMPOSSIBLE_PK = 2_000_000_000  # FAB's security screens are written to with a pk no row has: roles stay


# --- which parameters a request reads ---------------------------------------------------------------

_read: set[tuple[str, str]] | None = None


def _note(where: str, key) -> None:
    if _read is not None and isinstance(key, str):
        _read.add((where, key))


class _Params(ImmutableMultiDict):
    """Query string or form that notes the names the code asks for."""

    where = "form"

    def __getitem__(self, key):
        _note(self.where, key)
        return super().__getitem__(key)

    def get(self, key, default=None, type=None):
        _note(self.where, key)
        return super().get(key, default, type)

    def getlist(self, key, type=None):
        _note(self.where, key)
        return super().getlist(key, type)

    def __contains__(self, key):
        _note(self.where, key)
        return super().__contains__(key)


class _Query(_Params):
    where = "query"


class _Json(dict):
    """A JSON object body that notes the names the code asks for."""

    def __getitem__(self, key):
        _note("json", key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        _note("json", key)
        return super().get(key, default)

    def __contains__(self, key):
        _note("json", key)
        return super().__contains__(key)

    def pop(self, key, *default):
        _note("json", key)
        return super().pop(key, *default)


class RecordingRequest(Request):
    parameter_storage_class = _Params

    @property
    def args(self):
        return _Query(Request.args.__get__(self))

    def get_json(self, force=False, silent=False, cache=True):
        body = super().get_json(force=force, silent=silent, cache=cache)
        return _Json(body) if type(body) is dict else body


# --- what is sent -----------------------------------------------------------------------------------


@dataclass
class Target:
    """One route and method, and what is known of the parameters it reads."""

    endpoint: str
    method: str
    path: str
    api: bool
    names: dict[str, list[str]] = field(default_factory=lambda: {"query": [], "form": [], "json": []})

    def learn(self, read: set[tuple[str, str]]) -> None:
        for where, name in sorted(read):
            if name not in self.names[where] and len(self.names[where]) < MAX_NAMES and name != "csrf_token":
                self.names[where].append(name)


def plausible(own, where: str) -> dict:
    """Values a route accepts, by parameter name: the teacher's journal (5А mathematics, today's lesson)."""
    ids = {"lesson_id": own.lesson, "lesson": own.lesson, "student_id": own.student, "student": own.student,
           "class_id": own.cls, "class_unit": own.cls, "id": own.cls, "subject_id": own.subject,
           "subject": own.subject, "period_id": own.q2, "period": own.q2, "work_type_id": own.answer,
           "work_type": own.answer, "assignment": own.assignment, "bell_slot": own.slot, "teacher": own.staff,
           "school": own.school, "year": own.year}
    words = {"target": "class_id", "kind": "mark", "code": "Н", "value": 5, "date": "2026-11-20",
             "start": "2026-11-16", "end": "2026-11-20", "topic": "Дроби", "homework": "№ 5", "text": "Совет",
             "name": "Имя", "surname": "Фамилия", "lesson_type": "regular", "status": "planned"}
    values = {**ids, **words}
    return values if where == "json" else {k: str(v) for k, v in values.items()}


def _visible_pk(model, user) -> int:
    clause = visible_clause(model, scope_for_user(user))
    query = select(model.id).order_by(model.id).limit(1)
    return db.session.scalar(query if clause is None else query.where(clause)) or 1


def targets(app, username: str) -> list[Target]:
    """Every route and method of the URL map with its path filled (real rows the user may see)."""
    user = app.appbuilder.sm.find_user(username=username)
    views = {v.endpoint: v for v in app.appbuilder.baseviews}
    out = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        if rule.endpoint in SKIP:
            continue
        view = views.get(rule.endpoint.partition(".")[0])
        datamodel = getattr(view, "datamodel", None)
        ours = view is not None and is_ours(view)
        for method in sorted(rule.methods & {"GET", "POST", "PUT", "DELETE"}):
            values = {}
            for arg in rule.arguments:
                if arg == "pk" and isinstance(datamodel, SQLAInterface):
                    values[arg] = _visible_pk(datamodel.obj, user) if ours or method == "GET" else IMPOSSIBLE_PK
                elif arg in PATH_MODELS:
                    values[arg] = _visible_pk(PATH_MODELS[arg], user)
                else:
                    values[arg] = {"name": next(iter(getattr(view, "actions", {}) or {"x": 0})),
                                   "filename": "x.txt", "version": "v1"}.get(arg, 1)
            if not ours and method == "POST" and rule.endpoint.endswith(".add") \
                    and datamodel.obj.__tablename__ in KEEP_TABLES:
                continue  # FAB's roles and permissions survive the test: never add to them
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: str(values[m.group(1)]), rule.rule)
            target = Target(rule.endpoint, method, path, isinstance(view, BaseApi))
            if isinstance(view, ModelView) and rule.endpoint.endswith(".list"):
                target.names["query"] += _list_parameters(view)
            out.append(target)
    return out


def _list_parameters(view: ModelView) -> list[str]:
    """The filters of a FAB list (each searchable column, with its first and last filter), its page,
    page size and order."""
    names = [f"page_{view.__class__.__name__}", f"psize_{view.__class__.__name__}",
             f"_oc_{view.__class__.__name__}"]
    for column, filters in view._filters.get_search_filters().items():
        names += [f"_flt_{i}_{column}" for i in range(len(filters))]
    return names[:MAX_NAMES]


# PostgreSQL keeps this transaction's inserts and deletes per table (COPY's and triggers' included) in
# pg_stat_xact_user_tables. In a rolled-back test every request's session shares the connection the counts are
# read on, so while their sum stays the same no row count can have moved, and the count of every table (a
# third of this test's time on PostgreSQL) is skipped. TRUNCATE is not counted there: the app runs none.
# Rows another connection commits are not in this transaction's figures: once any pool has handed out a
# connection since the last count (`pool_checkouts`), every table is counted again.
XACT_WRITES = text("SELECT coalesce(sum(n_tup_ins + n_tup_del), 0) FROM pg_stat_xact_user_tables")


def _counts_statement():
    tables = [t for t in Model.metadata.sorted_tables if t.name != "alembic_version"]
    return [t.name for t in tables], select(*[select(func.count()).select_from(t).scalar_subquery() for t in tables])


@dataclass
class Fuzzer:
    app: object
    client: object
    headers: dict
    own: object
    rng: random.Random
    checkouts: list[int]  # of pool_checkouts
    sent: int = 0
    failures: list[str] = field(default_factory=list)
    writes: tuple | None = None  # XACT_WRITES and the checkouts when self.counts were read

    def __post_init__(self):
        self.tables, self.statement = _counts_statement()
        self.counts = self._counts()

    def _counts(self) -> tuple:
        with db.engine.connect() as conn:
            if isinstance(conn, SharedConnection) and conn.dialect.name == "postgresql":
                writes = (conn.execute(XACT_WRITES).scalar(), self.checkouts[0])
                if writes == self.writes:
                    return self.counts
                self.writes = writes
            return tuple(conn.execute(self.statement).one())

    def send(self, target: Target, query: dict, form: dict | None = None, body=None, what: str = "") -> None:
        global _read
        kwargs = {"query_string": query, "headers": self.headers if target.api else None}
        if form is not None:
            kwargs["data"] = form
        elif body is not None or what == "json":
            kwargs["json"] = body
        _read = set()
        try:
            response = self.client.open(target.path, method=target.method, **kwargs)
            status = response.status_code
        except Exception as err:
            status, response = 500, f"{type(err).__name__}: {str(err)[:200]}"
        finally:
            read, _read = _read, None
        self.sent += 1
        target.learn(read)
        counts = self._counts()
        if status >= 500 or (400 <= status < 500 and counts != self.counts):
            changed = [t for t, a, b in zip(self.tables, self.counts, counts, strict=True) if a != b]
            shown = {k: (repr(v)[:40]) for k, v in {**query, **(form or {}),
                                                    **(body if isinstance(body, dict) else {"<body>": body})}.items()}
            problem = f"{status}" + (f", rows of {changed} changed" if changed else "")
            detail = response if isinstance(response, str) else response.get_data(as_text=True)[:150]
            self.failures.append(f"{target.method} {target.path} {what} {shown}: {problem} {detail!r}")
        self.counts = counts

    def fuzz(self, target: Target) -> None:
        writes = target.method != "GET"
        self.send(target, {"_probe": "1"}, form={"_probe": "1"} if writes else None, what="probe")
        if writes:
            self.send(target, {}, body={"_probe": 1}, what="json")
        for _ in range(EXAMPLES):
            for where in ("query", "form", "json"):
                known = list(target.names[where])
                for name in self.rng.sample(known, min(PER_ROUND, len(known))):
                    self._one(target, where, name)
                for name in target.names[where][len(known):][:PER_ROUND]:  # read on deeper paths
                    self._one(target, where, name)
            if writes and target.names["json"]:
                self.send(target, {}, body=self.rng.choice(JSON_BODIES), what="json")

    def _one(self, target: Target, where: str, name: str) -> None:
        base = {k: v for k, v in plausible(self.own, where).items() if k in target.names[where]}
        bad = self.rng.choice(JSON_VALUES if where == "json" else TEXT_VALUES)
        values = {**base, name: bad}
        if where == "query":
            if name.startswith("_oc_"):
                values["_od_" + name[4:]] = self.rng.choice(["asc", "desc"])
            self.send(target, values, what=f"query {name}")
        elif where == "form":
            self.send(target, {}, form=values, what=f"form {name}")
        else:
            self.send(target, {}, body=values, what="json")


@pytest.fixture
def pool_checkouts():
    """[how many connections any pool has handed out since]: a connection other than the test's."""
    taken = [0]

    def checked_out(*_args):
        taken[0] += 1

    event.listen(Pool, "checkout", checked_out)
    yield taken
    event.remove(Pool, "checkout", checked_out)


@pytest.mark.parametrize("username", ["admin", "teacher"])
def test_no_route_answers_5xx_nor_keeps_what_it_refused(app, planted, login_as, api_token,  # noqa: F811
                                                        monkeypatch, pool_checkouts, username):
    """Every route of the URL map, its parameters fuzzed as described above."""
    monkeypatch.setattr(app, "request_class", RecordingRequest)
    client = login_as(username)
    fuzzer = Fuzzer(app, client, bearer(api_token(username)), planted.own, random.Random(f"{SEED}-{username}"),
                    checkouts=pool_checkouts)
    kept = {t: n for t, n in zip(fuzzer.tables, fuzzer.counts, strict=True) if t in KEEP_TABLES}
    plan = targets(app, username)
    for target in plan:
        fuzzer.fuzz(target)
    assert len(plan) > 500 and fuzzer.sent > 2 * len(plan), (len(plan), fuzzer.sent)
    print(f"{username}: {len(plan)} routes and methods, {fuzzer.sent} requests")
    report = "\n".join(fuzzer.failures[:60])
    assert not fuzzer.failures, f"{len(fuzzer.failures)} of {fuzzer.sent} requests answered wrongly:\n{report}"
    after = dict(zip(fuzzer.tables, fuzzer._counts(), strict=True))
    assert {t: after[t] for t in kept} == kept, "FAB's roles and permissions changed"


def test_the_fuzz_sees_a_refused_row_that_another_connection_committed(app, login_as, monkeypatch,
                                                                     pool_checkouts):
    """Rows another connection commits are not in this transaction's pg_stat_xact_user_tables: the fuzz
    counts every table again once a pool handed out a connection, and reports the refused request."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the counts are skipped by pg_stat_xact_user_tables on PostgreSQL only")
    other = create_engine(db.engine.url)

    def refused():
        with other.begin() as conn:
            conn.execute(text("INSERT INTO ab_group (name) VALUES ('fuzz: another connection')"))
        return "refused", 400

    monkeypatch.setitem(app.view_functions, "HomeView.index", refused)
    fuzzer = Fuzzer(app, login_as("admin"), {}, None, random.Random(SEED), checkouts=pool_checkouts)
    try:
        fuzzer.send(Target("HomeView.index", "GET", "/", False), {}, what="probe")
    finally:
        with other.begin() as conn:
            conn.execute(text("DELETE FROM ab_group WHERE name = 'fuzz: another connection'"))
        other.dispose()
    assert len(fuzzer.failures) == 1 and "rows of ['ab_group'] changed" in fuzzer.failures[0], fuzzer.failures


# ---- what the fuzzing found: each fix as a plain request that is refused and changes nothing ------

def _page(response) -> str:
    return response.get_data(as_text=True).replace("&#34;", '"').replace("&#39;", "'")


def test_a_put_whose_body_is_no_object_is_a_400(app, world, api_token):
    """FAB's update merged the body into the row as a dict: a list, a string or a number was a 500."""
    client, headers = app.test_client(), bearer(api_token("admin"))
    before = snapshot()
    for body in ([], [1, 2], "Н", 5):
        response = client.put(f"/api/v1/subject/{world.subjects['math'].id}", json=body, headers=headers)
        assert response.status_code == 400, body
        assert response.json["message"] == message("The request body must be a JSON object.")
    assert changed_tables(before, snapshot()) == []


def test_a_list_sorted_by_what_is_no_column_is_a_400(login_as, world):
    """`_oc_<View>` went to the database as SQL text (a CompileError), or FAB looked it up (a KeyError
    on the users listed inside a role's page): a 500 on every list."""
    client = login_as("admin")
    for url, value in (("/subjectview/list/?_od_SubjectView=asc&_oc_SubjectView=", "0"),
                       ("/auditeventview/list/?_od_AuditEventView=desc&_oc_AuditEventView=", "1e400"),
                       ("/roles/show/1?_od_UserDBModelView=desc&_oc_UserDBModelView=", "1.5")):
        response = client.get(url + value)
        assert response.status_code == 400, url
        assert message("The list cannot be sorted by «%(column)s».", column=value) in _page(response)
    assert client.get("/subjectview/list/?_od_SubjectView=asc&_oc_SubjectView=name").status_code == 200


def test_the_paper_recipients_of_a_class_id_no_row_has(login_as, world):
    """`/consent/paper?class_id=-1` was an AttributeError for the admin, a huge id an overflow."""
    client = login_as("admin")
    for value in ("-1", HUGE, "abc"):
        response = client.get(f"/consent/paper?class_id={value}")
        assert response.status_code == 400, value
        assert message("%(name)s must be a whole number from 1 to %(max)s, got «%(raw)s».", name="class_id",
                       max=2**31 - 1, raw=value) in _page(response)
    assert client.get("/consent/paper?class_id=2000000000").status_code == 404
    assert client.get(f"/consent/paper?class_id={world.classes['5А'].id}").status_code == 200


def test_an_action_on_a_row_that_does_not_exist_is_a_404(login_as, world):
    """FAB's «copy role» took the role it did not find (None): a TypeError, a 500."""
    client = login_as("admin")
    before = snapshot(), _roles()
    for pk in (IMPOSSIBLE_PK, HUGE):
        assert client.post(f"/roles/action/copyrole/{pk}").status_code == 404
    assert (snapshot(), _roles()) == before


def _roles() -> list[str]:
    return sorted(db.session.scalars(select(Role.name)))
