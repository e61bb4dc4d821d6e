"""Changed versions of the shipped diagrams, as an analyst would save them from a modeller."""
from __future__ import annotations

from lxml import etree

from tests.conftest import PROCESSES

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
RENAMED_L16 = "Allocate a Family Support Worker (FSW)"


def without(root: etree._Element, ids: set[str]) -> None:
    """Remove the elements with these ids, every reference to them, and their shapes on the diagram."""
    for node in list(root.iter()):
        if not isinstance(node.tag, str) or node.getparent() is None:
            continue
        if node.get("id") in ids or node.get("bpmnElement") in ids or (node.text or "").strip() in ids:
            node.getparent().remove(node)


def stepdown_locality_v2() -> bytes:
    """L16 renamed; L07 (answer the clarification questions) removed, so G02 no longer asks for clarification."""
    root = etree.fromstring((PROCESSES / "stepdown_locality.bpmn").read_bytes())
    root.find(f".//{{{BPMN}}}userTask[@id='L16']").set("name", RENAMED_L16)
    without(root, {"L07", "DOR_sdr_L07", "DIA_L07_DOR_sdr_L07", "Flow_G02_L07", "Flow_L07_L06_merge"})
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
