"""Every process diagram passes bpmnlint, imports cleanly into bpmn-moddle and is fully drawn (BPMNDI)."""

import subprocess
from pathlib import Path

import pytest
from lxml import etree

REPO_ROOT = Path(__file__).resolve().parents[1]
DIAGRAMS = sorted((REPO_ROOT / "processes").glob("*.bpmn"))
BPMNLINT = REPO_ROOT / "node_modules" / ".bin" / "bpmnlint"
MODDLE_CHECK = REPO_ROOT / "tests" / "js" / "moddle_check.mjs"

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
BPMNDI = "{http://www.omg.org/spec/BPMN/20100524/DI}"
DI = "{http://www.omg.org/spec/DD/20100524/DI}"

SHAPED = [
    "task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
    "businessRuleTask", "callActivity", "subProcess", "adHocSubProcess", "transaction",
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway",
    "lane", "participant", "dataObjectReference", "dataStoreReference", "textAnnotation",
]
EDGED = ["sequenceFlow", "messageFlow", "association", "dataInputAssociation", "dataOutputAssociation"]

SPIFF_TYPO = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="D" targetNamespace="t">
  <bpmn:process id="P" isExecutable="true">
    <bpmn:userTask id="T" name="Review">
      <bpmn:extensionElements>
        <spiffworkflow:instructionsForEndUsr>Check.</spiffworkflow:instructionsForEndUsr>
      </bpmn:extensionElements>
    </bpmn:userTask>
  </bpmn:process>
</bpmn:definitions>
"""


def require_node_modules() -> None:
    if not BPMNLINT.exists() or not (REPO_ROOT / "node_modules" / "bpmn-moddle").is_dir():
        pytest.fail("node_modules is missing or incomplete: run `make assets` first", pytrace=False)


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    # bpmnlint reads .bpmnlintrc from the working directory, so always run from the repo root.
    return subprocess.run(
        [str(a) for a in args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False
    )


def missing_di(tree: etree._ElementTree) -> list[str]:
    """Model elements with no BPMNShape/BPMNEdge, and edges with fewer than two waypoints."""
    shapes = {s.get("bpmnElement") for s in tree.iter(f"{BPMNDI}BPMNShape")}
    edges = {e.get("bpmnElement"): e for e in tree.iter(f"{BPMNDI}BPMNEdge")}
    problems = []
    for tags, drawn, kind in ((SHAPED, shapes, "BPMNShape"), (EDGED, edges, "BPMNEdge")):
        for element in tree.iter(*(BPMN + tag for tag in tags)):
            if element.get("id") not in drawn:
                problems.append(f"{etree.QName(element).localname} {element.get('id')}: no {kind}")
    for element_id, edge in edges.items():
        if len(edge.findall(f"{DI}waypoint")) < 2:
            problems.append(f"BPMNEdge for {element_id}: fewer than 2 waypoints")
    return problems


@pytest.mark.parametrize("diagram", DIAGRAMS, ids=lambda p: p.name)
def test_bpmnlint_is_clean(diagram: Path) -> None:
    require_node_modules()
    result = run(BPMNLINT, "--max-warnings=0", diagram.relative_to(REPO_ROOT))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("diagram", DIAGRAMS, ids=lambda p: p.name)
def test_moddle_import_has_no_warnings(diagram: Path) -> None:
    require_node_modules()
    result = run("node", MODDLE_CHECK, diagram.relative_to(REPO_ROOT))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("diagram", DIAGRAMS, ids=lambda p: p.name)
def test_every_element_is_drawn(diagram: Path) -> None:
    problems = missing_di(etree.parse(diagram))
    assert not problems, "\n".join(problems)


def test_spiffworkflow_typos_are_reported(tmp_path: Path) -> None:
    # Guards the descriptor wiring: without it both tools accept unknown spiffworkflow elements silently.
    require_node_modules()
    diagram = tmp_path / "typo.bpmn"
    diagram.write_text(SPIFF_TYPO, encoding="utf-8")
    for result in (run(BPMNLINT, diagram), run("node", MODDLE_CHECK, diagram)):
        assert result.returncode == 1
        assert "spiffworkflow:instructionsForEndUsr" in result.stdout


def test_missing_di_finds_undrawn_elements() -> None:
    bpmn, bpmndi, di = BPMN[1:-1], BPMNDI[1:-1], DI[1:-1]
    tree = etree.ElementTree(etree.fromstring(f"""
        <definitions xmlns="{bpmn}" xmlns:bpmndi="{bpmndi}" xmlns:di="{di}"><process id="P">
          <startEvent id="S"/><task id="T"/><sequenceFlow id="F" sourceRef="S" targetRef="T"/>
        </process><bpmndi:BPMNDiagram><bpmndi:BPMNPlane bpmnElement="P">
          <bpmndi:BPMNShape bpmnElement="S"/><bpmndi:BPMNEdge bpmnElement="F"><di:waypoint x="0" y="0"/>
          </bpmndi:BPMNEdge></bpmndi:BPMNPlane></bpmndi:BPMNDiagram></definitions>"""))
    assert missing_di(tree) == ["task T: no BPMNShape", "BPMNEdge for F: fewer than 2 waypoints"]
