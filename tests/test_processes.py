"""The analyst's Processes page over HTTP: every version with its cases counted, the diagram read-only with
its lanes' titles, the files as one zip, and no case data."""
from __future__ import annotations

import io
import json
import re
import zipfile

from engine.definitions import deploy, latest_definition
from engine.models import db
from tests.versions import stepdown_locality_v2


def start(api, case_ref: str) -> int:
    data = {"hub": "north", "allocated_sw": "sw", "children": [{"name": "Sam Smith", "dob": "2015-06-01"}]}
    return api.post("/instances", "sw", {"process": "stepdown_locality", "case_ref": case_ref, "data": data},
                    expect=201)["id"]


def cell(page: str, kind: str, version: int, process: str = "stepdown_locality") -> str:
    section = page.split(f'id="process-{process}"')[1].split("</section>")[0]
    return re.search(rf'data-{kind}="{version}"[^>]*>\s*(\d+)', section).group(1)


def test_analyst_sees_every_version_with_its_cases(signed_in, api):
    start(api, "MOS-1")
    start(api, "MOS-2")
    deploy(stepdown_locality_v2(), dict(latest_definition("stepdown_locality").forms), "analyst")
    db.session.commit()
    start(api, "MOS-3")
    page = signed_in("analyst").get("/processes/").get_data(as_text=True)
    assert "Step down from Locality Children&#39;s Social Care (CIN) to Families Plus" in page
    for process in ("stepdown_locality", "stepdown_response", "stepup_cog", "single_assessment"):
        assert f'id="process-{process}"' in page
    assert (cell(page, "running", 1), cell(page, "running", 2)) == ("2", "1")
    assert (cell(page, "finished", 1), cell(page, "finished", 2)) == ("0", "0")
    v2 = latest_definition("stepdown_locality")
    assert v2.sha256[:12] in page and ">analyst<" in page
    assert "Move running cases to version 2" in page
    assert "MOS-1" not in page  # the page is about processes, never a case


def test_processes_are_in_the_analysts_navigation_only(signed_in, api):
    assert 'href="/processes/"' in signed_in("analyst").get("/processes/").get_data(as_text=True)
    worker = signed_in("sw")
    assert 'href="/processes/"' not in worker.get("/").get_data(as_text=True)
    assert worker.get("/processes/").status_code == 403
    assert worker.get("/processes/stepdown_locality/1/download").status_code == 403


def test_a_version_opens_read_only_with_lane_titles(signed_in, api):
    analyst = signed_in("analyst")
    page = analyst.get("/processes/stepdown_locality/1")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "version 1" in html and "process.js" in html and "bpmn-navigated-viewer" in html
    diagram = analyst.get("/processes/stepdown_locality/1/diagram.json").get_json()
    assert 'name="Social Worker (Locality Children\'s Social Care)"' in diagram["xml"]
    assert 'name="sw"' not in diagram["xml"]
    assert analyst.get("/processes/stepdown_locality/9").status_code == 404
    assert analyst.get("/processes/nothing/1/diagram.json").status_code == 404


def test_the_download_is_the_diagram_and_its_forms(signed_in, api):
    response = signed_in("analyst").get("/processes/stepdown_locality/1/download")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert 'filename="stepdown_locality-v1.zip"' in response.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    definition = latest_definition("stepdown_locality")
    assert archive.read("stepdown_locality.bpmn").decode() == definition.bpmn_xml
    forms = {name[len("forms/"):] for name in archive.namelist() if name.startswith("forms/")}
    assert forms == set(definition.forms)
    assert json.loads(archive.read("forms/stepdown_locality-start.json")) == definition.forms["stepdown_locality-start.json"]
