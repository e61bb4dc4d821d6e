"""Values no database or serializer can hold are refused at the door with a 400 naming the field, and
nothing is stored: NaN, Infinity, NUL, integers past 64 bits, unpaired surrogates, endless nesting, ids and
page numbers out of range, an over-long case reference, and dates before the calendar can count."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from flask import g
from werkzeug.datastructures import MultiDict

from engine.definitions import deploy_file
from engine.models import Event, HumanTask, Instance, db
from tests.conftest import Api
from web.formfields import parse

MINI = Path(__file__).parent / "fixtures" / "mini.bpmn"

# Raw JSON text, because Python's json module would not write most of these.
BAD_VALUES = {
    "nan": ("NaN", "finite number"),
    "infinity": ("Infinity", "finite number"),
    "minus_infinity": ("-Infinity", "finite number"),
    "nul": ('"Sam\\u0000Smith"', "NUL"),
    "big_int": ("9223372036854775808", "whole number"),
    "big_negative_int": ("-9223372036854775809", "whole number"),
    "lone_surrogate": ('"\\ud800"', "unpaired surrogate"),
    "lone_low_surrogate": ('"Sam \\udfff"', "unpaired surrogate"),
}



@pytest.fixture
def api(app, people) -> Api:
    """The JSON API with only the mini process deployed (the suite's own api fixture deploys every process)."""
    @app.before_request
    def fresh_user() -> None:  # the fixture's one app context is shared by requests; a server's is not
        g.pop("_login_user", None)

    return Api(app.test_client(), people)

@pytest.fixture
def case(api):
    deploy_file(MINI, "ana")
    db.session.commit()
    started = api.post("/instances", "sw", {"process": "mini", "case_ref": "C-9", "data": {"allocated_sw": "sw"}},
                       expect=201)
    return started["id"], started["current_steps"][0]["task_id"]


def stored() -> tuple:
    """Everything a refused request must leave as it was."""
    db.session.rollback()
    instances = [(i.id, i.revision, i.serialized) for i in db.session.query(Instance).order_by(Instance.id)]
    events = db.session.query(Event).filter(Event.type != "case_viewed").count()
    return instances, db.session.query(HumanTask).count(), events


def post_raw(api, path: str, who: str, text: str):
    return api.client.post(f"/api/v1{path}", data=text.encode("utf-8"),
                           headers={"Authorization": f"Bearer {api.people[who].token}",
                                    "Content-Type": "application/json"})


def refused(response, field: str, words: str) -> None:
    assert response.status_code == 400, response.get_data(as_text=True)
    fields = response.get_json()["fields"]
    assert field in fields, fields
    assert words in fields[field]


@pytest.mark.parametrize("name", sorted(BAD_VALUES))
def test_a_bad_value_is_400_naming_the_field_at_completion_start_and_event(api, case, name):
    instance_id, task_id = case
    raw, words = BAD_VALUES[name]
    before = stored()
    completion = f'{{"data": {{"answer": "yes", "answered_on": "2024-12-01", "note": {raw}}}}}'
    refused(post_raw(api, f"/tasks/{task_id}/complete", "sw", completion), "data.note", words)
    start = f'{{"process": "mini", "case_ref": "C-10", "data": {{"allocated_sw": "sw", "child_name": {raw}}}}}'
    refused(post_raw(api, "/instances", "sw", start), "data.child_name", words)
    event = f'{{"event": "new_safeguarding_concern", "payload": {{"details": {raw}}}}}'
    refused(post_raw(api, f"/instances/{instance_id}/events", "sw", event), "payload.details", words)
    assert stored() == before
    api.get(f"/instances/{instance_id}", "sw")  # the case still reads


def test_a_lone_surrogate_in_a_field_name_is_refused(api, case):
    before = stored()
    body = '{"process": "mini", "case_ref": "C-11", "data": {"allocated_sw": "sw", "\\ud800": 1}}'
    response = post_raw(api, "/instances", "sw", body)
    assert response.status_code == 400
    assert "data.\\ud800" in response.get_json()["fields"]
    assert stored() == before


@pytest.mark.parametrize("depth", [40, 1_000, 100_000])
def test_deep_nesting_is_400_naming_where_it_starts(api, case, depth):
    _, task_id = case
    before = stored()
    body = '{"data": {"answer": "yes", "note": ' + "[" * depth + "]" * depth + "}}"
    response = post_raw(api, f"/tasks/{task_id}/complete", "sw", body)
    refused(response, "data.note", "nest")
    assert stored() == before


def test_ordinary_values_still_pass(api, case):
    _, task_id = case
    body = '{"data": {"answer": "yes", "answered_on": "2024-12-01", "note": "Zoë ✓ 😀 -1.5e3"}}'
    assert post_raw(api, f"/tasks/{task_id}/complete", "sw", body).status_code == 200


def test_an_over_long_case_reference_is_400(api, case):
    before = stored()
    answer = api.post("/instances", "sw", {"process": "mini", "case_ref": "C" * 101,
                                           "data": {"allocated_sw": "sw"}}, expect=400)
    assert "100 characters" in answer["fields"]["case_ref"]
    assert stored() == before
    api.post("/instances", "sw", {"process": "mini", "case_ref": "C" * 100, "data": {"allocated_sw": "sw"}},
             expect=201)


@pytest.mark.parametrize("path,field", [
    ("/instances/9223372036854775808", "instance_id"),
    ("/instances/99999999999999999999999", "instance_id"),
    ("/tasks?page=99999999999999999999", "page"),
    ("/tasks?page=0", "page"),
    ("/tasks?per_page=-5", "per_page"),
    ("/tasks?per_page=abc", "per_page"),
    ("/tasks?instance=9223372036854775808", "instance"),
    ("/notifications?instance=-1", "instance"),
    ("/tasks?case_ref=C%009", "case_ref"),
])
def test_out_of_range_ids_and_arguments_are_400_naming_them(api, case, path, field):
    response = api.client.get(f"/api/v1{path}", headers={"Authorization": f"Bearer {api.people['sw'].token}"})
    refused(response, field, "")


def test_events_on_an_id_past_the_integer_range_are_400(api, case):
    response = post_raw(api, "/instances/9223372036854775808/events", "sw",
                        '{"event": "new_safeguarding_concern", "payload": {"details": "x"}}')
    refused(response, "instance_id", "whole number")


def test_the_largest_id_is_simply_not_found(api, case):
    api.get("/instances/9223372036854775807", "sw", expect=404)
    api.get("/tasks?page=100000&per_page=500", "sw")


# ---- the pages -------------------------------------------------------------------------------------------

@pytest.fixture
def browser(app, case):
    client = app.test_client()
    assert client.post("/login", data={"username": "manager", "password": "pw-manager"}).status_code == 302
    return client


@pytest.mark.parametrize("query,field", [
    ("from=0001-01-01", "from"),
    ("to=9999-12-31", "to"),
    ("from=2025-01-01&to=0001-01-01", "to"),
])
def test_dashboard_dates_outside_the_range_are_400(browser, query, field):
    response = browser.get(f"/dashboard/?process=mini&{query}")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert f'href="#{field}"' in page and "must be between 1900-01-01 and 9998-12-31" in page


def test_dashboard_dates_at_the_ends_of_the_range_are_shown(browser):
    assert browser.get("/dashboard/?process=mini&from=1900-01-01&to=9998-12-31").status_code == 200


def test_a_page_id_past_the_integer_range_is_400(browser):
    response = browser.get("/instances/9223372036854775808")
    assert response.status_code == 400 and "must be a whole number from 0 to" in response.get_data(as_text=True)


def test_html_forms_refuse_nul_and_store_nothing(browser, case):
    instance_id, task_id = case
    before = stored()
    response = browser.post(f"/tasks/{task_id}/complete", data={"answer": "yes", "answered_on": "2024-12-01",
                                                                 "note": "a\x00b", "acknowledge_warnings": "1"})
    assert response.status_code == 400 and "NUL" in response.get_data(as_text=True)
    response = browser.post("/instances/new", data={"process": "mini", "case_ref": "W\x00-2", "allocated_sw": "sw"})
    assert response.status_code == 400
    response = browser.post(f"/instances/{instance_id}/events", data={"event": "new_safeguarding_concern",
                                                                      "details": "\x00"})
    assert response.status_code == 400
    assert browser.post("/notifications/read", data={"id": "99999999999999999999"}).status_code == 400
    assert stored() == before


@pytest.mark.parametrize("typed", ["nan", "inf", "-Infinity", "99999999999999999999999"])
def test_a_number_box_holding_nan_or_a_huge_number_stays_text_for_the_schema_to_name(typed):
    schema = {"type": "object", "properties": {"count": {"type": "integer"}, "ratio": {"type": "number"}}}
    parsed = parse(schema, MultiDict({"count": typed, "ratio": typed}))
    assert parsed["count"] == typed
    assert parsed["ratio"] == typed or math.isfinite(parsed["ratio"])
    assert json.dumps(parsed, allow_nan=False)
