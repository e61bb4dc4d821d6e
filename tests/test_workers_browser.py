"""A worker's pages in headless Chromium: the Start page, each of the four processes started from it by its
starting role, the 403 for another role, the duplicate refusal, the change report's inline errors with what
was typed kept, and lane titles on the worklist, task and case pages. axe-core finds nothing serious on any
of them; screenshots go to tests/artifacts/."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from engine.definitions import deploy_file
from engine.models import Instance, db
from tests.browser import (
    ROOT,
    live_server,
    screenshot,
    serious_violations,
    sign_in,
)
from tests.conftest import Api, Person
from web.cli import issue_token, upsert_user

pytestmark = pytest.mark.browser
ROLES = ["sw", "sw_tm", "rtm", "keyworker", "saat_tm", "fsw", "manager"]
PROCESSES = ["stepdown_locality", "stepdown_response", "stepup_cog", "single_assessment"]


@pytest.fixture
def api(app) -> Api:
    people = {}
    for role in ROLES:
        user = upsert_user(role, [role], f"pw-{role}", display_name=role.upper())
        people[role] = Person(role, issue_token(user), f"pw-{role}")
    for process in PROCESSES:
        deploy_file(ROOT / "processes" / f"{process}.bpmn", "test")
    db.session.commit()
    return Api(app.test_client(), people)


@pytest.fixture
def page(chromium, app, api):
    app.config["WTF_CSRF_ENABLED"] = True
    db.session.commit()
    with live_server(app) as server:
        context = chromium.new_context(base_url=server.url, viewport={"width": 1280, "height": 900},
                                       locale="en-GB", timezone_id="Europe/London")
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
        context.close()


def no_serious_violations(page, name: str) -> None:
    screenshot(page, name)
    assert serious_violations(page) == [], name


def fill_child(page, name: str = "Ash Jones") -> None:
    page.fill("#children\\.0\\.name", name)
    page.fill("#children\\.0\\.dob-day", "14")
    page.fill("#children\\.0\\.dob-month", "9")
    page.fill("#children\\.0\\.dob-year", "2013")


def choose_person(page, field: str, username: str) -> None:
    page.select_option(f"#{field}", username)


FILL = {
    "stepdown_locality": lambda page: (page.check("#hub"), choose_person(page, "allocated_sw", "sw")),
    "stepdown_response": lambda page: choose_person(page, "allocated_sw", "sw"),
    "stepup_cog": lambda page: (choose_person(page, "keyworker", "keyworker"), page.check("#trigger_route")),
    "single_assessment": lambda page: (page.fill("#sa_ref", "SA-1"), choose_person(page, "allocated_sw", "sw"),
                                       page.fill("#family_postcode", "BS15 1AA")),
}
STARTERS = {"stepdown_locality": "sw_tm", "stepdown_response": "rtm", "stepup_cog": "keyworker",
            "single_assessment": "saat_tm"}


@pytest.mark.parametrize("process", PROCESSES)
def test_each_process_is_started_from_the_start_page_by_its_starting_role(page, process):
    sign_in(page, STARTERS[process], f"pw-{STARTERS[process]}")
    page.get_by_role("link", name="Start a case").click()
    expect(page.locator("h1")).to_have_text("Start a case")
    no_serious_violations(page, f"workers-start-page-{STARTERS[process]}")
    page.locator(f"a[data-process='{process}']").click()
    page.fill("#case_ref", f"REF-{process}")
    fill_child(page)
    FILL[process](page)
    no_serious_violations(page, f"workers-start-form-{process}")
    page.click("#start")
    expect(page.locator("h1")).to_have_text(f"Case REF-{process}")
    db.session.rollback()
    assert db.session.query(Instance).filter_by(process_id=process).count() == 1
    no_serious_violations(page, f"workers-started-{process}")


def test_another_role_gets_403_and_nothing_is_created(page):
    sign_in(page, "fsw", "pw-fsw")
    page.get_by_role("link", name="Start a case").click()
    expect(page.locator("#startable")).to_contain_text("Your role does not start any process")
    response = page.goto("/instances/new?process=stepdown_locality")
    assert response.status == 403
    expect(page.locator("main")).to_contain_text("may not start")
    no_serious_violations(page, "workers-start-403")
    db.session.rollback()
    assert db.session.query(Instance).count() == 0


def test_a_duplicate_is_refused_with_a_link_to_the_running_case_unless_confirmed(page, api):
    api.post("/instances", "sw", {"process": "stepdown_response", "case_ref": "MOS-1",
                                  "data": {"allocated_sw": "sw", "children": [{"name": "Ash Jones",
                                                                               "dob": "2013-09-14"}]}}, expect=201)
    sign_in(page, "rtm", "pw-rtm")
    page.goto("/instances/new?process=stepdown_response")
    page.fill("#case_ref", "MOS-1")
    fill_child(page, "Bo Jones")
    choose_person(page, "allocated_sw", "sw")
    page.click("#start")
    expect(page.locator(".govuk-error-summary")).to_contain_text("already has a")
    expect(page.locator("#running-link")).to_be_visible()
    expect(page.locator("#children\\.0\\.name")).to_have_value("Bo Jones")
    no_serious_violations(page, "workers-start-duplicate")
    page.check("#confirm_duplicate")
    page.click("#start")
    expect(page.locator("h1")).to_have_text("Case MOS-1")
    db.session.rollback()
    assert db.session.query(Instance).filter_by(case_ref="MOS-1").count() == 2


def test_the_change_report_shows_its_errors_on_the_form_and_keeps_what_was_typed(page, api):
    started = api.post("/instances", "sw", {"process": "stepdown_locality", "case_ref": "MOS-2", "data": {
        "hub": "north", "allocated_sw": "sw", "children": [{"name": "Ash Jones", "dob": "2013-09-14"}]}},
        expect=201)
    api.complete(started["id"], "L01", "sw_tm", {"identification_route": "monthly_step_down_meeting",
                                                 "yps_involvement_to_consider": False})
    sign_in(page, "sw", "pw-sw")
    page.goto(f"/instances/{started['id']}")
    page.locator("#change-report summary").click()
    page.check("#event")  # consent withdrawn
    page.fill("#details", "Mum rang the office.")
    page.fill("#withdrawn_by_name", "Jo Jones")
    page.click("#report-change")
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter their relationship to the child")
    expect(page.locator("#details")).to_have_value("Mum rang the office.")
    expect(page.locator("#withdrawn_by_name")).to_have_value("Jo Jones")
    expect(page.locator("#event")).to_be_checked()
    no_serious_violations(page, "workers-change-report-errors")


def test_lanes_are_shown_by_their_titles(page, api):
    started = api.post("/instances", "sw", {"process": "stepdown_locality", "case_ref": "MOS-3", "data": {
        "hub": "north", "allocated_sw": "sw", "children": [{"name": "Ash Jones", "dob": "2013-09-14"}]}},
        expect=201)
    title = "Social Work Team Manager / Locality Team Manager"
    sign_in(page, "sw_tm", "pw-sw_tm")
    expect(page.locator("#worklist")).to_contain_text(title)
    expect(page.locator("#signed-in-as")).to_contain_text(f"SW_TM ({title})")
    no_serious_violations(page, "workers-worklist-lane-titles")
    page.locator(".app-task-link").first.click()
    expect(page.locator(".app-task-facts")).to_contain_text(title)
    page.goto(f"/instances/{started['id']}")
    expect(page.locator("#current-steps")).to_contain_text(title)
