"""Bad input gets a clear error and changes nothing: every row of the foundation's bad-input table."""
from __future__ import annotations

from pathlib import Path

import pytest
import time_machine

from engine.definitions import deploy_file
from engine.models import Event, HumanTask, Instance, db

MINI = Path(__file__).parent / "fixtures" / "mini.bpmn"
FRI = "2024-12-20T10:00:00+00:00"


@pytest.fixture
def case(api):
    deploy_file(MINI, "ana")
    db.session.commit()
    started = api.post("/instances", "sw", {"process": "mini", "case_ref": "C-9", "data": {"allocated_sw": "sw"}},
                       expect=201)
    return started["id"], started["current_steps"][0]["task_id"]


def snapshot(instance_id: int) -> tuple:
    db.session.rollback()
    instance = db.session.get(Instance, instance_id)
    rows = db.session.query(HumanTask).filter_by(instance_id=instance_id).count()
    events = db.session.query(Event).filter(Event.type != "case_viewed").count()
    return instance.revision, instance.serialized, rows, events


def test_missing_fields_wrong_types_and_impossible_dates(api, case):
    instance_id, task_id = case
    before = snapshot(instance_id)
    answer = api.post(f"/tasks/{task_id}/complete", "sw", {"data": {}}, expect=400)
    assert set(answer["fields"]) == {"answer", "answered_on"}
    answer = api.post(f"/tasks/{task_id}/complete", "sw",
                      {"data": {"answer": 7, "answered_on": "2025-02-30"}}, expect=400)
    assert "answer" in answer["fields"] and "answered_on" in answer["fields"]
    assert "real date" in answer["fields"]["answered_on"]
    answer = api.post(f"/tasks/{task_id}/complete", "sw", {"data": {"answer": "yes", "answered_on": "2025-01-02",
                                                                    "surprise": 1}}, expect=400)
    assert "surprise" in answer["fields"]
    api.post(f"/tasks/{task_id}/complete", "sw", {"data": "not an object"}, expect=400)
    assert snapshot(instance_id) == before


def test_a_rule_that_must_hold_blocks(api, case):
    _, task_id = case
    with time_machine.travel(FRI, tick=False):
        answer = api.post(f"/tasks/{task_id}/complete", "sw",
                          {"data": {"answer": "yes", "answered_on": "2024-12-21"}}, expect=400)
    assert answer["fields"] == {"answered_on": "The date answered cannot be in the future"}


def test_override_needs_its_reason_and_is_recorded(api, case):
    instance_id, task_id = case
    refused = api.post(f"/tasks/{task_id}/complete", "sw", {"data": {"answer": "no", "answered_on": "2024-12-01"}},
                       expect=400)
    assert refused["fields"] == {"note_reason": "Give a reason to answer no"}
    done = api.post(f"/tasks/{task_id}/complete", "sw", {"data": {"answer": "no", "answered_on": "2024-12-01",
                                                                  "note_reason": "family asked"}})
    assert done["overrides"] == [{"rule": "T2", "reason": "family asked"}]
    assert [w["code"] for w in done["warnings"]] == ["note_missing"]
    completed = next(h for h in api.instance(instance_id)["history"] if h["type"] == "task_completed")
    assert completed["detail"]["warnings"] == ["note_missing"]
    assert completed["detail"]["override"] == {"rule": "T2", "reason": "family asked"}


def test_malformed_json_is_400(api, case, people):
    instance_id, task_id = case
    before = snapshot(instance_id)
    response = api.client.post(f"/api/v1/tasks/{task_id}/complete", data="{not json",
                               headers={"Authorization": f"Bearer {people['sw'].token}",
                                        "Content-Type": "application/json"})
    assert response.status_code == 400 and "JSON" in response.get_json()["error"]
    assert snapshot(instance_id) == before


@pytest.mark.parametrize("task_id", ["00000000-0000-0000-0000-000000000000", "nonsense"])
def test_unknown_task_is_404(api, case, task_id):
    api.post(f"/tasks/{task_id}/complete", "sw", {"data": {}}, expect=404)
    api.get(f"/tasks/{task_id}", "sw", expect=404)


def test_another_lanes_task_is_403_and_changes_nothing(api, case):
    instance_id, task_id = case
    before = snapshot(instance_id)
    for who in ("fsw", "fp_pm"):
        api.post(f"/tasks/{task_id}/complete", who, {"data": {"answer": "yes", "answered_on": "2024-12-01"}},
                 expect=403)
        api.post(f"/tasks/{task_id}/claim", who, expect=403)
        api.get(f"/tasks/{task_id}", who, expect=403)
        assert api.tasks(who) == []
    assert snapshot(instance_id) == before


def test_someone_elses_claimed_task_is_403(api, case):
    _, task_id = case
    api.post(f"/tasks/{task_id}/claim", "sw2")
    api.post(f"/tasks/{task_id}/complete", "sw", {"data": {"answer": "yes", "answered_on": "2024-12-01"}},
             expect=403)
    api.post(f"/tasks/{task_id}/claim", "sw", expect=409)


def test_double_submission_is_409_naming_who_and_when(api, case):
    instance_id, task_id = case
    data = {"data": {"answer": "yes", "answered_on": "2024-12-01", "note": "ok"}}
    api.post(f"/tasks/{task_id}/complete", "sw", data)
    after_first = snapshot(instance_id)
    second = api.post(f"/tasks/{task_id}/complete", "sw", data, expect=409)
    assert "completed by sw at" in second["error"]
    assert snapshot(instance_id) == after_first


def test_oversized_body_is_413(api, case):
    _, task_id = case
    huge = {"data": {"answer": "yes", "answered_on": "2024-12-01", "note": "x" * 1_100_000}}
    response = api.call("POST", f"/tasks/{task_id}/complete", "sw", json=huge, expect=413)
    assert response["error"] == "The request is too large"


def test_missing_or_bad_token_is_401(api, case):
    assert api.client.get("/api/v1/tasks").status_code == 401
    assert api.client.get("/api/v1/tasks", headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_start_with_missing_case_details_is_400(api, case):
    count = db.session.query(Instance).count()
    answer = api.post("/instances", "sw", {"process": "mini", "case_ref": "", "data": {}}, expect=400)
    assert {"case_ref", "allocated_sw"} <= set(answer["fields"])
    api.post("/instances", "sw", {"process": "nope", "case_ref": "C", "data": {}}, expect=404)
    api.post("/instances", "sw", {"process": "mini", "case_ref": "C", "data": {"allocated_sw": "fsw"}}, expect=400)
    assert db.session.query(Instance).count() == count
