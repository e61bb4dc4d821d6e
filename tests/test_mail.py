"""Notifications by e-mail through a real SMTP server (aiosmtpd on 127.0.0.1)."""
from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections import Counter
from pathlib import Path

import pytest
import time_machine
from aiosmtpd.controller import Controller

from engine import mailer
from engine.definitions import deploy_file
from engine.mailer import SmtpSettings, send_pending
from engine.models import Notification, User, db
from engine.timers import run_due

MINI = Path(__file__).parent / "fixtures" / "mini.bpmn"


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        message = email.message_from_bytes(envelope.original_content or envelope.content,
                                           policy=email.policy.default)
        message["X-RcptTo"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield SmtpSettings(host="127.0.0.1", port=controller.port, sender="stepwise@council.test",
                           domain="council.test"), inbox
    finally:
        controller.stop()


@pytest.fixture
def breached(api, people):
    """Three social work team managers' notifications from one breached deadline (one without e-mail)."""
    for name, address in (("sw_tm", "tm@council.test"), ("sw_tm2", "tm2@council.test"), ("sw_tm3", None)):
        user = db.session.execute(db.select(User).filter_by(username=name)).scalar_one_or_none()
        if user is None:
            user = User(username=name, display_name=name, password_hash="x", roles=["sw_tm"], teams=[])
            db.session.add(user)
        user.email = address
    deploy_file(MINI, "ana")
    db.session.commit()
    with time_machine.travel("2024-12-20T10:00:00+00:00", tick=False):
        api.post("/instances", "sw", {"process": "mini", "case_ref": "M-1", "data": {"allocated_sw": "sw"}},
                 expect=201)
    with time_machine.travel("2025-02-01T10:00:00+00:00", tick=False):
        assert run_due() == 1
    return api


def test_each_recipient_with_an_address_gets_one_email(smtp, breached):
    settings, inbox = smtp
    assert send_pending(settings) == 2
    assert send_pending(settings) == 0
    assert sorted(m["X-RcptTo"] for m in inbox.messages) == ["tm2@council.test", "tm@council.test"]
    message = inbox.messages[0]
    assert "not allocated within 20 working days" in message["Subject"] and "M-1" in message["Subject"]
    assert "Case reference: M-1" in message.get_content()
    assert db.session.query(Notification).filter(Notification.email_sent_at.is_(None)).count() == 1  # no address
    in_app = db.session.query(Notification).filter_by(recipient="sw_tm3").all()
    assert [n.template for n in in_app] == ["allocation_breached"]
    assert [n["template"] for n in breached.get("/notifications", "sw_tm")["notifications"]] == ["allocation_breached"]


def test_a_crash_between_sending_and_marking_resends_the_same_message_after_the_lease(smtp, breached, monkeypatch):
    settings, inbox = smtp

    def crash(notification_id: int) -> None:
        raise SystemExit("the sender died")

    with time_machine.travel("2025-02-01T11:00:00+00:00", tick=False):
        monkeypatch.setattr(mailer, "mark_sent", crash)
        with pytest.raises(SystemExit):
            send_pending(settings)
        db.session.rollback()
        monkeypatch.undo()
        assert send_pending(settings) == 1  # after the restart: the other message; the crashed one is leased
    with time_machine.travel("2025-02-01T11:05:01+00:00", tick=False):
        assert send_pending(settings) == 1  # the lease ran out: sent again, once
        assert send_pending(settings) == 0
    ids = [m["Message-ID"] for m in inbox.messages]
    assert len(ids) == 3 and ids[0] == ids[2] and len(set(ids)) == 2


def test_no_smtp_configured_sends_nothing(breached):
    assert send_pending(None) == 0
    assert db.session.query(Notification).filter(Notification.email_sent_at.is_not(None)).count() == 0


# ---- several senders at once -------------------------------------------------------------------------------

OUTBOX_SIZE = 30


@pytest.fixture
def outbox(app) -> dict[int, str]:
    """Thirty queued e-mails to three people: notification id -> the Message-ID it must go out with."""
    for n in range(3):
        db.session.add(User(username=f"reader{n}", display_name=f"Reader {n}", email=f"reader{n}@council.test",
                            password_hash="x", roles=["sw_tm"], teams=[]))
    for n in range(OUTBOX_SIZE):
        db.session.add(Notification(source_key=f"task-{n}", recipient=f"reader{n % 3}", template="update",
                                    subject=f"Update {n}", body=f"Update number {n}"))
    db.session.commit()
    return {n.id: f"<notification-{n.id}.{n.source_key}@council.test>" for n in db.session.query(Notification)}


def delivered(inbox: Inbox) -> Counter:
    return Counter(m["Message-ID"] for m in inbox.messages)


def run_senders(app, settings: SmtpSettings, count: int) -> list[int]:
    """`count` senders, as separate worker processes would be: each its own app context and session."""
    start, results, failures = threading.Barrier(count), [], []

    def sender() -> None:
        with app.app_context():
            start.wait()
            try:
                results.append(send_pending(settings, limit=1000))
            except Exception as exc:  # noqa: BLE001 - reported to the test below
                failures.append(exc)

    threads = [threading.Thread(target=sender) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    return results


@pytest.mark.parametrize("senders", [2, 3])
def test_concurrent_senders_deliver_each_email_exactly_once(app, smtp, outbox, senders):
    settings, inbox = smtp
    sent = run_senders(app, settings, senders)
    assert sum(sent) == OUTBOX_SIZE and len(sent) == senders
    assert delivered(inbox) == Counter({message_id: 1 for message_id in outbox.values()})
    db.session.rollback()
    assert db.session.query(Notification).filter(Notification.email_sent_at.is_(None)).count() == 0
    assert db.session.query(Notification).filter(Notification.email_claimed_until.is_not(None)).count() == 0


def test_a_sender_that_dies_after_claiming_leaves_the_email_for_after_the_lease(smtp, outbox):
    settings, inbox = smtp
    with time_machine.travel("2025-03-03T09:00:00+00:00", tick=False):
        claimed_id, _ = mailer.claim(settings.lease_seconds)  # ... and then the sender dies before sending
        assert send_pending(settings, limit=1000) == OUTBOX_SIZE - 1
        assert outbox[claimed_id] not in delivered(inbox)
    with time_machine.travel("2025-03-03T09:04:59+00:00", tick=False):
        assert send_pending(settings) == 0  # still leased to the dead sender
    with time_machine.travel("2025-03-03T09:05:01+00:00", tick=False):
        assert send_pending(settings) == 1
        assert send_pending(settings) == 0
    assert delivered(inbox) == Counter({message_id: 1 for message_id in outbox.values()})
