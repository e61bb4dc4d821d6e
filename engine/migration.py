"""Moving running cases to a newer version of their process, built on SpiffWorkflow's spec diff.

A case can move when every step it waits at (and every timer it waits for) exists in the target version and
no step it has been through was removed: a removed step would leave the saved case pointing at nothing.
The steps and timers it waits at are reset against the target version, so a renamed step shows its new name
and a timer is re-armed from its own expression (a deadline computed earlier keeps its instant).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.util.diff import WorkflowDiff, diff_workflow, migrate_workflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine import serialization
from engine.definitions import ParsedDefinition, parsed_definition
from engine.errors import Conflict, Invalid, NotFound
from engine.models import Definition, Instance, db
from engine.store import attach, definition_of, load, save
from engine.transactions import write_operation
from engine.versions import get_version
from engine.workflow import ready_human_tasks, task_due_at, waiting_timers

LIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR
# Tasks the engine has only predicted: dropped and predicted again when the branch above them is reset.
PREDICTED = TaskState.LIKELY | TaskState.MAYBE | TaskState.FUTURE


@dataclass
class DueChange:
    bpmn_id: str
    name: str
    before: datetime | None
    after: datetime | None


@dataclass
class MovePlan:
    """What moving one case would do; `reasons` says why it cannot move (empty when it can)."""

    instance_id: int
    case_ref: str
    revision: int
    from_version: int
    to_version: int
    waiting: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    reset: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    due: list[DueChange] = field(default_factory=list)

    @property
    def can_move(self) -> bool:
        return not self.reasons

    def as_dict(self) -> dict[str, Any]:
        return {"instance_id": self.instance_id, "case_ref": self.case_ref, "revision": self.revision,
                "from_version": self.from_version, "to_version": self.to_version, "can_move": self.can_move,
                "waiting": self.waiting, "reasons": self.reasons, "reset": self.reset, "dropped": self.dropped,
                "changed": self.changed,
                "due": [{"bpmn_id": d.bpmn_id, "name": d.name, "before": d.before, "after": d.after}
                        for d in self.due]}


def label(task: Task) -> str:
    spec = task.task_spec
    return f"{spec.bpmn_id} '{spec.bpmn_name}'" if spec.bpmn_name else spec.bpmn_id


def running_cases(process_id: str, target: Definition, case_ref: str | None = None) -> list[Instance]:
    """The running cases of a process that are on another version than the target."""
    query = (db.select(Instance).where(Instance.process_id == process_id, Instance.status == "running",
                                       Instance.definition_id != target.id).order_by(Instance.id))
    if case_ref:
        query = query.where(Instance.case_ref == case_ref)
    return list(db.session.execute(query).scalars())


def diffs(workflow: BpmnWorkflow, target: ParsedDefinition) -> tuple[WorkflowDiff, dict[Any, WorkflowDiff | None]]:
    return diff_workflow(serialization.SERIALIZER.registry, workflow, target.spec, target.subprocess_specs)


def removed_reasons(top: WorkflowDiff, subs: dict[Any, WorkflowDiff | None], workflow: BpmnWorkflow,
                    version: int) -> list[str]:
    reasons = []
    for sp_id, sub in subs.items():
        if sub is None:
            reasons.append(f"it is inside the sub-process {workflow.subprocesses[sp_id].spec.name}, "
                           f"which version {version} does not have")
    for diff in [top, *(s for s in subs.values() if s is not None)]:
        for task in diff.removed:
            if task.has_state(LIVE):
                reasons.append(f"it is waiting at {label(task)}, which version {version} does not have")
            elif not task.has_state(PREDICTED):
                reasons.append(f"it has been through {label(task)}, which version {version} does not have")
    return sorted(set(reasons))


def stray_reasons(workflow: BpmnWorkflow, target: ParsedDefinition, version: int) -> list[str]:
    """Any task still on a step of the old version after the move (a safety net behind removed_reasons)."""
    specs = [(workflow, target.spec)]
    specs += [(sp, target.subprocess_specs.get(sp.spec.name)) for sp in workflow.subprocesses.values()]
    reasons = []
    for flow, spec in specs:
        for task in flow.tasks.values():
            if spec is None or spec.task_specs.get(task.task_spec.name) is not task.task_spec:
                reasons.append(f"its step {label(task)} has no place in version {version}")
    return sorted(set(reasons))


def live_tasks(workflow: BpmnWorkflow) -> list[Task]:
    return [t for t in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING) if t.task_spec.bpmn_id]


def changed_names(top: WorkflowDiff, subs: dict[Any, WorkflowDiff | None]) -> list[str]:
    changed = []
    for diff in [top, *(s for s in subs.values() if s is not None)]:
        for task in diff.changed:
            if task.has_state(TaskState.READY | TaskState.WAITING) and task.task_spec.bpmn_id:
                new = diff.alignment.get(task)
                renamed = new is not None and new.bpmn_name != task.task_spec.bpmn_name
                changed.append(f"{label(task)}: " + (f"renamed '{new.bpmn_name}'" if renamed else "changed"))
    return sorted(set(changed))


def due_times(workflow: BpmnWorkflow) -> dict[str, tuple[str, datetime | None]]:
    """Each waiting timer's and each waiting step's due time, by BPMN id."""
    dues = {t.bpmn_id: (t.name, t.due_at) for t in waiting_timers(workflow)}
    for task in ready_human_tasks(workflow):
        dues[task.task_spec.bpmn_id] = (task.task_spec.bpmn_name or task.task_spec.bpmn_id, task_due_at(task))
    return dues


def migrate(workflow: BpmnWorkflow, target: ParsedDefinition, plan: MovePlan) -> MovePlan:
    """Move the workflow (in memory) onto the target spec and fill in the plan; a refused plan's workflow is
    half-moved and must be thrown away."""
    top, subs = diffs(workflow, target)
    plan.waiting = sorted({label(t) for t in live_tasks(workflow)})
    plan.reasons = removed_reasons(top, subs, workflow, plan.to_version)
    if plan.reasons:
        return plan
    plan.changed = changed_names(top, subs)
    plan.reset = sorted({label(t) for t in live_tasks(workflow)})
    before = due_times(workflow)
    dropped = migrate_workflow(top, workflow, target.spec)
    for sp_id, sp in list(workflow.subprocesses.items()):
        dropped += migrate_workflow(subs[sp_id], sp, target.subprocess_specs[sp.spec.name])
    workflow.subprocess_specs = target.subprocess_specs
    plan.dropped = sorted({label(t) for t in dropped if t.task_spec.bpmn_id and not t.has_state(PREDICTED)}
                          - set(plan.reset))
    plan.reasons = stray_reasons(workflow, target, plan.to_version)
    after = due_times(workflow)
    plan.due = [DueChange(bpmn_id, after.get(bpmn_id, before.get(bpmn_id))[0],
                          before.get(bpmn_id, (None, None))[1], after.get(bpmn_id, (None, None))[1])
                for bpmn_id in sorted(before.keys() | after.keys())
                if before.get(bpmn_id, (None, None))[1] or after.get(bpmn_id, (None, None))[1]]
    return plan


def new_plan(instance: Instance, target: Definition) -> MovePlan:
    return MovePlan(instance.id, instance.case_ref, instance.revision, definition_of(instance).version,
                    target.version)


def dry_run(instance: Instance, target: Definition) -> MovePlan:
    """What moving the case would do, worked out on a copy: nothing is written."""
    workflow = serialization.loads(instance.serialized, parsed_definition(definition_of(instance)))
    attach(instance, workflow, None)
    plan = migrate(workflow, parsed_definition(target), new_plan(instance, target))

    return plan


def dry_run_all(process_id: str, version: int, case_ref: str | None = None) -> list[MovePlan]:
    target = get_version(process_id, version)
    return [dry_run(instance, target) for instance in running_cases(process_id, target, case_ref)]


@write_operation
def move_case(instance_id: int, version: int, actor: str, expected_revision: int | None = None) -> MovePlan:
    """Move one case in one transaction: refused (409) if the case changed since the dry run that was shown,
    refused (400) with the reason if it cannot move; otherwise saved, revision-checked, with its history."""
    instance = db.session.get(Instance, instance_id)
    if instance is None:
        raise NotFound("There is no such case instance")
    target = get_version(instance.process_id, version)
    if instance.status != "running" or instance.definition_id == target.id:
        raise Conflict(f"Case {instance.case_ref} is not a running case on another version")
    loaded = load(instance, actor)
    if expected_revision is not None and loaded.revision != expected_revision:
        raise Conflict(f"Case {instance.case_ref} has changed since the dry run (a step was completed or a timer "
                       "fired). Run the dry run again.")
    plan = migrate(loaded.workflow, parsed_definition(target), new_plan(loaded.instance, target))
    if not plan.can_move:
        raise Invalid(f"Case {instance.case_ref} cannot move to version {version}: {'; '.join(plan.reasons)}",
                      {"case": "; ".join(plan.reasons)})
    loaded.ctx.record("case_moved", from_version=plan.from_version, to_version=plan.to_version,
                      reset=plan.reset, dropped=plan.dropped, changed=plan.changed)
    loaded.instance.definition_id = target.id
    loaded.definition = target
    save(loaded)
    return plan


def move_all(process_id: str, version: int, actor: str, case_refs: set[str] | None = None) -> list[MovePlan]:
    """Move every case that can move (or the chosen ones), each in its own transaction."""
    moved = []
    for plan in dry_run_all(process_id, version):
        if plan.can_move and (case_refs is None or plan.case_ref in case_refs):
            moved.append(move_case(plan.instance_id, version, actor, expected_revision=plan.revision))
    return moved
