"""A worker's day through the API and the pages' forms: who may start which process, a second running case
for one reference, role titles, times in words, the change report's errors, and values no one has given."""
from __future__ import annotations

import re
from datetime import datetime

import pytest
from markupsafe import escape

from engine.definitions import latest_definition
from engine.models import Event, Instance, db
from engine.roles import role_titles, roles_of
from web.templating import due, london

CHILDREN = [{"name": "Ash Jones", "dob": "2013-09-14"}]
STARTS = {
    "stepdown_locality": ("sw", {"hub": "north", "allocated_sw": "sw", "children": CHILDREN}),
    "stepdown_response": ("rtm", {"allocated_sw": "sw", "children": CHILDREN}),
    "stepup_cog": ("keyworker", {"keyworker": "keyworker", "trigger_route": "keyworker_concern",
                                 "children": CHILDREN}),
    "single_assessment": ("saat_tm", {"sa_ref": "SA-1", "allocated_sw": "sw", "family_postcode": "BS15 1AA",
                                      "children": CHILDREN}),
}


def start(api, process: str, case_ref: str, who: str | None = None, expect: int = 201, **extra) -> dict:
    starter, data = STARTS[process]
    body = {"process": process, "case_ref": case_ref, "data": data, **extra}
    return api.post("/instances", who or starter, body, expect=expect)


def sign_in(client, username: str, password: str) -> None:
    """CSRF is off in these tests' app, so the sign-in form is posted as is."""
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)


def count(process: str) -> int:
    db.session.rollback()
    return db.session.query(Instance).filter_by(process_id=process).count()


def test_each_diagram_names_the_roles_that_start_it(api):
    starts = {p: sorted(roles_of(latest_definition(p)).starts) for p in STARTS}
    assert starts == {"stepdown_locality": ["sw", "sw_tm"], "stepdown_response": ["rtm", "sw"],
                      "stepup_cog": ["cog_mgr", "keyworker"], "single_assessment": ["saat_tm", "sw"]}


@pytest.mark.parametrize("process", list(STARTS))
def test_a_starting_role_starts_and_any_other_gets_403_and_nothing_is_created(api, process):
    refused = start(api, process, "REF-1", who="fsw", expect=403)
    assert "may not start" in refused["error"]
    assert count(process) == 0
    assert start(api, process, "REF-1")["status"] == "running"
    assert count(process) == 1


def test_a_second_running_case_for_one_reference_needs_confirming_and_is_recorded(api):
    first = start(api, "stepdown_locality", "MOS-9")
    refused = start(api, "stepdown_locality", "MOS-9", expect=409)
    assert f"/instances/{first['id']}" in refused["error"] and "confirm_duplicate" in refused["fields"]
    assert count("stepdown_locality") == 1
    start(api, "stepdown_response", "MOS-9")  # another process for the same case is not a duplicate
    second = start(api, "stepdown_locality", "MOS-9", confirm_duplicate=True)
    started = db.session.query(Event).filter_by(instance_id=second["id"], type="instance_started").one()
    assert started.detail["confirmed_duplicate_of"] == first["id"]


def test_the_start_page_lists_what_each_role_may_start_in_words(app, people, deployed):
    def offered(who: str) -> list[str]:
        client = app.test_client()
        sign_in(client, who, f"pw-{who}")
        return re.findall(r'data-process="([a-z_]+)"', client.get("/start").get_data(as_text=True))

    assert offered("sw") == ["single_assessment", "stepdown_locality", "stepdown_response"]
    assert offered("keyworker") == ["stepup_cog"]
    assert offered("fsw") == []
    client = app.test_client()
    sign_in(client, "keyworker", "pw-keyworker")
    page = client.get("/start").get_data(as_text=True)
    assert str(escape(latest_definition("stepup_cog").name)) in page and "Integrated Services Key Worker" in page


def test_the_start_form_refuses_another_role_and_a_duplicate_keeps_what_was_typed(app, people, deployed):
    client = app.test_client()
    sign_in(client, "fsw", "pw-fsw")
    assert client.get("/instances/new?process=stepdown_locality").status_code == 403
    sign_in(client, "sw", "pw-sw")
    form = {"process": "stepdown_locality", "case_ref": "MOS-5", "hub": "south", "allocated_sw": "sw",
            "children.0.name": "Ash Jones", "children.0.dob-day": "14", "children.0.dob-month": "9",
            "children.0.dob-year": "2013"}
    assert client.post("/instances/new", data=form).status_code == 302
    again = client.post("/instances/new", data=form)
    page = again.get_data(as_text=True)
    assert again.status_code == 409 and "already has a" in page and 'id="running-link"' in page
    assert 'value="Ash Jones"' in page and count("stepdown_locality") == 1
    assert client.post("/instances/new", data={**form, "confirm_duplicate": "yes"}).status_code == 302
    assert count("stepdown_locality") == 2


def test_add_another_child_gives_one_more_row_and_keeps_the_others(app, people, deployed):
    client = app.test_client()
    sign_in(client, "sw", "pw-sw")
    page = client.get("/instances/new?process=stepdown_locality").get_data(as_text=True)
    assert 'name="children.0.name"' in page and 'name="children.1.name"' not in page
    more = client.post("/instances/new", data={"process": "stepdown_locality", "add_another": "children",
                                                "children.0.name": "Ash Jones"}).get_data(as_text=True)
    assert 'name="children.1.name"' in more and 'value="Ash Jones"' in more and "There is a problem" not in more


def test_roles_have_titles_from_the_diagrams_and_the_worklist_shows_them(api, app):
    titles = role_titles()
    assert titles["sw_tm"] == "Social Work Team Manager / Locality Team Manager"
    assert titles["sw"] == "Social Worker" and titles["manager"] == "Manager (all cases)"
    start(api, "stepdown_locality", "MOS-7")
    client = app.test_client()
    sign_in(client, "sw_tm", "pw-sw_tm")
    page = client.get("/").get_data(as_text=True)
    assert "Social Work Team Manager / Locality Team Manager" in page and ">sw_tm<" not in page
    assert "Signed in as SW_TM (Social Work Team Manager / Locality Team Manager)" in page


def test_times_are_in_london_and_in_words():
    assert london("2027-01-05T14:00:00+00:00") == "Tue 5 Jan 2027 at 14:00"
    assert london("2025-06-05T13:00:00+00:00") == "Thu 5 Jun 2025 at 14:00"
    # A day's deadline breaches at the midnight after it: that is the end of the due date.
    assert due("2027-01-07T00:00:00+00:00") == "Wed 6 Jan 2027, end of day"
    assert due("2025-06-06T00:00:00+01:00") == "Thu 5 Jun 2025, end of day"
    assert due("2027-01-05") == "Tue 5 Jan 2027, end of day"
    assert due(datetime.fromisoformat("2027-01-05T16:30:00+00:00")) == "Tue 5 Jan 2027 at 16:30"


def test_the_case_reference_search_ignores_case(api):
    start(api, "stepdown_locality", "MOS-42")
    assert [t["case_ref"] for t in api.tasks("sw_tm", case_ref="mos-42")] == ["MOS-42"]


def test_a_value_no_one_has_given_is_not_yet_answered(api, app):
    case = start(api, "stepdown_locality", "MOS-3")  # L01 opens with yps_involvement_to_consider = False
    client = app.test_client()
    sign_in(client, "manager", "pw-manager")
    page = client.get(f"/instances/{case['id']}").get_data(as_text=True)
    row = re.search(r"Should YPS involvement be considered\?.*?</dd>", page, re.DOTALL)
    assert row and "Not yet answered" in row.group() and ">No<" not in row.group()


def test_a_refused_change_report_comes_back_with_its_errors_and_what_was_typed(api, app):
    case = start(api, "stepdown_locality", "MOS-4")
    api.complete(case["id"], "L01", "sw_tm", {"identification_route": "monthly_step_down_meeting",
                                              "yps_involvement_to_consider": False})
    client = app.test_client()
    sign_in(client, "sw", "pw-sw")
    page = client.get(f"/instances/{case['id']}").get_data(as_text=True)
    assert 'id="change-form"' in page
    answer = client.post(f"/instances/{case['id']}/events", data={
        "event": "consent_withdrawn", "details": "Mum rang the office.", "withdrawn_by_name": "Jo Jones",
        "withdrawn_by_relationship": "", "method": ""})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 400 and "There is a problem" in page
    assert "Enter their relationship to the child" in page and "Enter how consent was withdrawn" in page
    assert "Mum rang the office." in page and 'value="Jo Jones"' in page
    assert db.session.query(Event).filter_by(instance_id=case["id"], type="event_raised").count() == 0
    done = client.post(f"/instances/{case['id']}/events", data={"event": "new_safeguarding_concern",
                                                                 "details": "School raised a concern.",
                                                                 "withdrawn_by_name": "", "method": ""})
    assert done.status_code == 302


def test_the_change_report_is_offered_only_where_the_case_can_take_it(api, app):
    case = start(api, "stepdown_locality", "MOS-6")  # at L01, before the step down's window opens
    assert api.instance(case["id"])["accepts_events"] == []
    client = app.test_client()
    sign_in(client, "manager", "pw-manager")
    assert 'id="change-form"' not in client.get(f"/instances/{case['id']}").get_data(as_text=True)


def test_claim_is_not_offered_on_a_task_already_with_you(api, app):
    case = start(api, "stepdown_locality", "MOS-8")
    task = api.task_at(case["id"], "L01")
    client = app.test_client()
    sign_in(client, "sw_tm", "pw-sw_tm")
    assert 'id="claim"' in client.get(f"/tasks/{task['task_id']}").get_data(as_text=True)
    api.post(f"/tasks/{task['task_id']}/claim", "sw_tm")
    assert 'id="claim"' not in client.get(f"/tasks/{task['task_id']}").get_data(as_text=True)
