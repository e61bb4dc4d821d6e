"""The case record: what the API, the pages, the reports and prefill call "the case data".

SpiffWorkflow keeps a copy of the data on every task, so which copy is "the case" depends on which tasks happen
to be live: a flag set in a non-interrupting boundary branch, or by a parallel branch that has finished, is on no
live task. So Stepwise keeps one record per instance (`instances.case_data`), written at every save by this rule:

1. A new instance's record is its start data.
2. At every save, each task that became ready (its preScript has run) or completed since the last save
   contributes what it *changed*: the keys of its data whose values differ from its parent's. Tasks are applied
   in the order they changed state, so the latest change wins.
   A gateway join or a sub-process end only merges copies other tasks made (possibly stale ones, from a branch
   that never saw a later change), so they contribute nothing; neither do the engine's own tasks.
3. The process's case data objects are then copied in as they stand; one that is None (never written, or
   cleared by a step writing None) is not in the record, so nothing unanswered is shown as a fact.
4. Names starting with `_` or `spiff__` are the engine's, never the case's.

A value a step set is therefore in the record the moment that step is saved, whichever branch set it, and stays
until a later step changes it.
"""
from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.specs.Join import Join
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

_MISSING = object()


SETTING = TaskState.READY | TaskState.COMPLETED
Seen = dict[str, int]


def seen_tasks(workflow: BpmnWorkflow) -> Seen:
    """The tasks already reflected in the record when an instance is loaded, with the state they were in."""
    return {str(task.id): task.state for task in workflow.get_tasks(state=SETTING)}


def is_case_key(name: str) -> bool:
    return not name.startswith(("_", "spiff__")) and name != "data_objects"


def contributes(task: Task) -> bool:
    spec = task.task_spec
    return (task.parent is not None and spec.bpmn_id is not None
            and not isinstance(spec, (Join, SubWorkflowTask)))


def changes(task: Task) -> dict[str, Any]:
    """What this task set: the keys whose values differ from the data it inherited."""
    before = task.parent.data
    return {key: value for key, value in task.data.items()
            if is_case_key(key) and before.get(key, _MISSING) != value}


def data_objects(workflow: BpmnWorkflow) -> dict[str, Any]:
    objects = dict(workflow.data_objects or {})
    for sub in workflow.subprocesses.values():
        objects.update(getattr(sub, "data_objects", None) or {})
    return {key: value for key, value in objects.items() if is_case_key(key)}


def updated(record: dict[str, Any] | None, workflow: BpmnWorkflow, seen: Seen) -> dict[str, Any]:
    """The record after the tasks that became ready or completed since `seen`."""
    result = dict(record or {})
    fresh = [task for task in workflow.get_tasks(state=SETTING)
             if seen.get(str(task.id)) != task.state and contributes(task)]
    for task in sorted(fresh, key=lambda t: t.last_state_change):
        result.update(changes(task))
    for key, value in data_objects(workflow).items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def start_record(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if is_case_key(key)}


def rebuilt(workflow: BpmnWorkflow) -> dict[str, Any]:
    """The record from the whole task tree, for an instance saved before records were kept."""
    return updated(start_record(workflow.task_tree.data), workflow, {})
