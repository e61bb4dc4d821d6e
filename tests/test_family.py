"""Which records are one child, and which instances are one family, across the case systems' references."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine import runtime
from engine.access import Actor
from engine.definitions import deploy_file
from engine.family import child_key, related_instances
from engine.models import db

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize(("name", "dob", "key"), [
    ("Zoë  O'Brien-Smith", "2015-06-01", "zoe obrien smith|2015-06-01"),
    (" ZOE O’BRIEN SMITH ", "2015-06-01", "zoe obrien smith|2015-06-01"),
    ("José_María", "2015-06-01", "jose maria|2015-06-01"),
    ("Straße", "2015-06-01", "strasse|2015-06-01"),
    ("Amy Hall", None, None),
    ("Amy Hall", "01/02/2015", None),
    ("Amy Hall", "2015-02-30", None),
    ("  '- ", "2015-06-01", None),
    (None, "2015-06-01", None),
])
def test_the_name_and_date_of_birth_key(name, dob, key):
    assert child_key(name, dob) == key


def test_an_instance_finds_its_family_one_hop_away(app, people):
    deploy_file(FIXTURES / "stepup_fixture.bpmn", "ana")
    db.session.commit()
    actor = Actor("cog_mgr", frozenset({"cog_mgr"}))

    def start(case_ref: str, *children: tuple[str, str]):
        data = {"children": [{"name": name, "dob": dob} for name, dob in children]}
        return runtime.start_instance("stepup_fixture", case_ref, data, actor)

    mosaic = start("MOS-1", ("Amy Hall", "2014-02-03"), ("Ben Hall", "2016-07-08"))
    ehm = start("EHM-2", ("Ben  HALL", "2016-07-08"), ("Cara Hall", "2019-01-01"))
    start("LCS-3", ("Cara Hall", "2019-01-01"))  # Cara's, reached from EHM-2 only: a second hop from MOS-1
    start("LCS-4", ("Amy Hall", "2014-02-04"))  # another Amy
    assert [(r.instance.case_ref, r.linked_by) for r in related_instances(mosaic)] == [
        ("MOS-1", ("case_ref",)), ("EHM-2", ("name_dob",))]
    assert [(r.instance.case_ref, r.linked_by) for r in related_instances("EHM-2")] == [
        ("MOS-1", ("name_dob",)), ("EHM-2", ("case_ref",)), ("LCS-3", ("name_dob",))]
    assert related_instances(ehm) == related_instances("EHM-2")
    assert related_instances("NONE-1") == []
