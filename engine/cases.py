"""Finding cases: every instance a manager may see, searched by case reference or child's name and filtered by
process, status, step, lane, overdue and team, newest first, a keyset page at a time.

Like the worklist, pages are cut by the last row's sort key (created_at, id), never by OFFSET, and the plain
and process/status/team listings read an index in that order, so page 4,000 costs what page 1 does.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, literal, select, tuple_, union

from engine.access import Actor, visible_roles
from engine.family import name_key
from engine.models import HumanTask, Instance, InstanceChild, UTCDateTime, utcnow
from engine.worklist import from_micros, micros

NO_TEAM = "no team recorded"  # the dashboard's word for a case whose start form gave no team or hub
STATUSES = ("running", "completed", "cancelled", "error")


def team_of(data: Any) -> str | None:
    """The team a case belongs to: the start form's `team`, else its `hub` (the dashboard's rule)."""
    if not isinstance(data, dict):
        return None
    for name in ("team", "hub"):
        value = data.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()[:100]
    return None


def case_key(case_ref: Any) -> str | None:
    return case_ref.strip().casefold()[:100] if isinstance(case_ref, str) and case_ref.strip() else None


@dataclass(frozen=True)
class CaseCursor:
    """A row's place in the Cases order: newest first, then the higher id."""

    created_at: datetime
    id: int

    @classmethod
    def of(cls, instance: Instance) -> CaseCursor:
        return cls(instance.created_at, instance.id)

    def token(self) -> str:
        return f"{micros(self.created_at)}.{self.id}"

    @classmethod
    def parse(cls, token: str | None) -> CaseCursor | None:
        """A cursor from a URL; anything malformed means 'from the start'."""
        try:
            created, instance_id = (token or "").split(".", 1)
            return cls(from_micros(int(created)), int(instance_id))
        except (ValueError, OverflowError):
            return None


@dataclass(frozen=True)
class CaseFilters:
    search: str | None = None
    process: str | None = None
    status: str | None = None
    step: str | None = None
    lane: str | None = None
    overdue: bool = False
    team: str | None = None
    per_page: int = 25
    after: CaseCursor | None = None
    before: CaseCursor | None = None


@dataclass(frozen=True)
class CasePage:
    cases: list[Instance]
    next: CaseCursor | None
    previous: CaseCursor | None


def open_task_filter(actor: Actor, f: CaseFilters) -> ColumnElement[bool] | None:
    """The instances with an open task that meets the step, lane and overdue filters and lies in a lane the
    actor sees (everyone's, for oversight roles): one subquery, so the filters apply to the same task."""
    conditions = []
    if f.step:
        conditions.append(HumanTask.bpmn_id == f.step)
    if f.lane:
        conditions.append(HumanTask.lane == f.lane)
    if f.overdue:
        conditions.append(HumanTask.due_at < literal(utcnow(), UTCDateTime()))
    if not actor.oversees:
        conditions.append(HumanTask.lane.in_(sorted(visible_roles(actor))))
    if not conditions:
        return None
    tasks = select(HumanTask.instance_id).where(HumanTask.state == "open", *conditions)
    if f.process:
        tasks = tasks.where(HumanTask.process_id == f.process)
    return Instance.id.in_(tasks)


def search_filter(search: str) -> ColumnElement[bool]:
    """A case reference in any case, or a child's full name however accented or punctuated."""
    ids = [select(Instance.id).where(Instance.case_key == case_key(search))]
    if key := name_key(search):
        ids.append(select(InstanceChild.instance_id).where(InstanceChild.name_key == key))
    return Instance.id.in_(union(*ids))


def filtered(actor: Actor, f: CaseFilters) -> Select:
    query = select(Instance)
    if f.search:
        query = query.where(search_filter(f.search))
    if f.process:
        query = query.where(Instance.process_id == f.process)
    if f.status:
        query = query.where(Instance.status == f.status)
    if f.team:
        query = query.where(Instance.team.is_(None) if f.team == NO_TEAM else Instance.team == f.team)
    if (tasks := open_task_filter(actor, f)) is not None:
        query = query.where(tasks)
    return query


def key_of(c: CaseCursor) -> ColumnElement:
    return tuple_(literal(c.created_at, UTCDateTime()), literal(c.id))


def page(session, actor: Actor, f: CaseFilters) -> CasePage:
    """One page of cases after f.after, or before f.before, or from the newest."""
    query, size, order = filtered(actor, f), max(f.per_page, 1), tuple_(Instance.created_at, Instance.id)
    if f.before is not None:
        rows = session.execute(query.where(order > key_of(f.before))
                               .order_by(Instance.created_at, Instance.id).limit(size + 1)).scalars().all()
        if len(rows) <= size:
            # Back at the start: a full first page rather than the few rows left before the cursor.
            return page(session, actor, replace(f, before=None, after=None))
        cases = list(reversed(rows[:size]))
        return CasePage(cases, CaseCursor.of(cases[-1]), CaseCursor.of(cases[0]))
    if f.after is not None:
        query = query.where(order < key_of(f.after))
    rows = session.execute(query.order_by(Instance.created_at.desc(), Instance.id.desc())
                           .limit(size + 1)).scalars().all()
    cases = rows[:size]
    return CasePage(cases, CaseCursor.of(cases[-1]) if len(rows) > size else None,
                    CaseCursor.of(cases[0]) if f.after is not None and cases else None)


def open_steps(session, instance_ids: list[int]) -> dict[int, list[HumanTask]]:
    """The open tasks of a page of cases, by instance (one query on the instance index)."""
    steps: dict[int, list[HumanTask]] = {i: [] for i in instance_ids}
    if instance_ids:
        rows = session.execute(select(HumanTask).where(HumanTask.instance_id.in_(instance_ids),
                                                       HumanTask.state == "open")
                               .order_by(HumanTask.created_at)).scalars()
        for task in rows:
            steps[task.instance_id].append(task)
    return steps


def teams(session) -> list[str]:
    """The teams cases were started for, for the team filter (read from the team index)."""
    rows = session.execute(select(func.distinct(Instance.team)).where(Instance.team.is_not(None))).scalars()
    return sorted(rows)


def has_cases(session, process_id: str, status: str | None = None) -> bool:
    query = select(Instance.id).where(Instance.process_id == process_id)
    if status:
        query = query.where(Instance.status == status)
    return session.execute(query.limit(1)).first() is not None

