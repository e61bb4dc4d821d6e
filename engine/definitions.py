"""Loading, validating and versioning diagrams: one parse per deployed version."""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from engine.lint import is_form_name, lint_definition
from engine.models import Definition, db

MAX_BPMN_BYTES = 2_000_000
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN_NS}

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
        raise DefinitionError([parser_problem(tree, exc)]) from exc
    except Exception as exc:  # the parser raises bare exceptions for some malformed diagrams
        detail = str(exc).splitlines()[0] if str(exc) else "no detail"
        raise DefinitionError([f"the engine cannot read the diagram ({type(exc).__name__}: {detail})"]) from exc
    return ParsedDefinition(process_id, name, spec, subprocess_specs)


def parser_problem(tree: etree._ElementTree, exc: ValidationException) -> str:
    """The engine's refusal with the element's id and name, without its file name and line bookkeeping."""
    message = str(exc.args[0]) if exc.args else "the engine cannot read this element"
    element_id = getattr(exc, "id", None)
    found = tree.getroot().xpath("//*[@id=$id]", id=element_id) if element_id else []
    where = describe(found[0]) if found else (element_id or f"line {getattr(exc, 'line_number', '?')}")
    return f"{where}: {message}"


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


def canonical_xml(xml: bytes) -> bytes:
    """The diagram as C14N, with comments and the whitespace between elements left out: a diagram opened and
    saved again with no change (re-indented, attributes reordered) is the same diagram."""
    root = parse_xml(xml).getroot()
    for node in root.iter():
        if node.text is not None and not node.text.strip() and len(node):
            node.text = None
        if node.tail is not None and not node.tail.strip():
            node.tail = None
    return etree.canonicalize(root, with_comments=False).encode("utf-8")


def bundle_hash(xml: bytes, forms: dict[str, dict]) -> str:
    digest = hashlib.sha256(canonical_xml(xml))
    digest.update(json.dumps(forms, sort_keys=True).encode())
    return digest.hexdigest()


def describe(node: etree._Element) -> str:
    """An element as an analyst finds it in a modeller: its id and its name."""
    kind = etree.QName(node).localname
    name = node.get("name")
    return f"{node.get('id')} ('{name}', a {kind})" if name else f"{node.get('id')} (a {kind})"


def duplicate_ids(tree: etree._ElementTree) -> list[str]:
    seen: dict[str, list[etree._Element]] = {}
    for node in tree.getroot().iter():
        # spiffworkflow: operators and parameters use "id" for a name, so only BPMN's own elements count
        if isinstance(node.tag, str) and node.get("id") and not node.tag.startswith(f"{{{SPIFF_NS}}}"):
            seen.setdefault(node.get("id"), []).append(node)
    return [f"{'Two' if len(nodes) == 2 else len(nodes)} elements have the id {element_id}: "
            + " and ".join(describe(n) for n in nodes) + ". Give each its own id."
            for element_id, nodes in seen.items() if len(nodes) > 1]


def schema_problems(tree: etree._ElementTree) -> list[str]:
    """Every BPMN schema (XSD) error at once, with the element it is on, in words without namespaces."""
    copy = etree.ElementTree(etree.fromstring(etree.tostring(tree), SAFE_PARSER))
    VALIDATOR.preprocess(copy)
    if VALIDATOR.validator.validate(copy):
        return []
    problems = []
    for error in VALIDATOR.validator.error_log:
        if "xs:ID" in error.message or "Duplicate" in error.message:
            continue  # said in an analyst's words by duplicate_ids
        problems.append(f"{schema_location(copy, error)}: {plain(error.message)}")
    return sorted(set(problems))


def schema_location(tree: etree._ElementTree, error) -> str:
    try:
        found = tree.getroot().xpath(error.path, namespaces={k: v for k, v in tree.getroot().nsmap.items() if k})
    except etree.XPathError:
        found = []
    node = found[0] if found else None
    while node is not None and node.get("id") is None:
        node = node.getparent()
    return describe(node) if node is not None else f"line {error.line}"


def plain(message: str) -> str:
    """A schema message without XML namespaces: '{http://...MODEL}userTask' reads 'bpmn:userTask'."""
    prefixes = {BPMN_NS: "bpmn", SPIFF_NS: "spiffworkflow"}
    for uri, prefix in prefixes.items():
        message = message.replace(f"{{{uri}}}", f"{prefix}:")
    return re.sub(r"\{[^}]*\}", "", message)


def problems_of(xml: bytes, forms: dict[str, dict]) -> tuple[ParsedDefinition | None, list[str]]:
    """Every problem a deploy would refuse the diagram for, all at once (not only the first)."""
    tree = parse_xml(xml)
    executable_process_id(tree)
    problems = duplicate_ids(tree) + schema_problems(tree)
    parsed = None
    if not problems:
        try:
            parsed = parse_spec(xml)
        except DefinitionError as exc:
            problems += exc.problems
    problems += [f"form {name} is missing" for name in sorted(referenced_forms(tree) - forms.keys())]
    problems += lint_definition(tree, forms)
    return parsed, problems


def check(xml: bytes, forms: dict[str, dict]) -> ParsedDefinition:
    """Everything a deploy checks, without writing anything."""
    parsed, problems = problems_of(xml, forms)
    if problems or parsed is None:
        raise DefinitionError(problems or ["the diagram cannot be read"])
    return parsed


def deploy(xml: bytes, forms: dict[str, dict], deployed_by: str | None) -> tuple[Definition, bool]:
    """Store a new version unless these exact bytes are deployed already; returns (definition, created)."""
    parsed = check(xml, forms)
    sha = bundle_hash(xml, forms)
    existing = db.session.execute(
        db.select(Definition).filter_by(process_id=parsed.process_id, sha256=sha)
    ).scalar_one_or_none()
    latest = latest_definition(parsed.process_id)
    if existing is None and latest is not None and bundle_hash(latest.bpmn_xml.encode("utf-8"), latest.forms) == sha:
        existing = latest  # deployed before versions were compared canonically
    if existing is not None:
        return existing, False
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


_VERSIONS: dict[int, Definition] = {}


def definition_by_id(definition_id: int) -> Definition:
    """A deployed version, read once per process: a version never changes after it is deployed, so every
    gunicorn worker may keep its own copy (detached from any session) for as long as it runs."""
    cached = _VERSIONS.get(definition_id)
    if cached is None:
        cached = db.session.get(Definition, definition_id)
        db.session.expunge(cached)
        _VERSIONS[definition_id] = cached
    return cached


def forget_parsed() -> None:
    """Forget parsed specs and cached versions (a test's fresh database reuses ids)."""
    _CACHE.clear()
    _VERSIONS.clear()
