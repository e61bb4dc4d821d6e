"""The due-timer sweep: an index scan on next_timer_at, so an idle sweep costs nothing."""
from __future__ import annotations

import logging
import threading
from datetime import datetime

from sqlalchemy import select, update

from engine import runtime
from engine.errors import Conflict, StepFailed
from engine.mailer import SmtpSettings, send_pending
from engine.models import Event, Instance, as_utc, db, utcnow
from engine.transactions import write_operation

log = logging.getLogger(__name__)
BATCH = 100


def due_ids(now: datetime, limit: int) -> list[int]:
    query = (select(Instance.id)
             .where(Instance.status == "running", Instance.next_timer_at < now)  # the engine fires strictly after
             .order_by(Instance.next_timer_at).limit(limit))
    if db.engine.dialect.name == "postgresql":
        # Several workers may sweep at once; each takes instances the others are not holding.
        query = query.with_for_update(skip_locked=True)
    return list(db.session.execute(query).scalars())


def run_due(limit: int = BATCH) -> int:
    """Fire every timer due now; returns how many instances were advanced."""
    advanced = 0
    ids = due_ids(utcnow(), limit)
    db.session.commit()
    for instance_id in ids:
        instance = db.session.get(Instance, instance_id)
        if instance is None or instance.status != "running":
            continue
        try:
            runtime.advance(instance)
            advanced += 1
        except Conflict:
            db.session.rollback()  # a user saved the same case meanwhile; the next sweep sees it again
        except StepFailed as exc:
            mark_failed(instance_id, exc.message)
        except Exception:  # a fault outside the diagram (the database, a bug): log it, move on to the next case
            log.exception("timer sweep: instance %s could not be advanced", instance_id)
            db.session.rollback()
    return advanced


@write_operation
def mark_failed(instance_id: int, reason: str) -> None:
    """A case whose diagram cannot run is set aside (status error) with the reason in its history, so the
    sweep does not meet it again and every other case's timers still fire."""
    db.session.execute(update(Instance).where(Instance.id == instance_id, Instance.status == "running")
                       .values(status="error", next_timer_at=None, updated_at=utcnow())
                       .execution_options(synchronize_session=False))
    db.session.add(Event(instance_id=instance_id, at=utcnow(), type="step_failed", actor=None,
                         detail={"reason": reason}))
    log.warning("timer sweep: instance %s set aside: %s", instance_id, reason)


def seconds_to_next(max_wait: float) -> float:
    soonest = db.session.execute(
        select(Instance.next_timer_at).where(Instance.status == "running", Instance.next_timer_at.is_not(None))
        .order_by(Instance.next_timer_at).limit(1)
    ).scalar_one_or_none()
    db.session.commit()
    if soonest is None:
        return max_wait
    wait = (as_utc(soonest) - utcnow()).total_seconds()
    # The engine fires strictly after the due instant, so aim just past it.
    return min(max_wait, max(wait + 0.01, 0.01))


class TimerWorker:
    """Sweeps until stopped, waking for the soonest timer or at least every max_wait seconds.

    E-mail is sent from a loop of its own, in its own thread: an SMTP server that stops answering holds
    that loop (up to the socket time-out, per try), never the timers."""

    def __init__(self, app, max_wait: float = 0.5, mail_wait: float = 2.0) -> None:
        self.app = app
        self.smtp = SmtpSettings.from_config(app.config.get("SMTP"))
        self.max_wait = max_wait
        self.mail_wait = mail_wait
        self.stop_event = threading.Event()

    def run(self) -> None:
        if self.smtp is not None:
            threading.Thread(target=self.mail_loop, name="stepwise-mail", daemon=True).start()
        while not self.stop_event.is_set():
            with self.app.app_context():
                wait = self.sweep_once()
            self.stop_event.wait(wait)

    def sweep_once(self) -> float:
        try:
            while run_due() == BATCH:
                pass
            return seconds_to_next(self.max_wait)
        except Exception:  # a broken instance must not stop every other case's timers
            log.exception("timer sweep failed")
            db.session.rollback()
            return self.max_wait

    def mail_loop(self) -> None:
        while not self.stop_event.is_set():
            with self.app.app_context():
                self.send_once()
            self.stop_event.wait(self.mail_wait)

    def send_once(self) -> int:
        try:
            return send_pending(self.smtp)
        except Exception:  # an SMTP server that refuses or times out: the claims lapse, the next loop retries
            log.exception("sending e-mail failed")
            db.session.rollback()
            return 0

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="stepwise-timers", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.stop_event.set()
