"""Facts about a diagram's XML that the engine's specs do not keep: its sequence flows and their ends, and
the names its scripts set."""
from __future__ import annotations

import re
from functools import lru_cache

from lxml import etree

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


@lru_cache(maxsize=64)
def lane_titles(xml: str) -> dict[str, str]:
    """Lane name (its role id) -> the title its documentation gives, up to the first note ("; ", " · ")."""
    root = parse_xml(xml.encode("utf-8")).getroot()
    titles = {}
    for lane in root.iter(f"{BPMN}lane"):
        doc = lane.find(f"{BPMN}documentation")
        text = " ".join((doc.text or "").split()) if doc is not None else ""
        title = re.split(r";\s| · ", text, maxsplit=1)[0].strip()
        if lane.get("name") and title:
            titles[lane.get("name")] = title
    return titles


@lru_cache(maxsize=64)
def with_lane_titles(xml: str) -> str:
    """The diagram as a viewer should draw it: each lane labelled with its title, not its role id."""
    tree = parse_xml(xml.encode("utf-8"))
    titles = lane_titles(xml)
    for lane in tree.getroot().iter(f"{BPMN}lane"):
        if lane.get("name") in titles:
            lane.set("name", titles[lane.get("name")])
    declaration = xml[:xml.index("?>") + 2] + "\n" if xml.startswith("<?xml") else ""
    return declaration + etree.tostring(tree, encoding="unicode")
