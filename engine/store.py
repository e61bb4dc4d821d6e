"""Loading and saving an instance: the blob, its worklist rows, its timers and its history, in one
transaction guarded by the instance's revision."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import insert, select, update
from sqlalchemy.orm.attributes import set_committed_value

from engine import caserecord, serialization
from engine.calendar import last_day_allowed, local_iso
from engine.definitions import definition_by_id, parsed_definition
from engine.errors import Conflict
from engine.models import Definition, Event, HumanTask, Instance, db, utcnow
from engine.services import StepContext
from engine.settings import get_settings
from engine.workflow import (
    AppScriptEngine,
    WaitingTimer,
    also_admits,
    is_timer,
    next_timer_at,
    outcome,
    ready_human_tasks,
    task_assignee,
    task_due_at,
    timer_due,
    waiting_timer,
    waiting_timers,
)


@dataclass
class Loaded:
    instance: Instance
    workflow: BpmnWorkflow
    ctx: StepContext
    revision: int
    timers_before: list[WaitingTimer]
    timer_ids: set[str]
    definition: Definition
    # Tasks already in the case record when the instance was loaded (engine/caserecord.py).
    seen: caserecord.Seen = field(default_factory=dict)


def definition_of(instance: Instance) -> Definition:
    return definition_by_id(instance.definition_id)


def attach(instance: Instance, workflow: BpmnWorkflow, actor: str | None) -> StepContext:
    ctx = StepContext(instance, actor)
    workflow.script_engine = AppScriptEngine(ctx)
    return ctx


def lock(instance_id: int) -> Instance:
    """Hold the row until commit (PostgreSQL), so a second saver waits and then sees the first one's result."""
    return db.session.execute(
        select(Instance).where(Instance.id == instance_id).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


def load(instance: Instance | int, actor: str | None) -> Loaded:
    """Deserialize and let due timers fire before anything else happens (a user must not beat a breach)."""
    instance = lock(instance if isinstance(instance, int) else instance.id)
    definition = definition_of(instance)
    workflow = serialization.loads(instance.serialized, parsed_definition(definition))
    ctx = attach(instance, workflow, actor)
    loaded = Loaded(instance, workflow, ctx, instance.revision, waiting_timers(workflow), timer_ids(workflow),
                    definition, caserecord.seen_tasks(workflow))
    workflow.refresh_timers()
    record_fired_timers(loaded)
    workflow.do_engine_steps()
    return loaded


def fire_passed_timers(workflow: BpmnWorkflow) -> None:
    """A timer armed with an instant already past (a deadline that ran out before its step opened) fires
    before the save, not at the next sweep; firing one can arm another, hence the bounded loop."""
    for _ in range(10):
        due = next_timer_at(workflow)
        if due is None or due >= utcnow():
            return
        workflow.refresh_timers()
        workflow.do_engine_steps()


def save(loaded: Loaded, completed: dict[str, tuple[str, Any]] | None = None) -> None:
    instance, workflow = loaded.instance, loaded.workflow
    fire_passed_timers(workflow)
    record_rearmed_timers(loaded)
    status = "completed" if workflow.is_completed() else "running"
    record = caserecord.updated(instance.case_data, workflow, loaded.seen)
    written = {"serialized": serialization.dumps(workflow), "revision": loaded.revision + 1, "status": status,
               "outcome": outcome(workflow) if status == "completed" else None,
               "next_timer_at": next_timer_at(workflow), "updated_at": utcnow(), "flags": dict(instance.flags or {}),
               "facts": case_facts(record) if status == "completed" else {}, "case_data": record,
               "participants": list(instance.participants or [])}
    with db.session.no_autoflush:  # the UPDATE writes the instance's pending changes itself
        result = db.session.execute(
            update(Instance).where(Instance.id == instance.id, Instance.revision == loaded.revision)
            .values(**written).execution_options(synchronize_session=False)
        )
    if result.rowcount != 1:
        db.session.rollback()
        raise Conflict("This case was changed by someone else at the same time. Reload and try again.")
    # What the UPDATE wrote is the row's state now: the ORM must not write it again at the flush.
    keep_saved_values(instance, written)
    saved = {c.key: getattr(instance, c.key) for c in Instance.__table__.columns}
    sync_human_tasks(loaded, completed or {})
    write_history(loaded)
    db.session.commit()
    keep_saved_values(instance, saved)


def keep_saved_values(instance: Instance, values: dict[str, Any]) -> None:
    """Set an instance's attributes to what the database holds, without reading it back or marking them
    changed (a commit expires every attribute; reading one would select the row again)."""
    for key, value in values.items():
        set_committed_value(instance, key, value)


def case_facts(data: dict) -> dict:
    """What a finished instance tells later processes of the same case (settings: case_facts)."""
    return {key: data[key] for key in get_settings().get("case_facts", []) if data.get(key) is not None}


def record_fired_timers(loaded: Loaded) -> None:
    """Timers that were waiting at load and are due now: the sweep's (or a user's) firing, with its lateness."""
    now = utcnow()
    for timer in loaded.timers_before:
        task = loaded.workflow.get_task_from_id(UUID(timer.task_id))
        if task is None or task.state not in (TaskState.READY, TaskState.COMPLETED):
            continue
        record_firing(loaded, timer, round((now - timer.due_at).total_seconds(), 3), now)


def record_rearmed_timers(loaded: Loaded) -> None:
    """Timers armed and fired within this request: a step opened (or re-entered) after its deadline had
    passed. They fire the moment they are armed, so no sweep was late: their lateness is 0."""
    now = utcnow()
    for task in loaded.workflow.get_tasks(state=TaskState.COMPLETED):
        if is_timer(task) and str(task.id) not in loaded.timer_ids and timer_due(task) is not None:
            record_firing(loaded, waiting_timer(task), 0.0, now, armed_after_due=True)


def record_firing(loaded: Loaded, timer: WaitingTimer, lateness: float, now: datetime, **extra: Any) -> None:
    loaded.ctx.record("timer_fired", timer.bpmn_id, timer.task_id, due=local_iso(timer.due_at),
                      lateness_seconds=lateness, **extra)
    record_breach(loaded, timer, now)


def record_breach(loaded: Loaded, timer: WaitingTimer, now: datetime) -> None:
    """Every breach of every timer is kept: flags hold a list per timescale, one entry per firing."""
    if not timer.timescale:
        return
    breach = {"timer": timer.bpmn_id, "due": last_day_allowed(timer.due_at), "breach_at": local_iso(timer.due_at),
              "recorded_at": local_iso(now), "task": timer.guards}
    loaded.ctx.record("deadline_breached", timer.bpmn_id, timer.task_id, timescale=timer.timescale,
                      **{k: v for k, v in breach.items() if k != "timer"})
    flags = dict(loaded.instance.flags or {})
    flags[timer.timescale] = [*flags.get(timer.timescale, []), breach]
    loaded.instance.flags = flags


def timer_ids(workflow: BpmnWorkflow) -> set[str]:
    """Timers already armed (waiting) or fired at load; one only predicted then is armed in this request."""
    armed = TaskState.WAITING | TaskState.COMPLETED
    return {str(task.id) for task in workflow.get_tasks(state=armed) if is_timer(task)}


def sync_human_tasks(loaded: Loaded, completed: dict[str, tuple[str, Any]]) -> None:
    """Rewrite the instance's worklist rows from the workflow: new READY tasks in, finished ones out."""
    instance, workflow = loaded.instance, loaded.workflow
    ready = {str(t.id): t for t in ready_human_tasks(workflow)}
    rows = db.session.execute(
        db.select(HumanTask).filter_by(instance_id=instance.id, state="open")
    ).scalars().all()
    for row in rows:
        if row.id in ready:
            refresh_row(row, ready.pop(row.id))
        elif row.id in completed:
            row.state, row.completed_by, row.completed_at = "completed", completed[row.id][0], utcnow()
        else:
            row.state, row.completed_at = "cancelled", utcnow()
    for task_id, task in ready.items():
        db.session.add(new_row(instance, task_id, task))
        remember(instance, task_assignee(task))


def new_row(instance: Instance, task_id: str, task: Task) -> HumanTask:
    spec = task.task_spec
    return HumanTask(
        id=task_id, instance_id=instance.id, process_id=instance.process_id, case_ref=instance.case_ref,
        bpmn_id=spec.bpmn_id, name=spec.bpmn_name or spec.bpmn_id, lane=spec.lane,
        also_admits=also_admits(task), assignee=task_assignee(task), due_at=task_due_at(task),
        created_at=utcnow(),
    )


def refresh_row(row: HumanTask, task: Task) -> None:
    # A case moved to a new version (engine/migration.py) may have its step renamed or put in another lane.
    spec = task.task_spec
    row.name, row.lane, row.also_admits = spec.bpmn_name or spec.bpmn_id, spec.lane, also_admits(task)
    # A fired non-interrupting timer (a breach, a reminder) leaves its task open and overdue: once the
    # due time has passed it stays, even if a later timer (a grace period) still guards the task.
    if row.due_at is None or row.due_at > utcnow():
        row.due_at = task_due_at(task) or row.due_at
    assignee = task_assignee(task)
    if assignee != row.assignee and row.claimed_by is None:
        row.assignee = assignee


def remember(instance: Instance, username: str | None) -> None:
    if username and username not in (instance.participants or []):
        instance.participants = [*(instance.participants or []), username]


def write_history(loaded: Loaded) -> None:
    """One statement for the whole step's history, however many events it has."""
    rows = [{"instance_id": loaded.instance.id, "at": utcnow(), "type": item["type"], "actor": loaded.ctx.actor,
             "bpmn_id": item.get("bpmn_id"), "task_id": item.get("task_id"), "detail": item.get("detail") or {}}
            for item in loaded.ctx.history]
    if rows:
        db.session.execute(insert(Event.__table__), rows)
    loaded.ctx.history.clear()
