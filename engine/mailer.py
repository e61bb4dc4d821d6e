"""E-mail for queued notifications. A sender claims each outbox row before sending it, so several senders
(two `stepwise worker` processes) send each e-mail once. Each message has a Message-ID derived from its
outbox row, so a sender that crashed after sending but before marking resends, after its lease, the same
message, which mail systems treat as one."""
from __future__ import annotations

import smtplib
import ssl
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import ColumnElement, and_, or_, select, update

from engine.models import Notification, User, db, utcnow
from engine.transactions import write_operation

CANDIDATES = 10


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    security: str = "none"  # "none", "starttls" or "ssl"
    username: str | None = None
    password: str | None = None
    sender: str = "stepwise@localhost"
    domain: str = "stepwise.local"
    timeout: float = 10.0
    # Longer than sending one message can take, or a slow sender's e-mail would be sent twice.
    lease_seconds: float = 300.0

    @classmethod
    def from_config(cls, config: dict | None) -> SmtpSettings | None:
        if not config or not config.get("host"):
            return None
        return cls(**{k: v for k, v in config.items() if k in cls.__dataclass_fields__})


def message_id(notification: Notification, settings: SmtpSettings) -> str:
    return f"<notification-{notification.id}.{notification.source_key}@{settings.domain}>"


def build(notification: Notification, to: str, settings: SmtpSettings) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = to
    message["Subject"] = notification.subject
    message["Message-ID"] = message_id(notification, settings)
    message.set_content(notification.body)
    return message


def connect(settings: SmtpSettings) -> smtplib.SMTP:
    if settings.security == "ssl":
        client: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout,
                                                context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        if settings.security == "starttls":
            client.starttls(context=ssl.create_default_context())
    if settings.username:
        client.login(settings.username, settings.password or "")
    return client


def claimable(now: datetime) -> ColumnElement[bool]:
    return and_(Notification.email_sent_at.is_(None),
                or_(Notification.email_claimed_until.is_(None), Notification.email_claimed_until < now))


def candidates(now: datetime) -> list[tuple[int, str]]:
    query = (select(Notification.id, User.email).join(User, User.username == Notification.recipient)
             .where(claimable(now), User.email.is_not(None), User.email != "")
             .order_by(Notification.id).limit(CANDIDATES))
    if db.engine.dialect.name == "postgresql":
        # Rows another sender is claiming right now are skipped rather than waited for.
        query = query.with_for_update(skip_locked=True, of=Notification)
    return [(row[0], row[1]) for row in db.session.execute(query)]


@write_operation
def claim(lease_seconds: float) -> tuple[int, str] | None:
    """Lease the next unsent e-mail to this sender: (notification id, address), or None when none is free.

    The conditional UPDATE is what serialises senders: of two that read the same free row, only one
    changes it, and the other sees a row count of 0 and moves on.
    """
    now = utcnow()
    for notification_id, address in candidates(now):
        taken = db.session.execute(
            update(Notification).where(Notification.id == notification_id, claimable(now))
            .values(email_claimed_until=now + timedelta(seconds=lease_seconds))
            .execution_options(synchronize_session=False))
        if taken.rowcount == 1:
            return notification_id, address
    return None


@write_operation
def mark_sent(notification_id: int) -> None:
    db.session.execute(update(Notification).where(Notification.id == notification_id)
                       .values(email_sent_at=utcnow(), email_claimed_until=None)
                       .execution_options(synchronize_session=False))


def send_pending(settings: SmtpSettings | None, limit: int = 100) -> int:
    """Send unsent e-mails one claim at a time, so several senders never send the same one; a sender that
    dies between claiming and marking leaves its e-mail to be sent again, once, when the lease runs out."""
    if settings is None:
        return 0
    sent = 0
    with ExitStack() as stack:
        client: smtplib.SMTP | None = None
        while sent < limit and (claimed := claim(settings.lease_seconds)) is not None:
            client = client or stack.enter_context(connect(settings))
            notification = db.session.get(Notification, claimed[0], populate_existing=True)
            client.send_message(build(notification, claimed[1], settings))
            mark_sent(claimed[0])
            sent += 1
    db.session.commit()
    return sent
