"""One round of the exchange job over the due outbox, with the database work overlapping the portal's time.

While a batch's POST is in flight on the pool's thread, the job's thread writes the previous batch's outcome and
claims and makes ready the next batch (keyset: the ids after the last one claimed). Only HTTP leaves the job's
thread: the database session stays on it, the consent gate is asked on it right before every POST attempt, and a
batch is POSTed only after the previous one's answer came, so the portal gets messages in outbox order."""
import datetime as dt
from concurrent.futures import ThreadPoolExecutor

from flask import current_app

from app.exchange.sender import Batch, Run, _claimed, _deliver, _settle, release
from app.extensions import db
from app.services import clock


class Round:
    """Send every due message, batch by batch; `total` and `report(run)` are told of each batch once its
    outcome is written. When the walk by id ends, a claim from the start takes what became due behind it
    (a withdrawal that waited for its student's messages, a dead worker's lease)."""

    def __init__(self, portal, pool: ThreadPoolExecutor, worker: str, size: int, report, total: Run):
        self.portal, self.pool, self.worker, self.size = portal, pool, worker, size
        self.report, self.total = report, total
        self.unsettled: list[tuple[Run, Batch, dict, dt.datetime]] = []  # sent, outcome not yet written
        self.ahead: Batch | None = None
        self.fetched = False
        self.error: Exception | None = None

    def settle(self, commit: bool = True) -> None:
        """Write the outcome of the batches sent so far (`commit=False`: the next claim commits it)."""
        for run, batch, receipts, now in self.unsettled:
            _settle(run, batch, receipts, now, self.worker, commit=False)
        if commit:
            db.session.commit()
            self._settled()

    def _settled(self) -> None:
        """The outcomes are committed: count and report them."""
        for run, *_ in self.unsettled:
            self.total.add(run)
            if self.report:
                self.report(run)
        self.unsettled = []

    def _fetch(self, after: int) -> None:
        """The previous outcome and the next claim in one transaction (one commit a batch)."""
        self.settle(commit=False)
        self.ahead, self.fetched = _claimed(self.worker, self.size, after), True  # rolled back whole if it fails
        self._settled()

    def _meanwhile(self, after: int) -> None:
        """During a POST: a failure is kept until the answer is in, then raised."""
        try:
            self._fetch(after)
        except Exception as error:
            db.session.rollback()
            self.error = error

    def _post(self, after: int):
        """`post` for the sender: the request on the pool's thread, this thread's work done meanwhile (once)."""
        if not getattr(self.portal, "concurrent", True):
            return self.portal.send
        app, pending = current_app._get_current_object(), [after]

        def in_app(messages: list[dict]) -> list:
            with app.app_context():
                return self.portal.send(messages)

        def post(messages: list[dict]) -> list:
            future = self.pool.submit(in_app, messages)
            if pending:
                self._meanwhile(pending.pop())
            return future.result()

        return post

    def _next(self, after: int) -> Batch | None:
        if self.error:
            raise self.error
        if not self.fetched:
            self._fetch(after)
        batch, self.ahead, self.fetched = self.ahead, None, False
        if batch is None:
            self.settle()
            batch = _claimed(self.worker, self.size, 0)
        return batch

    def run(self) -> None:
        batch = _claimed(self.worker, self.size, 0)
        try:
            while batch:
                after = batch.rows[-1].id
                run, receipts = _deliver(self._post(after), batch, self.worker)
                self.unsettled.append((run, batch, receipts, clock.utcnow()))
                if run.portal_down:
                    break
                batch = self._next(after)
        finally:
            db.session.rollback()  # after a failure: what was half-written goes; the outcomes are written again
            self.settle()
            if self.ahead is not None:  # claimed during the last POST, never tried: back to the queue
                release(self.ahead.rows, self.worker)
