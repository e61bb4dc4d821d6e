"""The database tables: deployed definitions, instances, the materialised worklist, history and the outbox."""
from __future__ import annotations

from datetime import UTC, datetime

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


def utcnow() -> datetime:
    """The one clock of the engine, so tests can move it with time-machine."""
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class UTCDateTime(TypeDecorator):
    """SQLite drops the offset; every instant is stored as UTC and comes back timezone-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        value = as_utc(value)
        return value.replace(tzinfo=None) if value is not None and dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return as_utc(value)


class User(db.Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(300))
    roles: Mapped[list] = mapped_column(JSON, default=list)
    teams: Mapped[list] = mapped_column(JSON, default=list)
    token_hash: Mapped[str | None] = mapped_column(String(128), index=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Bumped at sign-out: a session cookie carries the generation it was signed in under, so a copy saved
    # before the sign-out no longer works.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def has_role(self, *roles: str) -> bool:
        return bool(set(self.roles or []) & set(roles))

    # Flask-Login protocol
    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return str(self.id)


class Definition(db.Model):
    __tablename__ = "definitions"
    __table_args__ = (UniqueConstraint("process_id", "version"), UniqueConstraint("process_id", "sha256"))
    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    bpmn_xml: Mapped[str] = mapped_column(Text)
    forms: Mapped[dict] = mapped_column(JSON, default=dict)
    deployed_by: Mapped[str | None] = mapped_column(String(80))
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Instance(db.Model):
    __tablename__ = "instances"
    __table_args__ = (
        # The timer sweep's range scan: running instances in due order, so an idle sweep reads one index entry.
        Index("ix_instances_status_next_timer", "status", "next_timer_at"),
        # The Cases page reads newest first by keyset, within a process, a status or a team when filtered.
        Index("ix_instances_order", "created_at", "id"),
        Index("ix_instances_process_order", "process_id", "created_at", "id"),
        Index("ix_instances_status_order", "status", "created_at", "id"),
        Index("ix_instances_process_status_order", "process_id", "status", "created_at", "id"),
        Index("ix_instances_team_order", "team", "created_at", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("definitions.id"))
    process_id: Mapped[str] = mapped_column(String(100), index=True)
    case_ref: Mapped[str] = mapped_column(String(100), index=True)
    # The case reference casefolded, so a search finds "mos-12" as "MOS-12" from an index.
    case_key: Mapped[str | None] = mapped_column(String(100), index=True)
    # The team or hub the start form gave, so cases can be filtered and counted by team.
    team: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="running")
    outcome: Mapped[str | None] = mapped_column(String(100))
    flags: Mapped[dict] = mapped_column(JSON, default=dict)
    facts: Mapped[dict] = mapped_column(JSON, default=dict)
    # The case record (engine/caserecord.py): every value the case's steps have set, kept at every save.
    case_data: Mapped[dict] = mapped_column(JSON, default=dict)
    serialized: Mapped[str] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    next_timer_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    started_by: Mapped[str | None] = mapped_column(String(80))
    participants: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class InstanceChild(db.Model):
    """One row per child named in an instance's start data, so a family's instances are found across the
    case systems' references (engine.family)."""

    __tablename__ = "instance_children"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    child_id: Mapped[str] = mapped_column(String(64), index=True)
    name_dob_key: Mapped[str | None] = mapped_column(String(220), index=True)
    name_key: Mapped[str | None] = mapped_column(String(200), index=True)  # family.name_key: the Cases search
    name: Mapped[str] = mapped_column(String(200))
    dob: Mapped[str | None] = mapped_column(String(10))


class HumanTask(db.Model):
    """One row per READY user task, rewritten at every save; the worklist reads only this table."""

    __tablename__ = "human_tasks"
    __table_args__ = (
        # Keyset pagination of the worklist reads these in order: soonest due, then oldest, then id.
        Index("ix_human_tasks_open_order", "state", "due_at", "created_at", "id"),
        Index("ix_human_tasks_open_lane_order", "state", "lane", "due_at", "created_at", "id"),
        Index("ix_human_tasks_open_assignee", "state", "assignee"),
        Index("ix_human_tasks_process_state_step", "process_id", "state", "bpmn_id", "instance_id"),
        Index("ix_human_tasks_process_state_due", "process_id", "state", "due_at"),
        Index("ix_human_tasks_open_claimed", "state", "claimed_by"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(100))
    case_ref: Mapped[str] = mapped_column(String(100), index=True)
    bpmn_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    lane: Mapped[str | None] = mapped_column(String(50))
    also_admits: Mapped[list] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(20), default="open")
    assignee: Mapped[str | None] = mapped_column(String(80))
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_by: Mapped[str | None] = mapped_column(String(80))


class SignInThrottle(db.Model):
    """Failed sign-ins counted per key ("pair:<user> <address>", "address:<address>", "account:<user>") in a
    window, with the back-off they earned: in the database, so every worker shares it and a restart keeps it."""

    __tablename__ = "sign_in_throttle"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started: Mapped[datetime] = mapped_column(UTCDateTime())
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Event(db.Model):
    """Append-only history: who did what to which case, and when."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_type_at", "type", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instances.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    type: Mapped[str] = mapped_column(String(50), index=True)
    actor: Mapped[str | None] = mapped_column(String(80))
    bpmn_id: Mapped[str | None] = mapped_column(String(100))
    task_id: Mapped[str | None] = mapped_column(String(36))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class Notification(db.Model):
    """The outbox: written in the step's transaction, one row per recipient, never sent twice."""

    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("source_key", "recipient"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instances.id"), index=True)
    source_key: Mapped[str] = mapped_column(String(100))
    recipient: Mapped[str] = mapped_column(String(80), index=True)
    template: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    email_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # One sender's lease on the e-mail: others leave it alone until then, and resend it after if it is unsent.
    email_claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ServiceCall(db.Model):
    """Idempotency ledger: one row per execution of a service task (its task uuid)."""

    __tablename__ = "service_calls"
    task_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    operator: Mapped[str] = mapped_column(String(50))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    result: Mapped[dict] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
