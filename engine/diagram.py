"""Facts about a diagram's XML that the engine's specs do not keep: its sequence flows and their ends, and
the names its scripts set."""
from __future__ import annotations

from functools import lru_cache

from engine.definitions import parse_xml
from engine.lint import assigned_names, scripts

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


@lru_cache(maxsize=64)
def sequence_flows(xml: str) -> dict[str, tuple[str, str]]:
    """Flow id -> (source id, target id) for every sequence flow in the diagram."""
    root = parse_xml(xml.encode("utf-8")).getroot()
    return {flow.get("id"): (flow.get("sourceRef"), flow.get("targetRef"))
            for flow in root.iter(f"{BPMN}sequenceFlow")}


def flow_ids(xml: str, pairs: set[tuple[str, str]]) -> set[str]:
    return {flow_id for flow_id, ends in sequence_flows(xml).items() if ends in pairs}


@lru_cache(maxsize=64)
def script_set_names(xml: str) -> dict[str, set[str]]:
    """Name -> the ids of the elements whose scripts (script tasks, pre- and post-scripts) set it."""
    root = parse_xml(xml.encode("utf-8")).getroot()
    setters: dict[str, set[str]] = {}
    for element_id, source in scripts(root):
        for name in assigned_names(source):
            setters.setdefault(name, set()).add(element_id)
    return setters
