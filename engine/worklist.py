"""Worklist queries. They read only the human-task table, so they cost the same whatever the case count.

Pages are cut by keyset (the last row's sort key), never by OFFSET: an OFFSET query reads and throws away
every row before the page, so page 4,000 of 100,000 open tasks would cost 4,000 times page 1.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, Select, case, func, literal, or_, select, tuple_

from engine.access import Actor, visible_roles
from engine.models import HumanTask, UTCDateTime, utcnow

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Cursor:
    """A row's place in the worklist order: soonest due first, no deadline last, then oldest, then id."""

    due_at: datetime | None
    created_at: datetime
    id: str

    @classmethod
    def of(cls, task: HumanTask) -> Cursor:
        return cls(task.due_at, task.created_at, task.id)

    def token(self) -> str:
        due = str(micros(self.due_at)) if self.due_at else "n"
        return f"{due}.{micros(self.created_at)}.{self.id}"

    @classmethod
    def parse(cls, token: str | None) -> Cursor | None:
        """A cursor from a URL; anything malformed means 'from the start'."""
        try:
            due, created, task_id = (token or "").split(".", 2)
            return cls(None if due == "n" else from_micros(int(due)), from_micros(int(created)), task_id)
        except (ValueError, OverflowError):
            return None


def micros(value: datetime) -> int:
    # Integer microseconds, so a cursor round-trips exactly (a float timestamp would not).
    return (value - EPOCH) // timedelta(microseconds=1)


def from_micros(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


@dataclass(frozen=True)
class Filters:
    mine: bool = False
    lane: str | None = None
    overdue: bool = False
    case_ref: str | None = None
    instance_id: int | None = None
    page: int = 1
    per_page: int = 50
    after: Cursor | None = None
    before: Cursor | None = None


@dataclass(frozen=True)
class Window:
    """One page of tasks, and the cursors that fetch the pages either side (None at either end)."""

    tasks: list[HumanTask]
    next: Cursor | None
    previous: Cursor | None


def visible(actor: Actor) -> Select:
    query = select(HumanTask).where(HumanTask.state == "open")
    if actor.oversees:
        return query
    lanes = sorted(visible_roles(actor))
    return query.where(or_(HumanTask.lane.in_(lanes), HumanTask.assignee == actor.username,
                           HumanTask.claimed_by == actor.username))


def case_ref_spellings(typed: str) -> set[str]:
    """A case reference as typed and in the letter cases references are written in ("mos-77" finds "MOS-77"),
    so the search ignores case and still reads the case reference's index."""
    return {typed, typed.upper(), typed.lower(), typed.capitalize()}


def filtered(actor: Actor, f: Filters) -> Select:
    query = visible(actor)
    if f.mine:
        query = query.where(or_(HumanTask.claimed_by == actor.username,
                                (HumanTask.assignee == actor.username) & HumanTask.claimed_by.is_(None)))
    if f.lane:
        query = query.where(HumanTask.lane == f.lane)
    if f.overdue:
        query = query.where(HumanTask.due_at < utcnow())
    if f.case_ref:
        query = query.where(HumanTask.case_ref.in_(case_ref_spellings(f.case_ref)))
    if f.instance_id:
        query = query.where(HumanTask.instance_id == f.instance_id)
    return query


def instant(value: datetime) -> ColumnElement:
    # Typed, so SQLite gets the same naive-UTC text the column holds.
    return literal(value, UTCDateTime())


def key_after(c: Cursor, with_due: bool) -> ColumnElement[bool]:
    if with_due:
        return tuple_(HumanTask.due_at, HumanTask.created_at, HumanTask.id) > tuple_(
            instant(c.due_at), instant(c.created_at), literal(c.id))
    return tuple_(HumanTask.created_at, HumanTask.id) > tuple_(instant(c.created_at), literal(c.id))


def key_before(c: Cursor, with_due: bool) -> ColumnElement[bool]:
    if with_due:
        return tuple_(HumanTask.due_at, HumanTask.created_at, HumanTask.id) < tuple_(
            instant(c.due_at), instant(c.created_at), literal(c.id))
    return tuple_(HumanTask.created_at, HumanTask.id) < tuple_(instant(c.created_at), literal(c.id))


def forward(session, query: Select, after: Cursor | None, limit: int) -> list[HumanTask]:
    """Rows after the cursor in worklist order. The dated and undated rows are read as two index range
    scans, because 'ORDER BY due_at IS NULL' cannot be read from an index and would sort every open task."""
    rows: list[HumanTask] = []
    if after is None or after.due_at is not None:
        dated = query.where(HumanTask.due_at.is_not(None))
        if after is not None:
            dated = dated.where(key_after(after, with_due=True))
        order = (HumanTask.due_at, HumanTask.created_at, HumanTask.id)
        rows += session.execute(dated.order_by(*order).limit(limit)).scalars().all()
    if len(rows) < limit:
        undated = query.where(HumanTask.due_at.is_(None))
        if after is not None and after.due_at is None:
            undated = undated.where(key_after(after, with_due=False))
        order = (HumanTask.created_at, HumanTask.id)
        rows += session.execute(undated.order_by(*order).limit(limit - len(rows))).scalars().all()
    return rows


def backward(session, query: Select, before: Cursor, limit: int) -> list[HumanTask]:
    """Rows before the cursor, nearest first (the caller reverses them)."""
    rows: list[HumanTask] = []
    if before.due_at is None:
        undated = query.where(HumanTask.due_at.is_(None), key_before(before, with_due=False))
        order = (HumanTask.created_at.desc(), HumanTask.id.desc())
        rows += session.execute(undated.order_by(*order).limit(limit)).scalars().all()
    if len(rows) < limit:
        dated = query.where(HumanTask.due_at.is_not(None))
        if before.due_at is not None:
            dated = dated.where(key_before(before, with_due=True))
        order = (HumanTask.due_at.desc(), HumanTask.created_at.desc(), HumanTask.id.desc())
        rows += session.execute(dated.order_by(*order).limit(limit - len(rows))).scalars().all()
    return rows


def window(session, actor: Actor, f: Filters) -> Window:
    """One page of the worklist after f.after, or before f.before, or from the start."""
    query, size = filtered(actor, f), max(f.per_page, 1)
    if f.before is not None:
        rows = backward(session, query, f.before, size + 1)
        if len(rows) <= size:
            # Back at the start: show a full first page rather than the few rows left before the cursor.
            return window(session, actor, replace(f, before=None, after=None))
        tasks = list(reversed(rows[:size]))
        return Window(tasks, Cursor.of(tasks[-1]), Cursor.of(tasks[0]))
    rows = forward(session, query, f.after, size + 1)
    tasks = rows[:size]
    more = len(rows) > size
    return Window(tasks, Cursor.of(tasks[-1]) if more else None,
                  Cursor.of(tasks[0]) if f.after is not None and tasks else None)


def page(session, actor: Actor, f: Filters) -> list[HumanTask]:
    """The tasks of page f.page (numbered pages, kept for API clients), or of the window a cursor gives."""
    if f.after is not None or f.before is not None or f.page <= 1:
        return window(session, actor, f).tasks
    # Numbered pages past the first still use OFFSET; clients that walk far should pass a cursor.
    order = (HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.created_at, HumanTask.id)
    query = filtered(actor, f).order_by(*order).limit(f.per_page).offset((f.page - 1) * f.per_page)
    return list(session.execute(query).scalars())


@dataclass(frozen=True)
class LaneCount:
    open: int
    overdue: int


def lane_counts(session, actor: Actor) -> dict[str, LaneCount]:
    """Open and overdue tasks per lane this actor sees, read from the (state, lane, due_at) index alone."""
    overdue = func.sum(case((HumanTask.due_at < instant(utcnow()), 1), else_=0))
    query = select(HumanTask.lane, func.count(), overdue).where(HumanTask.state == "open")
    if not actor.oversees:
        # One IN range per lane; an OR with assignee/claimed_by here would scan every open task.
        query = query.where(HumanTask.lane.in_(sorted(visible_roles(actor))))
    counts = {lane or "": LaneCount(count, int(late or 0))
              for lane, count, late in session.execute(query.group_by(HumanTask.lane)).all()}
    if not actor.oversees:
        add_offered_elsewhere(session, actor, counts)
    return counts


def add_offered_elsewhere(session, actor: Actor, counts: dict[str, LaneCount]) -> None:
    """Tasks outside the actor's lanes that are offered to or claimed by them (a few, by two indexes)."""
    lanes, now, seen = visible_roles(actor), utcnow(), set()
    for column in (HumanTask.assignee, HumanTask.claimed_by):
        rows = session.execute(select(HumanTask.id, HumanTask.lane, HumanTask.due_at).where(
            HumanTask.state == "open", column == actor.username)).all()
        for task_id, lane, due_at in rows:
            if (lane or "") in lanes or task_id in seen:
                continue
            seen.add(task_id)
            before = counts.get(lane or "", LaneCount(0, 0))
            counts[lane or ""] = LaneCount(before.open + 1, before.overdue + int(bool(due_at and due_at < now)))


def counts_by_lane(session, actor: Actor) -> dict[str, int]:
    return {lane: count.open for lane, count in lane_counts(session, actor).items()}


def total_overdue(counts: dict[str, LaneCount]) -> int:
    return sum(count.overdue for count in counts.values())

