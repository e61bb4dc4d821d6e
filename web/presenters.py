"""How tasks and instances look to the API and the pages: plain dicts, one shape for both."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from engine import serialization
from engine.access import Actor
from engine.definitions import parsed_definition
from engine.models import Definition, Event, HumanTask, Instance, db, utcnow
from engine.workflow import case_data, waiting_timers


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def task_json(task: HumanTask) -> dict[str, Any]:
    now = utcnow()
    return {
        "task_id": task.id, "instance_id": task.instance_id, "process": task.process_id,
        "case_ref": task.case_ref, "bpmn_id": task.bpmn_id, "name": task.name, "lane": task.lane,
        "assignee": task.assignee, "claimed_by": task.claimed_by, "state": task.state,
        "waiting_since": iso(task.created_at), "due_at": iso(task.due_at),
        "overdue": bool(task.state == "open" and task.due_at and task.due_at < now),
        "completed_by": task.completed_by, "completed_at": iso(task.completed_at),
    }


def instance_summary(instance: Instance) -> dict[str, Any]:
    return {"id": instance.id, "process": instance.process_id, "case_ref": instance.case_ref,
            "status": instance.status, "outcome": instance.outcome, "created_at": iso(instance.created_at),
            "updated_at": iso(instance.updated_at), "flags": instance.flags or {}}


def history(instance: Instance) -> list[dict[str, Any]]:
    rows = db.session.execute(db.select(Event).filter_by(instance_id=instance.id).order_by(Event.id)).scalars()
    return [{"at": iso(e.at), "type": e.type, "actor": e.actor, "bpmn_id": e.bpmn_id, "task_id": e.task_id,
             "detail": e.detail} for e in rows]


def current_steps(instance: Instance) -> list[dict[str, Any]]:
    rows = db.session.execute(
        db.select(HumanTask).filter_by(instance_id=instance.id, state="open").order_by(HumanTask.created_at)
    ).scalars()
    return [task_json(t) for t in rows]


def instance_detail(instance: Instance, actor: Actor, record_view: bool = False) -> dict[str, Any]:
    definition = db.session.get(Definition, instance.definition_id)
    workflow = serialization.loads(instance.serialized, parsed_definition(definition))
    if record_view:
        # Who looked at which child's record, and when, is part of the audit trail.
        db.session.add(Event(instance_id=instance.id, at=utcnow(), type="case_viewed", actor=actor.username))
        db.session.commit()
    return {
        **instance_summary(instance), "version": definition.version,
        "current_steps": current_steps(instance),
        "waiting_timers": [{"bpmn_id": t.bpmn_id, "name": t.name, "due_at": iso(t.due_at), "guards": t.guards,
                            "timescale": t.timescale} for t in waiting_timers(workflow)],
        "data": case_data(workflow),
        "history": history(instance),
    }
