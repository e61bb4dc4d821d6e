"""Reading one case from the database: its rows, its open steps, and whether its rows agree with its blob."""
from __future__ import annotations

from flask import Flask
from sqlalchemy import Table, select

from bench.errors import BenchError
from engine import serialization
from engine.definitions import parsed_definition
from engine.models import Definition, Event, HumanTask, Instance, Notification, ServiceCall, db
from engine.workflow import ready_human_tasks

# Everything that belongs to one case, instance first so its id exists before the rows that point at it.
TABLES: tuple[Table, ...] = tuple(m.__table__ for m in (Instance, HumanTask, Event, Notification, ServiceCall))


def rows_of(app: Flask, instance_id: int) -> dict[str, list[dict]]:
    with app.app_context():
        rows = {}
        for table in TABLES:
            key = table.c.id if table.name == "instances" else table.c.instance_id
            query = select(table).where(key == instance_id).order_by(*table.primary_key.columns)
            rows[table.name] = [dict(row) for row in db.session.execute(query).mappings()]
        db.session.rollback()
        return rows


def open_steps(app: Flask, instance_id: int) -> tuple[str, ...]:
    with app.app_context():
        steps = db.session.execute(select(HumanTask.bpmn_id).where(
            HumanTask.instance_id == instance_id, HumanTask.state == "open")).scalars().all()
        db.session.rollback()
        return tuple(sorted(steps))


def open_task(app: Flask, instance_id: int, step: str) -> str:
    with app.app_context():
        task_id = db.session.execute(select(HumanTask.id).where(
            HumanTask.instance_id == instance_id, HumanTask.state == "open", HumanTask.bpmn_id == step)
        ).scalar_one_or_none()
        db.session.rollback()
    if task_id is None:
        raise BenchError(f"instance {instance_id} is not waiting at {step}")
    return task_id


def status_of(app: Flask, instance_id: int) -> str:
    with app.app_context():
        status = db.session.get(Instance, instance_id).status
        db.session.rollback()
        return status


def check_consistent(app: Flask, instance_id: int) -> None:
    """The worklist rows must be exactly the blob's READY user tasks, under the same task ids."""
    with app.app_context():
        instance = db.session.get(Instance, instance_id)
        parsed = parsed_definition(db.session.get(Definition, instance.definition_id))
        ready = {str(task.id) for task in ready_human_tasks(serialization.loads(instance.serialized, parsed))}
        rows = set(db.session.execute(select(HumanTask.id).where(
            HumanTask.instance_id == instance_id, HumanTask.state == "open")).scalars())
        db.session.rollback()
    if ready != rows:
        raise BenchError(f"instance {instance_id}: blob READY tasks {sorted(ready)} but open rows {sorted(rows)}")
