"""Load and concurrency (issue 8): many teachers at once on PostgreSQL behind gunicorn (4 sync workers).

Every demo teacher, plus the administration (`director`, `deputy`) on the same cells, logs in through
the form, opens journal pages and saves marks through the grid's JSON endpoint (CSRF header, `version`
of the entry the client last saw), as the page's script does. Some cells are «hot»: a teacher and the
administration both keep editing them, so versions go stale and the server must answer 409 with the
current value instead of overwriting; and the administration races the teacher on them deliberately
(a second tab signed in as the teacher: both save one cell with one version at the same moment).
Think time is zero: the users keep gunicorn saturated, so latencies include queueing.

Reported: requests/s, p50/p95/p99 of journal pages and of saves, status counts. Checked (exit 1 if any
fails): no 5xx and no broken connection; no lost update (per cell, the accepted saves form one chain
of versions, each based on the state the previous one left, and the database ends in the state of
the last one; cells nobody saved are unchanged); one `mark` AuditEvent per accepted save that changed
something (and of the same action); the audit hash chain verifies; no race accepted both saves;
conflicts did happen.

Database: BENCH_POSTGRES_URL (its public schema is dropped first), else a throwaway cluster of its own
(initdb into a temp dir, a free loopback port; run as the `postgres` user when started as root),
stopped and removed at the end. Skips (exit 0, saying why) without PostgreSQL binaries or gunicorn.
Loopback only: gunicorn listens on 127.0.0.1. gunicorn runs with --preload (the app is built once,
then forked; --no-preload lets each worker build it, a slower start on 2 cores).

    python bench/bench_load.py [--duration 30] [--workers 4] [--saves-per-page 10] [--seed 1]
"""
import argparse
import contextlib
import datetime as dt
import html
import importlib.util
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from tests.grid_page import embedded, page_cells  # noqa: E402  (the one reader of the page's packed cells)

TODAY = "2026-11-20"  # a Friday of the demo's second quarter; the first quarter is closed
PASSWORD = "demo"
ADMINISTRATION = ("director", "deputy")
HOT_STUDENTS = 2  # hot cells per teacher: the first students × the latest lesson in the edit window


# --- PostgreSQL --------------------------------------------------------------------------------------

def pg_binary(name: str) -> str | None:
    """A PostgreSQL client or server program: on PATH, else in /usr/lib/postgresql/<newest>/bin."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                      key=lambda p: [int(n) for n in re.findall(r"\d+", p.parent.name)], reverse=True)
    for bindir in versions:
        if (bindir / name).is_file():
            return str(bindir / name)
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """A throwaway PostgreSQL cluster in a temp dir on a free loopback port (trust auth)."""

    def __init__(self):
        self.initdb, self.pg_ctl = pg_binary("initdb"), pg_binary("pg_ctl")
        self.dir = self.port = None
        self.run_as, self.problem = {}, None
        if not (self.initdb and self.pg_ctl):
            self.problem = "no PostgreSQL server binaries (initdb, pg_ctl) on PATH or in /usr/lib/postgresql/*/bin"
        elif os.geteuid() == 0:  # initdb refuses root: run the server as postgres
            import pwd

            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                self.problem = "running as root and there is no `postgres` user to run the server as"
            else:
                self.run_as = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}

    def missing(self) -> str | None:
        return self.problem

    def _run(self, *args: str) -> None:
        done = subprocess.run(args, capture_output=True, text=True, cwd="/", **self.run_as)
        if done.returncode:
            raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout}{done.stderr}")

    def start(self) -> str:
        self.dir = tempfile.mkdtemp(prefix="bench-load-pg-")
        if self.run_as:
            os.chown(self.dir, self.run_as["user"], self.run_as["group"])
        self.port = free_port()
        data = os.path.join(self.dir, "data")
        self._run(self.initdb, "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8")
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100"
        self._run(self.pg_ctl, "-D", data, "-o", options, "-w", "-l", os.path.join(self.dir, "log"), "start")
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute("CREATE DATABASE bench")
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/bench"

    def stop(self) -> None:
        if not self.dir:
            return
        with contextlib.suppress(RuntimeError, OSError):
            self._run(self.pg_ctl, "-D", os.path.join(self.dir, "data"), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None


# --- the database: migrate, demo, snapshots ----------------------------------------------------------

def prepare(url: str, today: str):
    """`school init` and the small demo on a fresh database; returns the in-process app."""
    from app import create_app
    from app.extensions import db

    app = create_app("config.Config", {"SQLALCHEMY_DATABASE_URI": url})
    runner = app.test_cli_runner()
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        started = time.perf_counter()
        result = runner.invoke(args=["school", "init"])
        assert result.exit_code == 0, result.output
        result = runner.invoke(args=["school", "demo", "--size", "small", "--seed", "1", "--today", today])
        assert result.exit_code == 0, result.output
        print(f"school init + demo --size small --today {today}: {time.perf_counter() - started:.1f} s")
        print("  " + "\n  ".join(result.output.splitlines()[1:3]))
        db.session.remove()
        db.engine.dispose()
    return app


def mark_state(app) -> tuple[dict, int]:
    """{(lesson, student, work type): (id, version, value)} of every mark, and the last audit event id."""
    from app.extensions import db
    from app.models import AuditEvent, Mark

    with app.app_context():
        rows = db.session.execute(select(Mark.lesson_id, Mark.student_id, Mark.work_type_id, Mark.id,
                                         Mark.version, Mark.value)).all()
        last_event = db.session.scalar(select(func.coalesce(func.max(AuditEvent.id), 0)))
        db.session.remove()
    return {(r[0], r[1], r[2]): (r[3], r[4], r[5]) for r in rows}, last_event


# --- gunicorn ----------------------------------------------------------------------------------------

HOOKS = """
import os
def post_fork(server, worker):
    # with --preload the app (and its engine) was made before the fork: no pooled connection is shared
    from app.extensions import db
    with worker.app.wsgi().app_context():
        db.engine.dispose(close=False)
def post_worker_init(worker):
    open(os.path.join({ready!r}, str(worker.pid)), "w").close()
"""


@contextlib.contextmanager
def gunicorn(url: str, today: str, workers: int, preload: bool):
    """gunicorn -w N -b 127.0.0.1:PORT run:app; yields the base URL once every worker has loaded the app.
    --preload builds the app once in the master instead of once per worker (start-up ~10 s instead of ~40 s
    on a busy 2-core machine); the serving is the same."""
    tmp = tempfile.mkdtemp(prefix="bench-load-gunicorn-")
    ready = os.path.join(tmp, "ready")
    os.mkdir(ready)
    config = os.path.join(tmp, "hooks.py")
    Path(config).write_text(HOOKS.format(ready=ready))
    port = free_port()
    log = os.path.join(tmp, "error.log")
    env = {**os.environ, "DATABASE_URL": url, "SCHOOL_TODAY": today, "APP_CONFIG": "config.Config"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", config, "-w", str(workers), "-b", f"127.0.0.1:{port}",
         *(["--preload"] if preload else []), "--timeout", "120", "--graceful-timeout", "5",
         "--error-logfile", log, "--chdir", str(ROOT), "run:app"],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        started = time.perf_counter()
        while len(os.listdir(ready)) < workers:
            if proc.poll() is not None or time.perf_counter() - started > 180:
                raise RuntimeError("gunicorn did not start:\n" + Path(log).read_text()[-3000:])
            time.sleep(0.2)
        print(f"gunicorn -w {workers}{' --preload' if preload else ''} on 127.0.0.1:{port}: "
              f"workers ready in {time.perf_counter() - started:.1f} s")
        yield f"http://127.0.0.1:{port}", log
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


# --- the simulated users -----------------------------------------------------------------------------

@dataclass
class Save:
    """One POST /journal/cell: the cell, the state the client based it on, what the server answered."""

    user: str
    key: tuple[int, int, int]  # lesson, student, work type
    sent: tuple[int, int] | None  # (mark id, version) the client had seen; None: no mark
    value: int | None  # None: remove
    status: int = 0
    result: tuple[int, int, int] | None = None  # (id, version, value) after an accepted save; None: removed
    error: str = ""


@dataclass
class Stats:
    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: dict = field(default_factory=lambda: defaultdict(list))
    statuses: Counter = field(default_factory=Counter)
    saves: list = field(default_factory=list)
    races: Counter = field(default_factory=Counter)
    errors: list = field(default_factory=list)
    hot: dict = field(default_factory=dict)  # journal url → (its teacher, hot cells), published by the teacher
    started: float = 0.0
    deadline: float = 0.0
    logins: int = 0


RE_CSRF_INPUT = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
RE_JOURNAL = re.compile(r'href="(/journal/grid\?[^"]+)"')
RE_COLUMN = re.compile(r'<th class="col-lesson[^"]*" data-lesson="(\d+)" data-wt="(\d+)"')


class Browser:
    """One signed-in browser tab: opens journals and saves cells as journal.js does, timing each request."""

    def __init__(self, base: str, username: str, stats: Stats, args, rng: random.Random):
        self.username, self.stats, self.args, self.rng = username, stats, args, rng
        self.client = httpx.Client(base_url=base, timeout=150, follow_redirects=False)
        self.administration = username in ADMINISTRATION
        self.today = dt.date.fromisoformat(args.today)

    def close(self) -> None:
        self.client.close()

    def request(self, kind: str, method: str, url: str, **kwargs) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            response = self.client.request(method, url, **kwargs)
        except httpx.HTTPError as err:
            with self.stats.lock:
                self.stats.statuses["error"] += 1
                self.stats.errors.append(f"{self.username} {method} {url}: {type(err).__name__} {err}")
            return None
        elapsed = time.perf_counter() - started
        with self.stats.lock:
            self.stats.latencies[kind].append(elapsed)
            self.stats.statuses[response.status_code] += 1
            if response.status_code >= 500:
                self.stats.errors.append(f"{self.username} {method} {url}: {response.status_code}")
        return response

    def login(self) -> "Browser":
        for _attempt in range(30):  # a login rate limit answers 429: wait and try again
            page = self.request("login", "GET", "/login/")
            token = RE_CSRF_INPUT.search(page.text).group(1) if page is not None and page.status_code == 200 else ""
            response = self.request("login", "POST", "/login/", data={
                "username": self.username, "password": PASSWORD, "csrf_token": token})
            if response is not None and response.status_code == 302 and "/login" not in response.headers["location"]:
                return self
            time.sleep(1 + self.rng.random())
        raise RuntimeError(f"{self.username} could not log in")

    def journals(self) -> list[str]:
        page = self.request("index", "GET", "/journal/")
        return sorted({html.unescape(u) for u in RE_JOURNAL.findall(page.text)}) if page is not None else []

    def open(self, url: str) -> dict | None:
        """GET a grid page and read what journal.js reads: period, CSRF token, lessons, cells, work types."""
        page = self.request("page", "GET", url)
        if page is None or page.status_code != 200:
            return None
        body = page.text
        lessons, cells = embedded(body, "journal-lessons"), page_cells(body)  # unpacked as journal.js does
        defaults = {int(lesson): int(wt) for lesson, wt in RE_COLUMN.findall(body)}  # the column's work type
        earliest = dt.date.min if self.administration else self.today - dt.timedelta(days=self.args.edit_days)
        writable = [lesson["id"] for lesson in lessons if lesson["editable"] and lesson["status"] == "held"
                    and earliest <= dt.date.fromisoformat(lesson["date"]) <= self.today]
        return {
            "period": int(re.search(r'data-period="(\d+)"', body).group(1)),
            "csrf": html.unescape(re.search(r'data-csrf="([^"]+)"', body).group(1)),
            "students": [int(s) for s in re.findall(r'<tr data-student="(\d+)"', body)],
            "writable": writable, "defaults": defaults,
            "marks": {(int(k.split(":")[1]), int(k.split(":")[0]), m["work_type_id"]): m
                      for k, cell in cells.items() for m in cell["marks"]},
        }

    def pick_value(self, mine: dict | None, clearing: bool = True) -> int | None:
        """A new mark, another value than the one seen, or (sometimes) none: clear the cell."""
        if mine is None:
            return self.rng.randint(2, 5)
        if clearing and self.rng.random() < self.args.clear_share:
            return None
        return self.rng.choice([v for v in range(2, 6) if v != mine["value"]])

    def save(self, grid: dict, key: tuple[int, int, int], value: int | None, seen: dict | None) -> Save:
        """POST the cell with the version of the entry as `seen`; remember what the server answers."""
        lesson_id, student_id, work_type_id = key
        body = {"kind": "mark", "lesson_id": lesson_id, "student_id": student_id, "work_type_id": work_type_id,
                "value": value, "version": seen["version"] if seen else None, "period_id": grid["period"]}
        save = Save(self.username, key, (seen["id"], seen["version"]) if seen else None, value)
        response = self.request("save", "POST", "/journal/cell", json=body, headers={"X-CSRFToken": grid["csrf"]})
        if response is None:
            return save
        save.status = response.status_code
        answer = response.json() if response.headers.get("content-type", "").startswith("application/json") \
            else {}
        if response.status_code == 200:
            cell = answer.get("cell")
            save.result = (cell["id"], cell["version"], cell["value"]) if cell else None
            remember(grid, key, cell)
        elif response.status_code == 409:
            remember(grid, key, answer.get("current"))
        else:
            save.error = str(answer.get("error") or response.text[:200])
        with self.stats.lock:
            self.stats.saves.append(save)
        return save


def remember(grid: dict, key, cell: dict | None) -> None:
    """What the page's script keeps after an answer: the saved cell, or the current one of a conflict."""
    if cell:
        grid["marks"][key] = cell
    else:
        grid["marks"].pop(key, None)


def hot_cells(grid: dict) -> list:
    """A journal's hot cells: its first students in the latest lesson the teacher may still mark."""
    if not grid["writable"] or not grid["students"]:
        return []
    lesson = grid["writable"][-1]
    return [(lesson, s, grid["defaults"][lesson]) for s in grid["students"][:HOT_STUDENTS]]


class User(threading.Thread):
    """A simulated user: signs in, waits for everybody, then works until the deadline.

    A teacher opens the journals of their lessons in the edit window (half the time the first one,
    whose hot cells it publishes) and saves cells after each page. The administration opens the hot
    journals and races the teacher on the hot cells: from a second tab signed in as that teacher,
    both save the same cell at the same moment with the same version; one must win, the other get 409."""

    def __init__(self, base: str, username: str, stats: Stats, start: threading.Barrier, args, seed: int):
        super().__init__(name=username, daemon=True)
        self.base, self.username, self.stats, self.start_line, self.args = base, username, stats, start, args
        self.rng = random.Random(seed)
        self.tabs: dict[str, tuple[Browser, dict]] = {}  # the administration's second tabs: url → (tab, grid)

    def run(self) -> None:
        self.browser = Browser(self.base, self.username, self.stats, self.args, self.rng)
        try:
            try:
                self.browser.login()
            except Exception:
                self.start_line.abort()
                raise
            self.start_line.wait(300)  # everybody signed in: the clock starts
            self.deadline = self.stats.deadline
            if self.browser.administration:
                self.race()
            else:
                self.teach()
        except Exception as err:  # noqa: BLE001 - a broken simulated user is reported, not hidden
            with self.stats.lock:
                self.stats.statuses["error"] += 1
                self.stats.errors.append(f"{self.username}: {type(err).__name__}: {err}")
        finally:
            self.browser.close()
            for tab, _grid in self.tabs.values():
                tab.close()

    def teach(self) -> None:
        # The journals on /journal/ with lessons this teacher gave in the edit window (planned from the
        # database: the list also holds journals of a single lesson substituted long ago).
        mine = self.args.plan.get(self.username, set())
        own = [u for u in self.browser.journals() if journal_key(u) in mine]
        if not own:
            raise RuntimeError("no journal with lessons to mark on /journal/")
        while time.perf_counter() < self.deadline:
            url = own[0] if self.rng.random() < 0.5 else self.rng.choice(own)
            grid = self.browser.open(url)
            if grid is None or not grid["writable"] or not grid["students"]:
                continue
            hot = hot_cells(grid) if url == own[0] else []
            if hot:
                with self.stats.lock:
                    self.stats.hot.setdefault(url, (self.username, hot))
            for _ in range(self.args.saves_per_page):
                if time.perf_counter() >= self.deadline:
                    break
                if hot and self.rng.random() < self.args.hot_share:
                    key = self.rng.choice(hot)
                else:
                    lesson = self.rng.choice(grid["writable"])
                    key = (lesson, self.rng.choice(grid["students"]), grid["defaults"][lesson])
                seen = grid["marks"].get(key)
                self.browser.save(grid, key, self.browser.pick_value(seen), seen)
                if self.args.think:
                    time.sleep(self.rng.uniform(0, self.args.think))

    def race(self) -> None:
        while time.perf_counter() < self.deadline:
            with self.stats.lock:
                hot = dict(self.stats.hot)
            if not hot:
                time.sleep(0.2)
                continue
            url = self.rng.choice(sorted(hot))
            teacher, cells = hot[url]
            grid = self.browser.open(url)
            if grid is None:
                continue
            if url not in self.tabs:  # the teacher's second tab, signed in and on the same journal
                tab = Browser(self.base, teacher, self.stats, self.args, self.rng).login()
                tab_grid = tab.open(url)
                if tab_grid is None:
                    tab.close()
                    continue
                self.tabs[url] = (tab, tab_grid)
            tab, tab_grid = self.tabs[url]
            for _ in range(self.args.races_per_page):
                if time.perf_counter() >= self.deadline:
                    break
                key = self.rng.choice(cells)
                seen = grid["marks"].get(key)  # both writers start from what the director sees
                mine = self.browser.pick_value(seen, clearing=False)
                theirs = self.rng.choice([v for v in range(2, 6) if v not in (mine, seen and seen["value"])])
                both = threading.Barrier(2)
                answers = {}

                def teacher_saves():
                    both.wait(10)
                    answers["teacher"] = tab.save(tab_grid, key, theirs, seen)

                other = threading.Thread(target=teacher_saves, daemon=True)
                other.start()
                both.wait(10)
                answers["admin"] = self.browser.save(grid, key, mine, seen)
                other.join(200)
                won = sorted(k for k, s in answers.items() if s.status == 200)
                outcome = "both accepted" if len(won) == 2 else f"{won[0]} won" if won else "both refused"
                with self.stats.lock:
                    self.stats.races[outcome] += 1
                remember(tab_grid, key, grid["marks"].get(key))  # the director's grid has the winner now


def journal_key(url: str) -> tuple[str, int, int]:
    """(target kind, target id, subject id) of a grid URL."""
    from urllib.parse import parse_qs, urlsplit

    query = parse_qs(urlsplit(url).query)
    return query["target"][0], int(query["id"][0]), int(query["subject"][0])


def plan(app, today: str, edit_days: int) -> dict[str, set]:
    """{teacher login: journal keys with held lessons they teach in their edit window}."""
    from flask_appbuilder.security.sqla.models import User as Login

    from app.extensions import db
    from app.models import Lesson, LessonStatus, Staff, TeachingAssignment
    from app.services.grid import TARGETS

    day = dt.date.fromisoformat(today)
    out = defaultdict(set)
    with app.app_context():
        rows = db.session.execute(
            select(Login.username, TeachingAssignment).join(Staff, Staff.user_id == Login.id)
            .join(Lesson, Lesson.teacher_id == Staff.id)
            .join(TeachingAssignment, TeachingAssignment.id == Lesson.assignment_id)
            .where(Lesson.status == LessonStatus.held,
                   Lesson.date.between(day - dt.timedelta(days=edit_days), day)).distinct()).all()
        for username, assignment in rows:
            for key, (_model, column) in TARGETS.items():
                if getattr(assignment, column):
                    out[username].add((key, getattr(assignment, column), assignment.subject_id))
        db.session.remove()
    return dict(out)


# --- the checks --------------------------------------------------------------------------------------

def chain(initial, saves: list[Save]) -> tuple[object, str | None]:
    """Order a cell's accepted saves so that each is based on the state the previous one left.

    Returns (final state, problem). Two accepted saves based on the same mark version are a lost
    update; a state reached again only after a removal (no mark) may start another chain of saves."""
    by_base = defaultdict(list)
    for s in saves:
        by_base[s.sent].append(s)
    for base, group in by_base.items():
        if base is not None and len(group) > 1:
            return None, f"{len(group)} saves accepted on the same version {base}: " + \
                ", ".join(f"{s.user}→{s.value}" for s in group)

    def walk(state, left: int):
        if left == 0:
            return state
        base = None if state is None else state[:2]
        for s in list(by_base.get(base, [])):
            by_base[base].remove(s)
            end = walk(s.result, left - 1)
            if end is not False:
                return end
            by_base[base].append(s)
        return False

    end = walk(initial, len(saves))
    if end is False:
        return None, "the accepted saves do not form one chain of versions from the state before the run: " + \
            ", ".join(f"{s.user} {s.sent}→{s.result}" for s in saves)
    return end, None


def check(app, before: dict, last_event: int, stats: Stats) -> list[tuple[str, bool, str]]:
    from app.extensions import db
    from app.models import AuditEvent
    from app.services.audit import verify_chain

    after, _ = mark_state(app)
    accepted = [s for s in stats.saves if s.status == 200]
    by_cell = defaultdict(list)
    for s in accepted:
        by_cell[s.key].append(s)
    lost = []
    for key, saves in by_cell.items():
        end, problem = chain(before.get(key), saves)
        if problem:
            lost.append(f"cell {key}: {problem}")
        elif end != after.get(key):
            lost.append(f"cell {key}: the last accepted save left {end}, the database has {after.get(key)}")
    untouched = [k for k in set(before) | set(after) if k not in by_cell and before.get(k) != after.get(k)]
    changing = [s for s in accepted if s.result is None or s.sent is None or s.result[:2] != s.sent]
    expected = Counter("create" if s.sent is None else "delete" if s.result is None else "update" for s in changing)
    with app.app_context():
        events = Counter(dict(db.session.execute(
            select(AuditEvent.action, func.count()).where(AuditEvent.id > last_event, AuditEvent.entity == "mark")
            .group_by(AuditEvent.action)).all()))
        others = db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.id > last_event, AuditEvent.entity != "mark"))
        checked, problem = verify_chain()
        db.session.remove()
    conflicts = sum(1 for s in stats.saves if s.status == 409)
    fives = sum(n for code, n in stats.statuses.items() if isinstance(code, int) and code >= 500)
    return [
        ("no 5xx and no broken request", fives == 0 and stats.statuses["error"] == 0,
         f"5xx {fives}, broken {stats.statuses['error']}" + ("".join("\n      " + e for e in stats.errors[:10]))),
        ("no lost update (accepted saves chain per cell, the database holds the last)", not lost,
         f"{len(by_cell)} cells saved, {len(lost)} wrong" + "".join("\n      " + x for x in lost[:10])),
        ("cells nobody saved are unchanged", not untouched, f"{len(untouched)} changed: {untouched[:5]}"),
        ("mark AuditEvents == accepted saves that changed something", events == expected and others == 0,
         f"events {dict(events)} (other entities {others}), accepted changes {dict(expected)}"),
        ("the audit hash chain verifies", problem is None, f"{checked} events checked; {problem or 'intact'}"),
        ("simultaneous saves of one version: never both accepted", stats.races["both accepted"] == 0,
         ", ".join(f"{k} {n}" for k, n in sorted(stats.races.items())) or "no race ran"),
        ("version conflicts happened and were answered 409", conflicts > 0, f"{conflicts} conflicts"),
    ]


# --- main --------------------------------------------------------------------------------------------

def percentiles(values: list[float]) -> str:
    if not values:
        return "n=0"
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return f"n={len(ordered)}, p50 {at(0.50):.0f} ms, p95 {at(0.95):.0f} ms, p99 {at(0.99):.0f} ms, " \
           f"max {ordered[-1] * 1000:.0f} ms"


def teachers(app) -> list[str]:
    """The demo's teacher logins."""
    from flask_appbuilder.security.sqla.models import User as Login

    from app.extensions import db

    with app.app_context():
        names = db.session.scalars(select(Login.username).where(Login.username.like("teacher%"))
                                   .order_by(Login.username)).all()
        db.session.remove()
    return list(names)


def load(app, url: str, args) -> int:
    before, last_event = mark_state(app)
    stats = Stats()
    args.plan = plan(app, args.today, args.edit_days)
    with gunicorn(url, args.today, args.workers, args.preload) as (base, log):
        logins = [t for t in teachers(app) if t in args.plan][:args.teachers] + list(ADMINISTRATION)

        def go() -> None:  # runs once every user has signed in, before any is released
            with stats.lock:
                stats.latencies.clear()
                stats.started = time.perf_counter()
                stats.deadline = stats.started + args.duration
                stats.logins = sum(stats.statuses.values())
                stats.statuses.clear()

        start = threading.Barrier(len(logins) + 1, action=go)
        users = [User(base, name, stats, start, args, args.seed * 1000 + n) for n, name in enumerate(logins)]
        for user in users:
            user.start()
        with contextlib.suppress(threading.BrokenBarrierError):
            start.wait(300)
        for user in users:
            user.join(args.duration + 180)
        seconds = max(time.perf_counter() - (stats.started or time.perf_counter()), 1e-9)
        server_errors = [line for line in Path(log).read_text().splitlines() if "Traceback" in line or "ERROR" in line]
    requests = sum(n for n in stats.statuses.values())
    saves = stats.saves
    print(f"signed in through the login form: {len(logins)} users ({stats.logins} requests, not counted below)")
    print(f"load: {len(logins)} users ({len(logins) - len(ADMINISTRATION)} teachers + {', '.join(ADMINISTRATION)} "
          f"on the same hot cells), {args.duration:.0f} s, gunicorn -w {args.workers}, PostgreSQL (fsync=off)")
    print(f"  requests: {requests} in {seconds:.1f} s = {requests / seconds:.1f} req/s "
          f"(saves {len(saves) / seconds:.1f}/s, pages {len(stats.latencies['page']) / seconds:.1f}/s)")
    print(f"  journal page (GET /journal/grid): {percentiles(stats.latencies['page'])}")
    print(f"  save (POST /journal/cell):        {percentiles(stats.latencies['save'])}")
    statuses = ", ".join(f"{code}: {n}" for code, n in sorted(stats.statuses.items(), key=lambda x: str(x[0])))
    print(f"  statuses: {statuses}")
    outcome = Counter(s.status for s in saves)
    rejected = Counter(s.error for s in saves if s.status not in (200, 409) and s.status)
    print(f"  saves: accepted {outcome[200]}, conflicts (409) {outcome[409]}, refused by a rule (422) {outcome[422]}, "
          f"other {sum(n for c, n in outcome.items() if c not in (200, 409, 422))}")
    print(f"  races on hot cells (a teacher and the administration, same version, same moment): "
          f"{sum(stats.races.values())}: " + ", ".join(f"{k} {n}" for k, n in sorted(stats.races.items())))
    for message, n in rejected.most_common(3):
        print(f"    {n} × {message}")
    if server_errors:
        print(f"  gunicorn error log: {len(server_errors)} error lines, e.g. {server_errors[0]}")
    results = check(app, before, last_event, stats)
    print("checks:")
    for name, ok, detail in results:
        print(f"  {'OK  ' if ok else 'FAIL'} {name}: {detail}")
    return 0 if all(ok for _, ok, _ in results) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=30, help="seconds of load (default 30)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument("--teachers", type=int, default=16,
                        help="demo teachers taking part (default 16: all who have lessons in their edit window)")
    parser.add_argument("--saves-per-page", type=int, default=10, help="saves after each page opened (default 10)")
    parser.add_argument("--races-per-page", type=int, default=6,
                        help="races on hot cells per hot journal the administration opens (default 6)")
    parser.add_argument("--hot-share", type=float, default=0.3,
                        help="share of the saves on a hot journal's page that go to its hot cells (default 0.3)")
    parser.add_argument("--clear-share", type=float, default=0.05, help="share of changes that clear the mark")
    parser.add_argument("--think", type=float, default=0.0, help="max pause between saves, seconds")
    parser.add_argument("--edit-days", type=int, default=7, help="the teachers' edit window (MARK_EDIT_DAYS)")
    parser.add_argument("--today", default=TODAY, help=f"the school day replayed (default {TODAY})")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-preload", dest="preload", action="store_false",
                        help="let each gunicorn worker build the app itself (slower start)")
    args = parser.parse_args()

    if importlib.util.find_spec("gunicorn") is None:
        print("bench_load: skipped — gunicorn is not installed (pip install gunicorn)")
        return 0
    url = os.environ.get("BENCH_POSTGRES_URL")
    cluster = None
    if not url:
        cluster = Cluster()
        if cluster.missing():
            print(f"bench_load: skipped — BENCH_POSTGRES_URL is not set and {cluster.missing()}")
            return 0
    try:
        if cluster:
            url = cluster.start()
            print(f"throwaway PostgreSQL cluster on 127.0.0.1:{cluster.port} ({cluster.dir})")
        app = prepare(url, args.today)
        return load(app, url, args)
    finally:
        if cluster:
            cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
