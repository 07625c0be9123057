"""The portal exchange page (/exchange/): the outbox at a glance, the 24-hour rule and «retry failed»;
the read-only list of outbox messages; the dashboard line of the home page. Rules live in app.exchange.
Times are shown on the school's clock (stored in naive UTC)."""
import datetime as dt
import json

from flask import abort, current_app, flash, redirect, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from app.exchange import outbox, sla
from app.extensions import db
from app.models import OutboxMessage, OutboxStatus
from app.security import permissions as p
from app.security.scope import Scope, current_scope
from app.services import clock
from app.views.base import SchoolModelView
from app.views.consent import READ_ONLY_ROUTES
from app.views.display import machine_text, shown
from app.views.labels import table_label
from app.views.list_csv import ListCsvMixin

FAILED_SHOWN = 50
STATUS_LABELS = {OutboxStatus.queued: _l("queued"), OutboxStatus.sending: _l("sending"),
                 OutboxStatus.accepted: _l("accepted"), OutboxStatus.failed: _l("failed"),
                 OutboxStatus.cancelled: _l("cancelled (consent ended)")}


MESSAGE_KINDS = {
    "mark": _l("mark"), "attendance": _l("attendance"), "lesson": _l("lesson"), "lesson_change": _l("lesson change"),
    "timetable": _l("timetable"), "control_work": _l("control work"), "teachers": _l("teachers of the class"),
    "holidays": _l("holidays"), "recommendation": _l("recommendation"), "final_grade": _l("final grade"),
    "exam_result": _l("exam or competition result"), "notice": _l("message to the family"),
    "forecast": _l("forecast"), "withdrawal": _l("consent withdrawn"), "snapshot": _l("diary snapshot"),
}


def moment(value: dt.datetime | None) -> str:
    """A stored moment (naive UTC) on the school's clock, as the pages show it."""
    return shown(value) if value else "—"


def school_of(scope: Scope) -> int | None:
    """The school whose outbox the user sees; None for the deployment admin (every school)."""
    if scope.everything:
        return None
    if scope.school_id is None:
        abort(403)  # a login without a school must not see (or retry) every school's outbox
    return scope.school_id


def dashboard(scope: Scope) -> dict | None:
    """The home page's line for readers of the exchange: 24-hour rule breaches, waiting and failed
    messages."""
    if not (scope.everything or scope.school_id) or not current_app.appbuilder.sm.has_access(
            p.CAN_READ, p.RESOURCE_EXCHANGE):
        return None
    school_id = school_of(scope)
    counts = outbox.waiting_and_failed(school_id)
    return {"breaches": sla.breaches(clock.utcnow(), sla.WINDOW_DAYS, school_id), **counts}


class ExchangeView(BaseView):
    """Обмен с порталом: counts by status, the oldest waiting message, the 24-hour rule, «retry failed»."""

    route_base = "/exchange"
    default_view = "index"
    resource = class_permission_name = p.RESOURCE_EXCHANGE
    method_permission_name = {"index": p.ACTION_READ, "retry": p.ACTION_WRITE}
    base_permissions = [p.CAN_READ, p.CAN_WRITE]

    @expose("/")
    @has_access
    def index(self):
        """The outbox and the 24-hour rule of the user's school."""
        school_id, now = school_of(current_scope()), clock.utcnow()
        state, items = outbox.state(school_id), sla.report(now, sla.WINDOW_DAYS, school_id)
        return self.render_template(
            "exchange/index.html", state=state, age=outbox.age_text(state.oldest_age(now)), statuses=STATUS_LABELS,
            items=items, breaches=sum(i.is_breach for i in items), sla_labels=sla.STATE_LABELS, days=sla.WINDOW_DAYS,
            failed=outbox.latest_failed(school_id, FAILED_SHOWN), moment=moment, failed_status=OutboxStatus.failed,
            may_retry=self.appbuilder.sm.has_access(p.CAN_WRITE, p.RESOURCE_EXCHANGE))

    @expose("/retry", methods=["POST"])
    @has_access
    def retry(self):
        """Put the school's failed messages back in the queue."""
        count = outbox.retry_failed(school_of(current_scope()))
        db.session.commit()
        flash(str(_l("Messages queued again: %(count)d.", count=count)), "success")
        return redirect(url_for("ExchangeView.index"))


def _payload(value) -> Markup:
    return Markup("<pre>{}</pre>").format(json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True))


class OutboxMessageView(ListCsvMixin, SchoolModelView):
    """The outbox, read-only: each message, its state and (on the record page) what it says."""

    model, resource = OutboxMessage, p.RESOURCE_OUTBOX
    list_columns = ["id", "kind", "student", "status", "attempts", "created_at", "accepted_at", "failure"]
    show_columns = ["id", "key", "kind", "student", "entity", "entity_id", "entity_version", "status", "attempts",
                    "created_at", "next_attempt_at", "worker", "accepted_at", "failure", "payload"]
    search_columns = ["status", "kind", "student", "created_at", "accepted_at"]
    include_route_methods = READ_ONLY_ROUTES
    base_order = ("id", "desc")
    formatters_columns = {**SchoolModelView.formatters_columns, "status": lambda s: STATUS_LABELS.get(s, s),  # noqa: RUF012
                          "created_at": moment, "accepted_at": moment, "next_attempt_at": moment, "payload": _payload,
                          "kind": lambda k: MESSAGE_KINDS.get(k, k), "entity": table_label, "key": machine_text,
                          "worker": machine_text}
    label_columns = {"id": _l("Number"), "key": _l("Idempotency key"), "kind": _l("Kind"), "entity": _l("Entity"),
                     "entity_id": _l("Row"), "entity_version": _l("Version"), "attempts": _l("Attempts"),
                     "created_at": _l("Created"), "next_attempt_at": _l("Next attempt"),
                     "worker": _l("Worker"), "accepted_at": _l("Accepted"), "failure": _l("Failure reason"),
                     "payload": _l("Payload")}
