"""Loading, validating and versioning diagrams: one parse per deployed version."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from engine.lint import is_form_name, lint_definition
from engine.models import Definition, db

MAX_BPMN_BYTES = 2_000_000
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}

# Hostile XML is refused before SpiffWorkflow sees it: no entities, no network, no DTD.
SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


class DefinitionError(ValueError):
    """A diagram that cannot be deployed; `problems` lists each reason with its element id."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class ParsedDefinition:
    process_id: str
    name: str
    spec: BpmnProcessSpec
    subprocess_specs: dict


_CACHE: dict[str, ParsedDefinition] = {}


def parse_xml(xml: bytes) -> etree._ElementTree:
    if len(xml) > MAX_BPMN_BYTES:
        raise DefinitionError([f"the diagram is larger than {MAX_BPMN_BYTES} bytes"])
    try:
        tree = etree.ElementTree(etree.fromstring(xml, SAFE_PARSER))
    except etree.XMLSyntaxError as exc:
        raise DefinitionError([f"not well-formed XML: {exc}"]) from exc
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise DefinitionError(["a DOCTYPE is not allowed in a diagram"])
    return tree


def executable_process_id(tree: etree._ElementTree) -> tuple[str, str]:
    processes = tree.getroot().findall("bpmn:process[@isExecutable='true']", NS)
    if len(processes) != 1:
        raise DefinitionError(["a diagram must hold exactly one executable process"])
    return processes[0].get("id"), processes[0].get("name") or processes[0].get("id")


def parse_spec(xml: bytes) -> ParsedDefinition:
    tree = parse_xml(xml)
    process_id, name = executable_process_id(tree)
    parser = SpiffBpmnParser(validator=VALIDATOR)
    try:
        parser.add_bpmn_xml(tree, filename=f"{process_id}.bpmn")
        spec = parser.get_spec(process_id)
        subprocess_specs = parser.get_subprocess_specs(process_id)
    except ValidationException as exc:
        raise DefinitionError([f"{exc.id or ''}: {exc}".lstrip(": ")]) from exc
    except Exception as exc:  # the parser raises bare exceptions for some malformed diagrams
        raise DefinitionError([f"the diagram cannot be parsed: {exc}"]) from exc
    return ParsedDefinition(process_id, name, spec, subprocess_specs)


def referenced_forms(tree: etree._ElementTree) -> set[str]:
    xpath = "//*[local-name()='property'][@name='formJsonSchemaFilename']/@value"
    return set(tree.getroot().xpath(xpath))


def load_forms(tree: etree._ElementTree, forms_dir: Path, process_id: str) -> dict[str, dict]:
    names = referenced_forms(tree) | {f"{process_id}-start.json"}
    forms, missing = {}, []
    for name in sorted(names):
        if not is_form_name(name):  # "../../secrets.json" would read outside processes/forms
            missing.append(f"form {name!r}: a form is named by a plain file name ending in .json")
            continue
        path = forms_dir / name
        if not path.is_file():
            missing.append(f"form {name} is missing")
            continue
        try:
            forms[name] = parse_form(name, path.read_bytes())
        except DefinitionError as exc:
            missing += exc.problems
    if missing:
        raise DefinitionError(missing)
    return forms


def bundle_hash(xml: bytes, forms: dict[str, dict]) -> str:
    digest = hashlib.sha256(xml)
    digest.update(json.dumps(forms, sort_keys=True).encode())
    return digest.hexdigest()


def check(xml: bytes, forms: dict[str, dict]) -> ParsedDefinition:
    """Everything a deploy checks, without writing anything."""
    parsed = parse_spec(xml)
    tree = parse_xml(xml)
    problems = [f"form {name} is missing" for name in sorted(referenced_forms(tree) - forms.keys())]
    problems += lint_definition(tree, forms)
    if problems:
        raise DefinitionError(problems)
    return parsed


def deploy(xml: bytes, forms: dict[str, dict], deployed_by: str | None) -> tuple[Definition, bool]:
    """Store a new version unless these exact bytes are deployed already; returns (definition, created)."""
    parsed = check(xml, forms)
    sha = bundle_hash(xml, forms)
    existing = db.session.execute(
        db.select(Definition).filter_by(process_id=parsed.process_id, sha256=sha)
    ).scalar_one_or_none()
    if existing is not None:
        return existing, False
    latest = latest_definition(parsed.process_id)
    definition = Definition(
        process_id=parsed.process_id, name=parsed.name, version=(latest.version + 1 if latest else 1),
        sha256=sha, bpmn_xml=xml.decode("utf-8"), forms=forms, deployed_by=deployed_by,
    )
    db.session.add(definition)
    db.session.flush()
    _CACHE[sha] = parsed
    return definition, True


def deploy_file(path: Path, deployed_by: str | None) -> tuple[Definition, bool]:
    xml = path.read_bytes()
    tree = parse_xml(xml)
    process_id, _ = executable_process_id(tree)
    forms = load_forms(tree, path.parent / "forms", process_id)
    return deploy(xml, forms, deployed_by)


def deploy_upload(xml: bytes, uploaded: dict[str, bytes], deployed_by: str | None) -> tuple[Definition, bool]:
    """A diagram from the modeller: forms it does not bring are taken from its process's latest version."""
    process_id, _ = executable_process_id(parse_xml(xml))
    latest = latest_definition(process_id)
    forms = dict(latest.forms) if latest else {}
    for name, raw in uploaded.items():
        forms[name] = parse_form(name, raw)
    return deploy(xml, forms, deployed_by)


def parse_form(name: str, raw: bytes) -> dict:
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DefinitionError([f"form {name} is not valid JSON: {exc}"]) from exc
    except RecursionError as exc:
        raise DefinitionError([f"form {name} is nested too deeply to read"]) from exc


def latest_definition(process_id: str) -> Definition | None:
    return db.session.execute(
        db.select(Definition).filter_by(process_id=process_id).order_by(Definition.version.desc()).limit(1)
    ).scalar_one_or_none()


def parsed_definition(definition: Definition) -> ParsedDefinition:
    """The parsed spec of a version, parsed once per process lifetime."""
    cached = _CACHE.get(definition.sha256)
    if cached is None:
        cached = parse_spec(definition.bpmn_xml.encode("utf-8"))
        _CACHE[definition.sha256] = cached
    return cached


def forget_parsed() -> None:
    _CACHE.clear()
