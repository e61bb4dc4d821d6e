"""The raw SpiffWorkflow cycle: deserialize, complete one user task, serialize, all in memory.

This is what a team using SpiffWorkflow directly would pay per action: the library's own serializer with
the spec embedded (its default), a plain script environment holding the diagram's helpers, and services
that do nothing. The spec-free variant uses the app's serializer, for information.
"""
from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import TaskDataEnvironment
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from bench.errors import BenchError
from bench.templates import Template
from bench.walks import PROCESS
from engine import forms, serialization
from engine.definitions import ParsedDefinition, latest_definition, parsed_definition
from engine.models import db
from engine.runtime import form_schema, schema_name, unset_fields, users_by_role
from engine.scripting import SCRIPT_HELPERS

SPEC_SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))


class RawScriptEngine(PythonScriptEngine):
    def __init__(self) -> None:
        super().__init__(environment=TaskDataEnvironment(dict(SCRIPT_HELPERS)))

    def call_service(self, task: Task, operation_name: str, operation_params: dict, **kwargs) -> str:
        return json.dumps({})


@dataclass(frozen=True)
class RawCase:
    """A template's workflow in both blob formats, with the step to complete and its form as saved."""

    with_spec: str
    spec_free: str
    step: str
    data: dict


class RawCycle:
    def __init__(self, app: Flask, templates: list[Template]) -> None:
        self.engine = RawScriptEngine()
        with app.app_context():
            self.parsed = parsed_definition(latest_definition(PROCESS))
            self.cases = [prepare(self.parsed, t) for t in templates]
            db.session.rollback()

    def with_spec(self, index: int) -> Callable[[], None]:
        """Returns the cycle for one template, ready to time (its form copied outside the timing)."""
        case = self.cases[index]
        data = copy.deepcopy(case.data)
        return lambda: self.complete(SPEC_SERIALIZER.deserialize_json(case.with_spec), case.step, data,
                                     SPEC_SERIALIZER.serialize_json)

    def spec_free(self, index: int) -> Callable[[], None]:
        case = self.cases[index]
        data = copy.deepcopy(case.data)
        return lambda: self.complete(serialization.loads(case.spec_free, self.parsed), case.step, data,
                                     serialization.dumps)

    def complete(self, workflow: BpmnWorkflow, step: str, data: dict, dumps: Callable[[BpmnWorkflow], str]) -> str:
        workflow.script_engine = self.engine
        task = ready_task(workflow, step)
        task.set_data(**data)
        task.run()
        workflow.do_engine_steps()
        return dumps(workflow)


def ready_task(workflow: BpmnWorkflow, step: str) -> Task:
    for task in workflow.get_tasks(state=TaskState.READY, manual=True):
        if task.task_spec.bpmn_id == step:
            return task
    raise BenchError(f"the workflow is not waiting at {step}")


def prepare(parsed: ParsedDefinition, template: Template) -> RawCase:
    """The data the app would set on the task: the validated form plus the fields it leaves empty."""
    blob = template.rows["instances"][0]["serialized"]
    workflow = serialization.loads(blob, parsed)
    task = ready_task(workflow, template.act.step)
    schema = form_schema(latest_definition(PROCESS), schema_name(task))
    result = forms.validate(schema, template.today_data, dict(task.data), template.act.who, users_by_role(schema))
    if not result.ok:
        raise BenchError(f"{template.name}: {result.errors}")
    data = {**unset_fields(task, schema), **result.data}
    return RawCase(SPEC_SERIALIZER.serialize_json(workflow), blob, template.act.step, data)
