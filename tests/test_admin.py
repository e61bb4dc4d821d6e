"""An analyst deploys a new diagram version from the Definitions page; a broken one is refused with reasons."""
from __future__ import annotations

from io import BytesIO
from pathlib import Path

from engine.models import Definition, db

FIXTURES = Path(__file__).parent / "fixtures"




def upload(client, xml: bytes):
    forms = [(BytesIO(p.read_bytes()), p.name) for p in (FIXTURES / "forms").glob("mini-*.json")]
    return client.post("/definitions/", data={"bpmn": (BytesIO(xml), "mini.bpmn"), "forms": forms},
                       content_type="multipart/form-data")


def test_analyst_deploys_and_sees_the_version(signed_in):
    analyst = signed_in("analyst")
    assert upload(analyst, (FIXTURES / "mini.bpmn").read_bytes()).status_code == 302
    page = analyst.get("/definitions/").get_data(as_text=True)
    assert "mini" in page and "version 1 deployed" in page
    again = upload(analyst, (FIXTURES / "mini.bpmn").read_bytes())
    assert again.status_code == 302
    assert "already these exact files" in analyst.get("/definitions/").get_data(as_text=True)
    assert db.session.query(Definition).count() == 1


def test_broken_diagram_is_refused_with_its_reasons(signed_in):
    analyst = signed_in("analyst")
    broken = (FIXTURES / "mini.bpmn").read_text().replace("a_due = due_date", "import os\na_due = due_date")
    response = upload(analyst, broken.encode())
    assert response.status_code == 400
    assert "init" in response.get_data(as_text=True)
    assert db.session.query(Definition).count() == 0


def test_workers_cannot_deploy(signed_in):
    worker = signed_in("sw")
    assert upload(worker, (FIXTURES / "mini.bpmn").read_bytes()).status_code == 403
    assert worker.get("/definitions/").status_code == 403
    assert db.session.query(Definition).count() == 0
