"""Workflow blobs without the spec: an instance row points at its definition version instead."""
from __future__ import annotations

import json
from contextvars import ContextVar
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from engine.definitions import ParsedDefinition

# The spec a blob is restored against; the registry API gives from_dict no other way to receive it.
_restoring: ContextVar[ParsedDefinition] = ContextVar("_restoring")


class SpecFreeWorkflowConverter(BpmnWorkflowConverter):
    def to_dict(self, workflow: BpmnWorkflow) -> dict:
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict) -> BpmnWorkflow:
        parsed = _restoring.get()
        workflow = self.target_class(parsed.spec, parsed.subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


_config = dict(SPIFF_CONFIG)
_config[BpmnWorkflow] = SpecFreeWorkflowConverter
SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(_config))


def dumps(workflow: BpmnWorkflow) -> str:
    return SERIALIZER.serialize_json(workflow)


def loads(blob: str, parsed: ParsedDefinition) -> BpmnWorkflow:
    token = _restoring.set(parsed)
    try:
        dct = json.loads(blob)
        if dct.get(SERIALIZER.VERSION_KEY) != SERIALIZER.VERSION:
            raise ValueError(f"blob format {dct.get(SERIALIZER.VERSION_KEY)} is not {SERIALIZER.VERSION}")
        return SERIALIZER.from_dict(dct)
    finally:
        _restoring.reset(token)
