"""Worklist queries. They read only the human-task table, so they cost the same whatever the case count."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, or_, select

from engine.access import Actor, visible_roles
from engine.models import HumanTask, utcnow


@dataclass(frozen=True)
class Filters:
    mine: bool = False
    lane: str | None = None
    overdue: bool = False
    case_ref: str | None = None
    instance_id: int | None = None
    page: int = 1
    per_page: int = 50


def visible(actor: Actor) -> Select:
    query = select(HumanTask).where(HumanTask.state == "open")
    if actor.oversees:
        return query
    lanes = sorted(visible_roles(actor))
    return query.where(or_(HumanTask.lane.in_(lanes), HumanTask.assignee == actor.username,
                           HumanTask.claimed_by == actor.username))


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
        query = query.where(HumanTask.case_ref == f.case_ref)
    if f.instance_id:
        query = query.where(HumanTask.instance_id == f.instance_id)
    return query


def page(session, actor: Actor, f: Filters) -> list[HumanTask]:
    # Soonest due first; tasks with no deadline after them, oldest first.
    query = filtered(actor, f).order_by(HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.created_at,
                                        HumanTask.id)
    return list(session.execute(query.limit(f.per_page).offset((max(f.page, 1) - 1) * f.per_page)).scalars())


def counts_by_lane(session, actor: Actor) -> dict[str, int]:
    sub = visible(actor).subquery()
    rows = session.execute(select(sub.c.lane, func.count()).group_by(sub.c.lane)).all()
    return {lane or "": count for lane, count in rows}
