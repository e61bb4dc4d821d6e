"""Notifications by e-mail through a real SMTP server (aiosmtpd on 127.0.0.1)."""
from __future__ import annotations

import email
import email.policy
import socket
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


def test_a_crash_between_sending_and_marking_resends_the_same_message(smtp, breached, monkeypatch):
    settings, inbox = smtp

    def crash(notification: Notification) -> None:
        raise SystemExit("the sender died")

    monkeypatch.setattr(mailer, "mark_sent", crash)
    with pytest.raises(SystemExit):
        send_pending(settings)
    db.session.rollback()
    monkeypatch.undo()
    assert send_pending(settings) == 2  # after the restart
    ids = [m["Message-ID"] for m in inbox.messages]
    assert len(ids) == 3 and ids[0] == ids[1] and len(set(ids)) == 2
    assert send_pending(settings) == 0


def test_no_smtp_configured_sends_nothing(breached):
    assert send_pending(None) == 0
    assert db.session.query(Notification).filter(Notification.email_sent_at.is_not(None)).count() == 0
