"""A manager's day in headless Chromium: find a case, follow a dashboard count to its cases, read the diagram
(lane titles, the whole process, the Due badge clear of its step), the folded history and its audit trail,
reassign a task, and a sign-in page with no banner. Every page passes axe-core."""
from __future__ import annotations

import copy
from datetime import datetime, timedelta

import pytest
import time_machine

from engine.models import HumanTask, db
from tests.conftest import Api
from tests.test_cases import MONDAY, to_l16
from tests.test_dashboard_browser import ARTIFACTS, api, axe_violations, browser, live_server, sign_in  # noqa: F401
from tests.test_reports import start
from tests.walk import Case

pytestmark = pytest.mark.browser


@pytest.fixture
def cases(api: Api) -> dict[str, Case]:  # noqa: F811
    made = {}
    with time_machine.travel(MONDAY, tick=False) as clock:
        for n, (ref, hub, name) in enumerate([("MOS-1", "north", "Sam Smith"), ("MOS-2", "north", "Kim Jones"),
                                              ("MOS-3", "south", "Zoë O'Brien")]):
            clock.move_to(datetime.fromisoformat(MONDAY) + timedelta(days=n))
            made[ref] = Case(api, clock, "stepdown_locality", ref,
                             copy.deepcopy(start(hub, [{"name": name, "dob": "2015-06-01"}])))
        clock.move_to(datetime.fromisoformat(MONDAY) + timedelta(days=7))
        to_l16(made["MOS-2"])
    db.session.commit()
    return made


def checked(page, name: str) -> None:
    serious = [v for v in axe_violations(page) if v["impact"] in ("serious", "critical")]
    assert serious == [], serious
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def new_page(browser):  # noqa: F811
    return browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-GB", timezone_id="Europe/London")


def test_a_manager_finds_a_case_by_a_childs_name(cases, live_server, browser):  # noqa: F811
    page = new_page(browser)
    sign_in(page, live_server, "manager")
    page.get_by_role("link", name="Cases").click()
    page.get_by_label("Case reference or child's name").fill("zoe o'brien")
    page.get_by_role("button", name="Find cases").click()
    rows = page.locator("#cases tbody tr")
    assert rows.count() == 1 and "MOS-3" in rows.first.inner_text() and "Zoë O'Brien" in rows.first.inner_text()
    checked(page, "cases-search")
    page.get_by_label("Case reference or child's name").fill("mos-1")
    page.get_by_role("button", name="Find cases").click()
    assert page.locator("#cases tbody tr").first.inner_text().startswith("MOS-1")
    page.goto(f"{live_server}/cases/?process=nowhere&q=kept")
    assert page.locator(".govuk-error-summary").is_visible()
    assert page.get_by_label("Case reference or child's name").input_value() == "kept"
    checked(page, "cases-error")
    page.close()


def test_dashboard_counts_link_to_the_cases_behind_them(cases, live_server, browser):  # noqa: F811
    page = new_page(browser)
    sign_in(page, live_server, "manager")
    page.goto(f"{live_server}/dashboard/")
    assert "Step down" in page.locator("h1").inner_text()  # opens on the process that has cases
    page.locator("#waiting-by-step [data-step='L01'] a").click()
    refs = [row.split()[0] for row in page.locator("#cases tbody tr").all_inner_texts()]
    assert refs == ["MOS-3", "MOS-1"]
    page.go_back()
    page.locator("#overdue-by-lane [data-lane='fp_tm'] a").click()
    assert [row.split()[0] for row in page.locator("#cases tbody tr").all_inner_texts()] == ["MOS-2"]
    assert page.locator("#overdue").is_checked()
    checked(page, "cases-from-dashboard")
    page.close()


def test_the_diagram_shows_lane_titles_the_whole_process_and_a_due_badge_clear_of_its_step(
        cases, live_server, browser):  # noqa: F811
    page = new_page(browser)
    sign_in(page, live_server, "manager")
    page.goto(f"{live_server}/instances/{cases['MOS-2'].id}")
    page.wait_for_selector('#diagram[data-ready="true"]', timeout=15000)
    lanes = page.eval_on_selector_all(".djs-element[data-element-id^='Lane_'] text",
                                      "els => els.map(e => e.textContent.trim())")
    assert "Families Plus Team Manager" in lanes and "fp_tm" not in lanes
    badge = page.locator(".app-timer-overlay[data-timer='T-L16']").bounding_box()
    task = page.locator(".djs-element[data-element-id='L16'] .djs-visual").bounding_box()
    assert badge["y"] >= task["y"] + task["height"] - 1, (badge, task)  # under the step, not over it
    page.get_by_role("button", name="Show the whole process").click()
    frame = page.locator("#diagram .app-diagram__canvas").bounding_box()
    shapes = page.eval_on_selector_all(".djs-element.djs-shape .djs-visual", """els => els.map(e => {
        const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })""")
    inside = [s for s in shapes if s[0] >= frame["x"] - 1 and s[2] <= frame["x"] + frame["width"] + 1
              and s[1] >= frame["y"] - 1 and s[3] <= frame["y"] + frame["height"] + 1]
    assert len(inside) == len(shapes)
    page.get_by_role("button", name="Zoom in").click()
    checked(page, "instance-diagram-whole")
    page.close()


def test_the_history_folds_case_reads_and_the_audit_trail_keeps_them(cases, live_server, browser):  # noqa: F811
    page = new_page(browser)
    sign_in(page, live_server, "manager")
    for _ in range(4):
        page.goto(f"{live_server}/instances/{cases['MOS-1'].id}")
    opened = [row for row in page.locator("#history tbody tr").all_inner_texts() if "Case opened" in row]
    assert len(opened) == 1 and "Case opened 4 times" in opened[0]
    checked(page, "instance-history-folded")
    page.get_by_role("link", name="The full audit trail").click()
    reads = [row for row in page.locator("#audit tbody tr").all_inner_texts() if "Case opened" in row]
    assert len(reads) == 5
    checked(page, "audit-trail")
    page.close()


def test_a_team_manager_reassigns_a_task_from_the_browser(api, live_server, browser):  # noqa: F811
    with time_machine.travel(MONDAY, tick=False) as clock:
        case = Case(api, clock, "stepdown_locality", "MOS-9", copy.deepcopy(start("north")))
        case.complete("L01", "sw_tm", {"identification_route": "monthly_step_down_meeting"})
    db.session.commit()
    task = api.task_at(case.id, "L03")
    page = new_page(browser)
    sign_in(page, live_server, "sw_tm")
    page.goto(f"{live_server}/tasks/{task['task_id']}")
    page.get_by_label("Reassign to").select_option("sw2")
    page.get_by_role("button", name="Reassign").click()
    assert "reassigned" in page.locator(".govuk-notification-banner").inner_text()
    db.session.rollback()  # read what the server committed, not this thread's earlier snapshot
    assert db.session.get(HumanTask, task["task_id"]).claimed_by == "sw2"
    page.close()


def test_the_sign_in_page_has_no_banner_before_sign_in(api, live_server, browser):  # noqa: F811
    page = new_page(browser)
    page.goto(f"{live_server}/cases/")
    assert "/login" in page.url
    assert page.locator(".govuk-notification-banner").count() == 0
    checked(page, "sign-in")
    page.close()
