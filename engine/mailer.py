"""E-mail for queued notifications. Each message has a Message-ID derived from its outbox row, so a
sender that crashed after sending but before marking resends the same message, which mail systems treat
as one."""
from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage

from sqlalchemy import select

from engine.models import Notification, User, db, utcnow


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


def pending(limit: int) -> list[tuple[Notification, str]]:
    rows = db.session.execute(
        select(Notification, User.email).join(User, User.username == Notification.recipient)
        .where(Notification.email_sent_at.is_(None), User.email.is_not(None), User.email != "")
        .order_by(Notification.id).limit(limit)
    ).all()
    return [(row[0], row[1]) for row in rows]


def mark_sent(notification: Notification) -> None:
    notification.email_sent_at = utcnow()
    db.session.commit()


def send_pending(settings: SmtpSettings | None, limit: int = 100) -> int:
    """Send each unsent e-mail, committing after each one so a crash repeats at most one message."""
    if settings is None:
        return 0
    batch = pending(limit)
    if not batch:
        db.session.commit()
        return 0
    with connect(settings) as client:
        for notification, address in batch:
            client.send_message(build(notification, address, settings))
            mark_sent(notification)
    return len(batch)
