"""The deployed versions of each process as an analyst reads them: counts of cases, the diagram with its
lanes' titles, and the version's files as one download."""
from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field

from lxml import etree
from sqlalchemy import case, func

from engine.definitions import parse_xml
from engine.errors import NotFound
from engine.models import Definition, Instance, db

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"


@dataclass
class VersionRow:
    definition: Definition
    running: int = 0
    finished: int = 0


@dataclass
class ProcessRow:
    process_id: str
    name: str
    versions: list[VersionRow] = field(default_factory=list)


def case_counts() -> dict[int, tuple[int, int]]:
    """Definition id -> (running, finished) cases, counted by the database."""
    running = func.sum(case((Instance.status == "running", 1), else_=0))
    finished = func.sum(case((Instance.status != "running", 1), else_=0))
    rows = db.session.execute(db.select(Instance.definition_id, running, finished).group_by(Instance.definition_id))
    return {definition_id: (int(r or 0), int(f or 0)) for definition_id, r, f in rows}


def processes() -> list[ProcessRow]:
    """Every process with its versions, newest first; a process is named as its latest version names it."""
    counts = case_counts()
    found: dict[str, ProcessRow] = {}
    definitions = db.session.execute(
        db.select(Definition).order_by(Definition.process_id, Definition.version.desc())).scalars()
    for definition in definitions:
        row = found.setdefault(definition.process_id, ProcessRow(definition.process_id, definition.name))
        row.versions.append(VersionRow(definition, *counts.get(definition.id, (0, 0))))
    return list(found.values())


def get_version(process_id: str, version: int) -> Definition:
    definition = db.session.execute(
        db.select(Definition).filter_by(process_id=process_id, version=version)).scalar_one_or_none()
    if definition is None:
        raise NotFound(f"{process_id} has no version {version}")
    return definition


def lane_title(lane: etree._Element) -> str:
    documentation = lane.find(f"{{{BPMN}}}documentation")
    text = (documentation.text or "").strip() if documentation is not None else ""
    return text or lane.get("name") or lane.get("id")


def with_lane_titles(xml: str) -> str:
    """The diagram with each lane labelled by its title rather than its role id, for people to read."""
    root = parse_xml(xml.encode("utf-8")).getroot()
    for lane in root.iter(f"{{{BPMN}}}lane"):
        lane.set("name", lane_title(lane))
    return etree.tostring(root, encoding="unicode")


def bundle(definition: Definition) -> bytes:
    """The version's diagram and forms as one zip, laid out as processes/ is, so it deploys as it stands."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{definition.process_id}.bpmn", definition.bpmn_xml)
        for name, schema in sorted((definition.forms or {}).items()):
            archive.writestr(f"forms/{name}", json.dumps(schema, indent=2, ensure_ascii=False) + "\n")
    return buffer.getvalue()
