"""The pages in a real browser (Debian's Chromium, headless, through Playwright) against a live server: a worker
completes a task through its form, a manager reads a case's diagram, everything works by keyboard, the
worklist pages by keyset, and axe-core finds nothing serious. Screenshots go to tests/artifacts/."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from playwright.sync_api import expect

from engine.definitions import deploy_file
from engine.models import HumanTask, Instance, Notification, db, utcnow
from tests.browser import (
    IDENTIFIED,
    LONDON,
    ROOT,
    START,
    artifact,
    cin_review,
    focused,
    live_server,
    next_monday,
    screenshot,
    serious_violations,
    sign_in,
    step_down_request,
    tab_to,
)
from tests.conftest import Api, Person
from tests.walk import Case
from web.cli import issue_token, upsert_user

pytestmark = pytest.mark.browser
ROLES = ["sw", "sw_tm", "fp_pm", "fp_tm", "fsw", "manager"]
L03 = "Complete the Request to Step Down to Early Help"


@pytest.fixture
def clock():
    """Ticking time from a Monday a week or more ahead of the real clock (see next_monday)."""
    with time_machine.travel(next_monday(datetime.now(UTC)), tick=True) as traveller:
        yield traveller


@pytest.fixture
def api(app, clock) -> Api:
    """The users these tests sign in as, and only the diagram they walk (others may be mid-edit)."""
    people = {}
    for role in ROLES:
        user = upsert_user(role, [role], f"pw-{role}", display_name=role.upper())
        people[role] = Person(role, issue_token(user), f"pw-{role}")
    deploy_file(ROOT / "processes" / "stepdown_locality.bpmn", "test")
    db.session.commit()
    return Api(app.test_client(), people)


@pytest.fixture
def site(app, api):
    app.config["WTF_CSRF_ENABLED"] = True
    db.session.commit()  # the test thread holds no transaction while the server writes
    with live_server(app) as server:
        yield server


@pytest.fixture
def page(chromium, site):
    """A fresh browser profile on the live server. A script error, a console error (a CSP refusal is one) or
    a failed script, style, font, image or JSON request fails the test. A page answered 400 is not a
    failure: a form with errors is answered so."""
    context = chromium.new_context(base_url=site.url, viewport={"width": 1280, "height": 900}, locale="en-GB",
                                   timezone_id="Europe/London")
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text)
            if message.type == "error" and not message.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("response", lambda response: problems.append(f"{response.status} {response.url}")
            if response.status >= 400 and response.request.resource_type != "document" else None)
    yield page
    context.close()
    assert problems == [], problems


def at_review(api: Api, clock, case_ref: str) -> Case:
    """A case waiting at L06 (the Practice Manager's review), started now."""
    case = Case(api, clock, "stepdown_locality", case_ref, dict(START))
    case.complete("L01", "sw_tm", IDENTIFIED)
    case.complete("L03", "sw", step_down_request(today() + timedelta(days=38)))
    return case


def today():
    return utcnow().astimezone(LONDON).date()


def open_task(instance_id: int, bpmn_id: str) -> HumanTask:
    db.session.rollback()
    return db.session.query(HumanTask).filter_by(instance_id=instance_id, bpmn_id=bpmn_id, state="open").one()


def diagram_ready(page) -> None:
    expect(page.locator("#diagram")).to_have_attribute("data-ready", "true")


def shape(page, bpmn_id: str):
    return page.locator(f'g.djs-element[data-element-id="{bpmn_id}"]')


def click_shape(page, bpmn_id: str) -> None:
    """Click a step on the diagram, first zoomed out so every step is on screen."""
    page.get_by_role("button", name="Show the whole process").click()
    shape(page, bpmn_id).click()


def test_worker_claims_and_completes_a_task_through_the_form(page, api, clock):
    case = Case(api, clock, "stepdown_locality", "BR-100", dict(START))
    case.complete("L01", "sw_tm", IDENTIFIED)
    sign_in(page, "sw", "pw-sw")

    row = page.locator("#worklist tbody tr", has_text="BR-100")
    expect(row).to_contain_text(L03)
    row.get_by_role("link", name=L03).click()
    # L03 is offered to the case's social worker by name: it is already with them, so there is no Claim.
    expect(page.get_by_role("button", name="Claim")).to_have_count(0)
    expect(page.locator("#claimed-by")).to_have_text("sw")

    # An invalid submission: some fields left empty and a date that does not exist.
    page.get_by_label("Families Plus North 5-18").check()
    page.get_by_label("Specific piece of work for the Families Plus worker").fill("Routines and attendance")
    page.locator('[id="step_down_request.cin_review_date-day"]').fill("31")
    page.locator('[id="step_down_request.cin_review_date-month"]').fill("2")
    page.locator('[id="step_down_request.cin_review_date-year"]').fill(str(today().year + 1))
    page.get_by_role("button", name="Submit", exact=True).click()

    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("There is a problem")
    expect(summary).to_be_focused()  # govuk-frontend moves focus to the summary
    for text in ("Enter how the piece of work will be measured", "Date of the CIN review meeting must be a real date",
                 "Select is there work outstanding from the CIN plan?", "Enter venue of the CIN review meeting"):
        wording = re.compile(re.escape(text), re.IGNORECASE)
        expect(summary.get_by_role("link", name=wording)).to_be_visible()
        expect(page.locator(".govuk-form-group--error .govuk-error-message", has_text=wording)).to_be_visible()
    expect(page).to_have_title(re.compile("^Error: "))
    summary.get_by_role("link", name="Date of the CIN review meeting must be a real date").click()
    assert focused(page)["id"] == "step_down_request.cin_review_date-day"
    expect(page.get_by_label("Specific piece of work for the Families Plus worker")).to_have_value(
        "Routines and attendance")
    assert open_task(case.id, "L03").state == "open"

    review = today() + timedelta(days=38)
    page.locator('[id="step_down_request.cin_review_date-day"]').fill(str(review.day))
    page.locator('[id="step_down_request.cin_review_date-month"]').fill(str(review.month))
    page.locator('[id="step_down_request.cin_review_date-year"]').fill(str(review.year))
    page.get_by_label("How the piece of work will be measured").fill("Attendance above 90% for 6 weeks")
    page.get_by_label("Timescale for the piece of work").fill("12 weeks")
    page.get_by_label("Ongoing worry statement").fill("Sam misses school when mum is unwell.")
    page.get_by_label("Goal Families Plus will support the family to achieve").fill("Sam attends every day.")
    page.get_by_label("Evidence of a clear safety plan sustained over time").fill("Plan held for 6 months.")
    page.get_by_role("group", name="Is there work outstanding from the CIN plan?").get_by_label("No").check()
    page.get_by_label("Time of the CIN review meeting").fill("10:30")
    page.get_by_label("Venue of the CIN review meeting").fill("Kingswood Civic Centre")
    page.get_by_role("button", name="Submit", exact=True).click()

    expect(page.get_by_text("Done. The case has moved on.")).to_be_visible()
    expect(page).to_have_url(re.compile(f"/instances/{case.id}$"))
    expect(page.locator("#current-steps")).to_contain_text("Review the step down request")
    db.session.rollback()
    done = db.session.query(HumanTask).filter_by(instance_id=case.id, bpmn_id="L03").one()
    assert (done.state, done.completed_by) == ("completed", "sw")
    assert case.steps == ["L06"]
    assert case.data["step_down_request"]["cin_review_date"] == review.isoformat()


def test_manager_sees_the_case_on_its_diagram(page, api, clock):
    waiting = at_review(api, clock, "BR-200")
    allocating = at_review(api, clock, "BR-201")
    allocating.complete("L06", "fp_pm", {"request_review_result": "proceed_to_cin_review"})
    allocating.complete("L10", "fp_tm", {"attendance_decision": "attend", "attending_pm": "fp_pm"})
    held = today() + timedelta(days=38)
    allocating.at(datetime(held.year, held.month, held.day, 15, tzinfo=LONDON).isoformat())
    allocating.complete("L12", "fp_pm", cin_review(held))
    allocating.complete("L13", "fp_pm", {"green_tick_date": held.isoformat()})
    timer = allocating.detail["waiting_timers"][0]
    sign_in(page, "manager", "pw-manager")

    page.goto(f"/instances/{waiting.id}")
    diagram_ready(page)
    expect(shape(page, "L06")).to_have_class(re.compile(r"\bapp-step--current\b"))
    for done in ("L01", "L03", "L00"):
        expect(shape(page, done)).to_have_class(re.compile(r"\bapp-step--completed\b"))
    expect(shape(page, "L06")).not_to_have_class(re.compile(r"\bapp-step--completed\b"))
    expect(shape(page, "Flow_L00a_L01")).to_have_class(re.compile(r"\bapp-flow--taken\b"))
    expect(shape(page, "L07")).not_to_have_class(re.compile(r"app-step--"))
    click_shape(page, "L01")
    details = page.locator("#step-details")
    expect(details).to_contain_text("Identify a potential step down")
    expect(details.locator('[data-event="task_completed"]')).to_contain_text("sw_tm")
    expect(details).to_contain_text("Monthly 'Step Down' meeting")

    page.goto(f"/instances/{allocating.id}")
    diagram_ready(page)
    # The deadline breaches at midnight after the due date, which the overlay gives as that date's end.
    breach = datetime.fromisoformat(timer["due_at"]).astimezone(LONDON)
    due = f"{(breach - timedelta(days=1)).strftime('%a %-d %b %Y')}, end of day"
    overlay = page.locator('.app-timer-overlay[data-timer="T-L16"]')
    expect(overlay).to_have_text(f"Due {due}")
    expect(shape(page, "L16")).to_have_class(re.compile(r"\bapp-step--current\b"))
    expect(shape(page, "L16")).not_to_have_class(re.compile(r"\bapp-step--overdue\b"))
    page.locator("#diagram").screenshot(path=str(artifact("instance-timer")))

    # The allocation deadline passes and the timer worker fires: the step turns red and the breach is shown.
    allocating.at((datetime.fromisoformat(timer["due_at"]) + timedelta(days=3)).isoformat())
    sign_in(page, "manager", "pw-manager")  # eight-hour sessions do not survive the jump
    page.goto(f"/instances/{allocating.id}")
    diagram_ready(page)
    expect(shape(page, "L16")).to_have_class(re.compile(r"\bapp-step--overdue\b"))
    expect(page.locator(".app-timer-overlay")).to_have_count(0)
    expect(shape(page, "T-L16")).to_have_class(re.compile(r"\bapp-step--completed\b"))
    page.locator('#step-list button[data-step="T-L16"]').click()
    expect(page.locator("#step-panel-title")).to_be_focused()
    expect(details.locator('[data-event="deadline_breached"]')).to_contain_text("T1")
    screenshot(page, "instance-overdue")


def test_manager_reassigns_from_the_task_page(page, api, clock):
    case = at_review(api, clock, "BR-300")
    upsert_user("fp_pm2", ["fp_pm"], "pw-fp_pm2", display_name="FP_PM2")
    db.session.commit()
    sign_in(page, "manager", "pw-manager")
    page.goto(f"/tasks/{open_task(case.id, 'L06').id}")
    page.get_by_label("Reassign to").select_option("fp_pm2")
    page.get_by_role("button", name="Reassign").click()
    expect(page.get_by_text("The task has been reassigned.")).to_be_visible()
    expect(page.locator("#claimed-by")).to_have_text("fp_pm2")
    assert open_task(case.id, "L06").claimed_by == "fp_pm2"


def test_keyboard_only_sign_in_and_complete_a_task(page, api, clock):
    case = Case(api, clock, "stepdown_locality", "BR-400", dict(START))
    page.goto("/login")
    tab_to(page, lambda e: e["id"] == "username")
    page.keyboard.type("sw_tm")
    page.keyboard.press("Tab")
    page.keyboard.type("pw-sw_tm")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/login" not in url)

    tab_to(page, lambda e: e["tag"] == "A" and e["text"] == "Identify a potential step down")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile("/tasks/"))
    tab_to(page, lambda e: e["id"] == "claim")
    page.keyboard.press("Enter")
    expect(page.get_by_text("You have claimed this task.")).to_be_visible()

    # Submitting with nothing chosen: the summary takes focus, and its link leads to the field.
    tab_to(page, lambda e: e["id"] == "submit")
    page.keyboard.press("Enter")
    expect(page.locator(".govuk-error-summary")).to_be_focused()
    page.keyboard.press("Tab")
    assert focused(page)["text"].startswith("Select how was the case identified")
    page.keyboard.press("Enter")
    assert focused(page)["name"] == "identification_route"

    page.keyboard.press("Space")  # the first choice
    # The YPS question comes answered "No" by the form's default: Tab lands on that choice, and the arrows
    # move the choice within the group.
    assert tab_to(page, lambda e: e["name"] == "yps_involvement_to_consider")["id"] == "yps_involvement_to_consider-2"
    page.keyboard.press("ArrowLeft")
    expect(page.get_by_role("group", name="Should YPS involvement be considered?").get_by_label("Yes")).to_be_checked()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("group", name="Should YPS involvement be considered?").get_by_label("No")).to_be_checked()
    tab_to(page, lambda e: e["id"] == "submit")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Done. The case has moved on.")).to_be_visible()
    assert case.steps == ["L03"]
    db.session.rollback()
    assert db.session.query(HumanTask).filter_by(instance_id=case.id, bpmn_id="L01").one().completed_by == "sw_tm"
    assert case.data["identification_route"] == "monthly_step_down_meeting"
    assert case.data["yps_involvement_to_consider"] is False


def test_pages_pass_axe_and_are_photographed(page, api, clock):
    case = Case(api, clock, "stepdown_locality", "BR-500", dict(START))
    case.complete("L01", "sw_tm", IDENTIFIED)
    reviewed = at_review(api, clock, "BR-501")
    db.session.add(Notification(instance_id=reviewed.id, source_key="t-1", recipient="sw", template="t",
                                subject="Step down request sent for BR-501", body="The request was sent."))
    db.session.commit()
    page.goto("/login")
    assert serious_violations(page) == []
    sign_in(page, "sw", "pw-sw")

    checks = {}
    expect(page.locator("#worklist")).to_contain_text("BR-500")
    checks["worklist"] = serious_violations(page)

    page.get_by_role("link", name=L03).click()
    checks["task form"] = serious_violations(page)
    screenshot(page, "task-form")
    page.get_by_role("button", name="Submit", exact=True).click()
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    checks["task form with errors"] = serious_violations(page)
    screenshot(page, "task-form-errors")

    page.goto(f"/instances/{reviewed.id}")
    diagram_ready(page)
    click_shape(page, "L03")
    expect(page.locator("#step-details")).to_contain_text("Completed")
    page.get_by_role("button", name="Show the current steps").click()
    checks["instance"] = serious_violations(page)
    screenshot(page, "instance")

    page.goto("/cases/BR-501")
    expect(page.locator("#case-instances")).to_contain_text("In progress")
    checks["case"] = serious_violations(page)
    screenshot(page, "case")

    page.goto("/notifications")
    expect(page.locator("#unread-count")).to_contain_text("1")
    checks["notifications"] = serious_violations(page)
    screenshot(page, "notifications")
    page.get_by_role("button", name="Mark as read").click()
    expect(page.locator("#unread-count")).to_have_count(0)
    assert {name: found for name, found in checks.items() if found} == {}


def test_worklist_pages_by_keyset_with_lane_counts(page, api, clock):
    case = Case(api, clock, "stepdown_locality", "BR-600", dict(START))
    instance = db.session.get(Instance, case.id)
    now = utcnow()
    # 58 more tasks in the FSW lane: some overdue, some sharing a due time, some with no deadline.
    for n in range(58):
        due = None if n % 5 == 0 else now + timedelta(hours=(n % 7) * 24 - 48)
        db.session.add(HumanTask(id=f"00000000-0000-4000-8000-{n:012d}", instance_id=instance.id,
                                 process_id="stepdown_locality", case_ref=f"BR-6{n:02d}", bpmn_id="L21",
                                 name=f"Joint handover visit {n:02d}", lane="fsw", state="open", due_at=due,
                                 created_at=now - timedelta(minutes=n % 3)))
    db.session.commit()
    tasks = sorted(db.session.query(HumanTask).filter_by(lane="fsw", state="open"), key=order_key)
    expected = [t.name for t in tasks]
    overdue = sum(1 for t in tasks if t.due_at and t.due_at < utcnow())
    sign_in(page, "fsw", "pw-fsw")

    expect(page.locator('#lane-counts [data-lane="fsw"]')).to_have_text("58")
    expect(page.locator("#overdue-total")).to_have_text(f"{overdue} overdue")
    links = page.locator("#worklist tbody .app-task-link")
    expect(links).to_have_count(25)
    assert serious_violations(page) == []
    screenshot(page, "worklist")
    for start in (0, 25, 50):
        expect(links).to_have_text(expected[start:start + 25])
        if start < 50:
            page.get_by_role("link", name="Later due").click()
    expect(page.get_by_role("link", name="Later due")).to_have_count(0)
    page.get_by_role("link", name="Sooner due").click()
    expect(links).to_have_text(expected[25:50])
    page.get_by_role("link", name="Sooner due").click()
    expect(links).to_have_text(expected[:25])
    expect(page.get_by_role("link", name="Sooner due")).to_have_count(0)

    page.goto("/")
    page.get_by_role("checkbox", name=re.compile(r"Overdue \(\d+\)")).check()
    page.get_by_role("button", name="Apply filters").click()
    expect(page.locator("#worklist tbody tr")).to_have_count(overdue)
    expect(page.locator("#worklist .app-overdue")).to_have_count(overdue)
    page.get_by_label("Case reference").fill("BR-607")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.locator("#worklist tbody tr")).to_have_count(1)


def order_key(task: HumanTask) -> tuple:
    """The worklist's order: soonest due first, no deadline last, then oldest, then id."""
    return (task.due_at is None, task.due_at or task.created_at, task.created_at, task.id)
