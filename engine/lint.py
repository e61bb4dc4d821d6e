"""Stepwise's own deploy rules, beyond the BPMN schema: the mistakes that would only show at run time."""
from __future__ import annotations

import ast

from lxml import etree

from engine.forms import PLACEHOLDER
from engine.scripting import check_source, is_reserved

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN, "spiffworkflow": SPIFF}
KNOWN_OPERATORS = {"send_notification", "close_case", "transfer_record", "create_contact", "lookup_cog_team"}


def lint_definition(tree: etree._ElementTree, forms: dict[str, dict]) -> list[str]:
    root = tree.getroot()
    return [
        *lint_lanes(root),
        *lint_scripts(root),
        *lint_expressions(root),
        *lint_operators(root),
        *lint_gateways(root),
        *lint_names(root),
        *lint_forms(forms),
    ]


def laned_ids(root: etree._Element) -> dict[str, str]:
    lanes = {}
    for lane in root.iterfind(".//bpmn:lane", NS):
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            lanes[ref.text.strip()] = lane.get("name") or ""
    return lanes


def lint_lanes(root: etree._Element) -> list[str]:
    problems, lanes = [], laned_ids(root)
    if not lanes:
        return problems
    for lane in root.iterfind(".//bpmn:lane", NS):
        if not lane.get("name"):
            problems.append(f"{lane.get('id')}: a lane needs a name, its role id")
    for task in root.iterfind(".//bpmn:userTask", NS):
        if task.get("id") not in lanes:
            problems.append(f"{task.get('id')}: a user task must sit in a lane")
    interruptible = {b.get("attachedToRef") for b in root.iterfind(".//bpmn:boundaryEvent", NS)}
    for sub in root.iterfind(".//bpmn:subProcess", NS):
        if sub.get("id") in interruptible and sub.get("id") in lanes:
            problems.append(f"{sub.get('id')}: an interruptible sub-process must be in no lane, "
                            "or its lane would override the lanes of its tasks")
    return problems


def scripts(root: etree._Element) -> list[tuple[str, str]]:
    found = []
    for node in root.iter(f"{{{BPMN}}}script"):
        found.append((node.getparent().get("id"), node.text or ""))
    for tag in ("preScript", "postScript"):
        for node in root.iter(f"{{{SPIFF}}}{tag}"):
            owner = node.getparent().getparent()
            found.append((owner.get("id"), node.text or ""))
    return found


def lint_scripts(root: etree._Element) -> list[str]:
    problems = []
    for element_id, source in scripts(root):
        problems += [f"{element_id}: {error}" for error in check_source(source, "exec")]
        problems += [f"{element_id}: '{name}' is a reserved name" for name in assigned_names(source)
                     if is_reserved(name)]
    return problems


def assigned_names(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}


def expressions(root: etree._Element) -> list[tuple[str, str]]:
    found = []
    for tag in ("conditionExpression", "timeDate", "timeDuration", "timeCycle"):
        for node in root.iter(f"{{{BPMN}}}{tag}"):
            owner = node.getparent()
            while owner is not None and owner.get("id") is None:
                owner = owner.getparent()
            found.append((owner.get("id") if owner is not None else tag, node.text or ""))
    for node in root.iter(f"{{{SPIFF}}}parameter"):
        found.append((node.get("id"), node.get("value") or ""))
    return found


def lint_expressions(root: etree._Element) -> list[str]:
    return [f"{element_id}: {error}" for element_id, source in expressions(root)
            for error in check_source(source, "eval")]


def lint_operators(root: etree._Element) -> list[str]:
    problems = []
    for node in root.iter(f"{{{SPIFF}}}serviceTaskOperator"):
        if node.get("id") not in KNOWN_OPERATORS:
            problems.append(f"{node.getparent().getparent().get('id')}: unknown operator '{node.get('id')}'")
    element_ids = {n.get("id") for n in root.iter() if n.get("id") and n.tag.startswith(f"{{{BPMN}}}")}
    for node in root.iter(f"{{{SPIFF}}}serviceTaskOperator", f"{{{SPIFF}}}parameter"):
        if node.get("id") in element_ids:
            problems.append(f"{node.get('id')}: an operator or parameter id may not equal an element id")
    return problems


def lint_gateways(root: etree._Element) -> list[str]:
    problems = []
    for gateway in root.iterfind(".//bpmn:exclusiveGateway", NS):
        outgoing = gateway.findall("bpmn:outgoing", NS)
        if len(outgoing) > 1 and not gateway.get("default"):
            problems.append(f"{gateway.get('id')}: a deciding gateway needs a default flow")
    return problems


def lint_names(root: etree._Element) -> list[str]:
    problems = []
    for node in root.iterfind(".//bpmn:dataObject", NS):
        if is_reserved(node.get("id")):
            problems.append(f"{node.get('id')}: a data object may not use a reserved name")
    for node in root.iter(f"{{{SPIFF}}}variableName"):
        if is_reserved((node.text or "").strip()):
            problems.append(f"{(node.text or '').strip()}: a variableName may not use a reserved name")
    return problems


def lint_forms(forms: dict[str, dict]) -> list[str]:
    problems = []
    for name, schema in forms.items():
        for field in (schema.get("properties") or {}):
            if is_reserved(field):
                problems.append(f"{name}: field '{field}' uses a reserved name")
        problems += lint_form_expressions(name, schema)
    return problems


def lint_form_expressions(name: str, schema: dict) -> list[str]:
    """Every expression a form holds compiles: rules, their message placeholders, defaults, computed values."""
    sources = []
    for rule in schema.get("x-rules", []):
        sources.append((f"rule on {rule.get('field')}", rule.get("when", "")))
        sources += [(f"message of the rule on {rule.get('field')}", placeholder)
                    for placeholder in PLACEHOLDER.findall(rule.get("message", ""))]
    sources += [(f"default of {field}", prop["x-default"])
                for field, prop in (schema.get("properties") or {}).items() if "x-default" in prop]
    computed = schema.get("x-computed") or {}
    sources += [(f"computed value {field}", expression) for field, expression in computed.items()]
    reserved = [f"{name}: computed value '{field}' uses a reserved name" for field in computed if is_reserved(field)]
    return reserved + [f"{name}: {where}: {error}" for where, source in sources
                       for error in check_source(source, "eval")]
