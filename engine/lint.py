"""Stepwise's own deploy rules, beyond the BPMN schema: the mistakes that would only show at run time."""
from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from typing import Any

from jsonschema.exceptions import SchemaError
from lxml import etree

from engine.forms import PLACEHOLDER, FormValidator, pattern_problem
from engine.scripting import check_source, is_reserved

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN, "spiffworkflow": SPIFF}
XINCLUDE = ("http://www.w3.org/2001/XInclude", "http://www.w3.org/2003/XInclude")
REFERENCE_KEYWORDS = ("$ref", "$dynamicRef", "$recursiveRef")
# A form is named by a plain file name in processes/forms/, never a path to somewhere else.
FORM_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\.json")
# Deeper than any real form; deeper still, and checking it would exhaust Python's stack.
MAX_FORM_DEPTH = 32
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
        *lint_includes(root),
        *lint_forms(forms),
    ]


def lint_includes(root: etree._Element) -> list[str]:
    """lxml never expands XInclude here, but a diagram that asks for it is hostile or broken either way."""
    found = {node.get("href") or "" for node in root.iter() if isinstance(node.tag, str)
             and node.tag.startswith(tuple(f"{{{ns}}}" for ns in XINCLUDE))}
    return [f"XInclude is not allowed in a diagram (href '{href}')" for href in sorted(found)]


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


def is_form_name(name: str) -> bool:
    return FORM_NAME.fullmatch(name) is not None and ".." not in name


def json_pointer(path: list[str | int]) -> str:
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def references(node: Any, path: list[str | int]) -> Iterator[tuple[str, Any]]:
    """Every reference keyword in a schema, with its JSON pointer."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in REFERENCE_KEYWORDS:
                yield json_pointer([*path, key]), value
            yield from references(value, [*path, key])
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from references(value, [*path, index])


def is_local_pointer(value: Any) -> bool:
    return isinstance(value, str) and (value == "#" or value.startswith("#/"))


def lint_references(name: str, schema: Any) -> list[str]:
    return [f"form {name}: {pointer}: a reference must point inside the form (\"#/...\"), not {value!r}"
            for pointer, value in references(schema, []) if not is_local_pointer(value)]


def lint_forms(forms: dict[str, dict]) -> list[str]:
    problems = []
    for name, schema in forms.items():
        if not is_form_name(name):
            problems.append(f"form {name!r}: a form is named by a plain file name ending in .json")
        if not isinstance(schema, dict):
            problems.append(f"form {name}: a form must be a JSON object")
            continue
        if nesting(schema) > MAX_FORM_DEPTH:
            problems.append(f"form {name}: nested more than {MAX_FORM_DEPTH} levels deep")
            continue
        schema_problems = lint_schema(name, schema)
        if schema_problems:
            problems += schema_problems
            continue
        problems += lint_references(name, schema)
        for field in (schema.get("properties") or {}):
            if is_reserved(field):
                problems.append(f"{name}: field '{field}' uses a reserved name")
        problems += lint_form_expressions(name, schema)
    return problems


def nesting(node: Any) -> int:
    """How deeply a JSON value nests, counted without recursion."""
    deepest, stack = 0, [(node, 1)]
    while stack and deepest <= MAX_FORM_DEPTH:
        item, level = stack.pop()
        deepest = max(deepest, level)
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((child, level + 1) for child in children)
    return deepest


def lint_schema(name: str, schema: dict) -> list[str]:
    """A form is a valid JSON Schema whose patterns run in linear time."""
    try:
        FormValidator.check_schema(schema)
    except SchemaError as exc:
        where = json_pointer(list(exc.absolute_path)) or "/"
        return [f"form {name}: not a valid JSON Schema at {where}: {exc.message}"]
    problems = [f"form {name}: {pointer}: {problem}" for pointer, pattern in keyword_values(schema, "pattern", [])
                if (problem := pattern_problem(pattern))]
    problems += [f"form {name}: {pointer}: patternProperties is not supported; name each field"
                 for pointer, _ in keyword_values(schema, "patternProperties", [])]
    return problems


def keyword_values(node: Any, keyword: str, path: list[str | int]) -> Iterator[tuple[str, Any]]:
    """Each value of a schema keyword, with its JSON pointer (a property named like the keyword is not one)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == keyword and path[-1:] != ["properties"]:
                yield json_pointer([*path, key]), value
            yield from keyword_values(value, keyword, [*path, key])
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from keyword_values(value, keyword, [*path, index])


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
