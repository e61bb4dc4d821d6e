"""Reading a live SpiffWorkflow workflow: its human tasks, their due times, its timers and its outcome."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine import services
from engine.scripting import RestrictedEnvironment
from engine.services import StepContext

TIMER_TYPES = ("TimeDateEventDefinition", "DurationTimerEventDefinition", "CycleTimerEventDefinition")


class AppScriptEngine(PythonScriptEngine):
    """The restricted environment plus the service operators, bound to the step being run."""

    def __init__(self, ctx: StepContext) -> None:
        super().__init__(environment=RestrictedEnvironment())
        self.ctx = ctx

    def call_service(self, task: Task, operation_name: str, operation_params: dict, **kwargs) -> str:
        params = {name: spec["value"] for name, spec in operation_params.items()}
        result = services.call(self.ctx, str(task.id), task.task_spec.bpmn_id, operation_name, params)
        return json.dumps(result)


def properties(task_spec) -> dict:
    return (getattr(task_spec, "extensions", None) or {}).get("properties", {}) or {}


def is_timer(task: Task) -> bool:
    definition = getattr(task.task_spec, "event_definition", None)
    return isinstance(definition, TimerEventDefinition)


def timer_due(task: Task) -> datetime | None:
    value = task.internal_data.get("event_value")
    return TimerEventDefinition.get_datetime(value) if value else None


@dataclass(frozen=True)
class WaitingTimer:
    task_id: str
    bpmn_id: str
    name: str
    due_at: datetime
    timescale: str | None
    guards: str | None


def waiting_timer(task: Task) -> WaitingTimer:
    return WaitingTimer(str(task.id), task.task_spec.bpmn_id, task.task_spec.bpmn_name or task.task_spec.bpmn_id,
                        timer_due(task), properties(task.task_spec).get("timescale"), guarded_bpmn_id(task))


def waiting_timers(workflow: BpmnWorkflow) -> list[WaitingTimer]:
    timers = [waiting_timer(task) for task in list(workflow.event_manager.tasks.values())
              if is_timer(task) and task.state == TaskState.WAITING and timer_due(task) is not None]
    return sorted(timers, key=lambda t: t.due_at)


def guarded_bpmn_id(timer: Task) -> str | None:
    attached = getattr(timer.task_spec, "attached_to", None) or getattr(timer.task_spec, "host", None)
    if attached is not None:
        return getattr(attached, "bpmn_id", None)
    for sibling in timer.parent.children if timer.parent else []:
        if sibling is not timer and not is_timer(sibling) and sibling.task_spec.bpmn_id:
            return sibling.task_spec.bpmn_id
    return None


def next_timer_at(workflow: BpmnWorkflow) -> datetime | None:
    timers = waiting_timers(workflow)
    return timers[0].due_at if timers else None


def ready_human_tasks(workflow: BpmnWorkflow) -> list[Task]:
    return workflow.get_tasks(state=TaskState.READY, manual=True)


def task_due_at(task: Task) -> datetime | None:
    """The due time of a task is the earliest timer guarding it, waiting or already fired (a deadline that had
    passed when the task opened fires at once), so 'overdue' is the engine's breach instant."""
    siblings = task.parent.children if task.parent else []
    armed = TaskState.WAITING | TaskState.COMPLETED
    dues = [timer_due(s) for s in siblings if is_timer(s) and s.state & armed]
    dues = [d for d in dues if d is not None]
    return min(dues) if dues else None


def task_assignee(task: Task) -> str | None:
    variable = properties(task.task_spec).get("assignee")
    value = task.data.get(variable) if variable else None
    return value if isinstance(value, str) and value else None


def also_admits(task: Task) -> list[str]:
    value = properties(task.task_spec).get("also_admits") or ""
    return [role.strip() for role in value.split(",") if role.strip()]


def outcome(workflow: BpmnWorkflow) -> str | None:
    for task in workflow.tasks.values():
        if task.state == TaskState.COMPLETED and properties(task.task_spec).get("outcome"):
            return properties(task.task_spec)["outcome"]
    return workflow.data.get("outcome")


def visited(workflow: BpmnWorkflow) -> list[Task]:
    """Every task with a BPMN id that has run or is running, in this workflow and its sub-processes."""
    reached = TaskState.COMPLETED | TaskState.READY | TaskState.STARTED | TaskState.WAITING | TaskState.ERROR
    return [t for t in workflow.get_tasks(state=reached) if t.task_spec.bpmn_id]


def bpmn_parent(task: Task) -> Task | None:
    """The nearest ancestor that is a BPMN element (skipping the engine's own split and start tasks)."""
    parent = task.parent
    while parent is not None and not parent.task_spec.bpmn_id:
        parent = parent.parent
    return parent


def taken_pairs(workflow: BpmnWorkflow) -> set[tuple[str, str]]:
    """(source, target) for each step that followed another: the sequence flows this case has taken."""
    pairs = set()
    for task in visited(workflow):
        parent = bpmn_parent(task)
        if parent is not None and parent.state == TaskState.COMPLETED:
            pairs.add((parent.task_spec.bpmn_id, task.task_spec.bpmn_id))
    return pairs


def awaited_signals(workflow: BpmnWorkflow) -> list[str]:
    """The signals the case can take now (a change of circumstances is caught only inside its window)."""
    return sorted({event.name for event in workflow.waiting_events()
                   if event.event_type.endswith("SignalEventDefinition") and event.name})
