"""Deploying diagrams: versions keyed by content, one parse per version, and hostile input refused."""
from __future__ import annotations

import json
from io import BytesIO
from pathlib import Path

import pytest

from engine import definitions
from engine.definitions import DefinitionError, deploy, deploy_file, parsed_definition
from engine.models import Definition, Instance, db

FIXTURES = Path(__file__).parent / "fixtures"
MINI = FIXTURES / "mini.bpmn"


def mini_forms() -> dict:
    return {p.name: json.loads(p.read_text()) for p in (FIXTURES / "forms").glob("mini-*.json")}


def test_same_bytes_twice_is_one_version(app):
    first, created = deploy_file(MINI, "ana")
    again, created_again = deploy_file(MINI, "ana")
    db.session.commit()
    assert created and not created_again
    assert first.id == again.id and first.version == 1
    assert db.session.query(Definition).count() == 1


def test_changed_diagram_is_a_new_version(app):
    deploy_file(MINI, "ana")
    changed = MINI.read_bytes().replace(b'name="Do the thing"', b'name="Do the thing now"')
    second, created = deploy(changed, mini_forms(), "ana")
    assert created and second.version == 2


def test_a_version_is_parsed_once(app, monkeypatch):
    definition, _ = deploy_file(MINI, "ana")
    definitions.forget_parsed()
    calls = []
    real = definitions.parse_spec
    monkeypatch.setattr(definitions, "parse_spec", lambda xml: calls.append(1) or real(xml))
    first = parsed_definition(definition)
    assert parsed_definition(definition) is first
    assert len(calls) == 1


def test_instance_blob_holds_no_spec(api, people):
    deploy_file(MINI, "ana")
    db.session.commit()
    started = api.post("/instances", "sw", {"process": "mini", "case_ref": "C-1", "data": {"allocated_sw": "sw"}},
                       expect=201)
    blob = json.loads(db.session.get(Instance, started["id"]).serialized)
    assert "spec" not in blob and "subprocess_specs" not in blob
    assert "Do the thing" not in db.session.get(Instance, started["id"]).serialized


HOSTILE = {
    "not xml": b"this is not a diagram",
    "external entity": b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                       b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&x;'
                       b'</bpmn:definitions>',
    "entity expansion": b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
                        b'<d>&b;</d>',
    "no process": b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"/>',
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_or_broken_xml_is_refused(app, name):
    with pytest.raises(DefinitionError):
        deploy(HOSTILE[name], {}, "ana")
    assert db.session.query(Definition).count() == 0


def mutated(old: str, new: str) -> bytes:
    xml = MINI.read_text()
    assert old in xml
    return xml.replace(old, new).encode()


@pytest.mark.parametrize("old,new,expected", [
    ("a_due = due_date", "import os\na_due = due_date", "init"),
    ("a_due = due_date", "len = 3\na_due = due_date", "reserved"),
    ("a_due = due_date", "x = ().__class__\na_due = due_date", "init"),
    ('value="\'mosaic\'"', 'value="open(\'/etc/passwd\')"', "system"),
    ('id="close_case"', 'id="delete_everything"', "unknown operator"),
    ('value="mini-a.json"', 'value="missing.json"', "missing.json is missing"),
    ("<bpmn:userTask ", "<bpmn:usrTask ", "usrTask"),
])
def test_unsafe_or_broken_diagram_is_refused_with_a_reason(app, old, new, expected):
    with pytest.raises(DefinitionError) as refused:
        deploy(mutated(old, new), mini_forms(), "ana")
    assert expected in str(refused.value)
    assert db.session.query(Definition).count() == 0


def test_form_with_reserved_field_is_refused(app):
    forms = mini_forms()
    forms["mini-a.json"]["properties"]["today"] = {"type": "string"}
    with pytest.raises(DefinitionError, match="reserved"):
        deploy(MINI.read_bytes(), forms, "ana")


def test_analyst_deploys_through_the_api_and_others_cannot(api, people):
    def upload(who: str, xml: bytes, expect: int) -> dict:
        response = api.client.post("/api/v1/definitions", headers={"Authorization": f"Bearer {people[who].token}"},
                                   data={"bpmn": (BytesIO(xml), "mini.bpmn"),
                                         "forms": [(BytesIO(p.read_bytes()), p.name)
                                                   for p in (FIXTURES / "forms").glob("mini-*.json")]},
                                   content_type="multipart/form-data")
        assert response.status_code == expect, response.get_data(as_text=True)
        return response.get_json()

    upload("sw", MINI.read_bytes(), 403)
    assert upload("analyst", MINI.read_bytes(), 201)["version"] == 1
    assert upload("analyst", MINI.read_bytes(), 200)["created"] is False
    refused = upload("analyst", HOSTILE["external entity"], 400)
    assert "DOCTYPE" in refused["fields"]["bpmn"]
    api.get("/definitions", "sw", expect=403)  # the same rule as the Definitions page
    listed = api.get("/definitions", "manager")["definitions"]
    assert [(d["process"], d["version"]) for d in listed if d["process"] == "mini"] == [("mini", 1)]


def test_oversized_upload_is_413(api, people):
    response = api.client.post("/api/v1/definitions", headers={"Authorization": f"Bearer {people['analyst'].token}"},
                               data={"bpmn": (BytesIO(b"x" * 2_000_000), "big.bpmn")},
                               content_type="multipart/form-data")
    assert response.status_code == 413
    assert response.get_json()["error"]
