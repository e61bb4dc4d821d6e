"""The manager's dashboard in headless Chromium: the heatmap drawn on the diagram, the tables and the
compliance chart agree with the database, and the page passes axe-core."""
from __future__ import annotations

import copy
import os
import threading
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
import time_machine
from werkzeug.serving import make_server

from engine import reports
from engine.definitions import deploy_file
from engine.models import db, utcnow
from engine.reports import LONDON, Period
from tests.conftest import Api
from tests.test_reports import allocate, green_tick, request, start, to_cin_review
from tests.walk import Case

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(__file__).parent / "artifacts"
AXE = ROOT / "web" / "static" / "vendor" / "axe-core" / "axe.min.js"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


@pytest.fixture
def api(app, people) -> Api:
    """Only the diagram these cases need, so the test does not depend on diagrams still being written."""
    deploy_file(ROOT / "processes" / "stepdown_locality.bpmn", "test")
    db.session.commit()
    return Api(app.test_client(), people)


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not at {CHROMIUM}: install Debian's package (apt-get install chromium) "
                    "or set CHROMIUM_PATH. The browser tests never download a browser.")
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make assets` (npm ci, then python -m web.assets)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """The app on a real socket in a thread; each request gets its own app context and database session."""
    app.config["WTF_CSRF_ENABLED"] = True
    db.session.commit()  # the test thread must hold no SQLite lock while the server writes
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


def london(day: date, hour: int, minute: int = 0) -> str:
    return datetime.combine(day, time(hour, minute), LONDON).isoformat()


def a_monday_weeks_ago(weeks: int) -> date:
    today = utcnow().astimezone(LONDON).date()
    day = today - timedelta(weeks=weeks)
    return day - timedelta(days=day.weekday())


def cases_over_the_last_months(api: Api) -> date:
    """Cases spread over the steps of stepdown_locality, started about eleven weeks ago; returns that day.

    Three wait at L01 and two at L06; one attends its CIN review on a short-notice override (T2) and waits at
    L12; of three green-ticked (each then waits at L19), one is allocated in time, one late after its T1 breach
    fired 0.4 s late (both then wait at L21), and one is still waiting at L16, overdue.
    """
    first = a_monday_weeks_ago(11)
    cin = first + timedelta(days=31)
    with time_machine.travel(datetime.fromisoformat(london(first, 9)), tick=False) as clock:
        for n in range(3):
            Case(api, clock, "stepdown_locality", f"DASH-L01-{n}", copy.deepcopy(start("north")))
        for n in range(2):
            case = Case(api, clock, "stepdown_locality", f"DASH-L06-{n}", copy.deepcopy(start("south")))
            case.complete("L01", "sw_tm", {"identification_route": "monthly_step_down_meeting"})
            case.complete("L03", "sw", request(cin.isoformat()))
        to_cin_review(api, clock, "DASH-SHORT", "south", cin_date=(first + timedelta(days=10)).isoformat())
        in_time, late, waiting = (to_cin_review(api, clock, f"DASH-{name}", hub, cin_date=cin.isoformat())
                                  for name, hub in [("IN-TIME", "north"), ("LATE", "south"), ("WAITING", "north")])
        in_time.at(london(cin, 15))
        for case in (in_time, late, waiting):
            green_tick(case, held=cin.isoformat())
        due = datetime.fromisoformat(late.api.task_at(late.id, "L16")["due_at"])
        in_time.at(london(cin + timedelta(days=5), 10))
        allocate(in_time, (cin + timedelta(days=5)).isoformat())
        late.at((due + timedelta(seconds=0.4)).isoformat())
        late.at((due + timedelta(days=2)).isoformat())
        allocate(late, (due + timedelta(days=2)).astimezone(LONDON).date().isoformat(), late=True)
    assert due + timedelta(days=2) < utcnow() - timedelta(days=1), "the cases must lie in the past"
    db.session.commit()
    return first


def sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(f"pw-{username}")
    page.get_by_label("Password").press("Enter")
    page.wait_for_url(f"{base}/")


def show_dashboard(page, base: str, process: str, first: date) -> None:
    """Choose the process and the period with the keyboard, as a manager would."""
    page.goto(f"{base}/dashboard/")
    page.get_by_label("Process", exact=True).select_option(process)
    page.get_by_label("From", exact=True).fill(first.isoformat())
    page.get_by_label("To", exact=True).focus()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/dashboard/?process={process}*")
    page.wait_for_selector('#heatmap[data-ready="ok"]', timeout=15000)


def axe_violations(page) -> list[dict]:
    page.evaluate(AXE.read_text())  # evaluate() is not subject to the page's CSP; a script tag would be
    return page.evaluate("""async (tags) => {
      const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
      return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                          nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}));
    }""", AXE_TAGS)


def test_dashboard_heatmap_tables_and_chart_match_the_database(app, api, live_server, browser):
    first = cases_over_the_last_months(api)
    period = Period(first, utcnow().astimezone(LONDON).date())
    waiting = reports.waiting_by_step("stepdown_locality")
    assert waiting == {"L01": 3, "L06": 2, "L12": 1, "L16": 1, "L19": 3, "L21": 2}
    compliance = {c.measure.timescale: c.percent for c in reports.compliance("stepdown_locality", period)}
    assert compliance == {"T1": 33.3, "T2": 75.0}
    db.session.commit()

    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-GB", timezone_id="Europe/London")
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.on("response", lambda response: failed.append(response.url) if response.status >= 400 else None)
    sign_in(page, live_server, "manager")
    show_dashboard(page, live_server, "stepdown_locality", first)

    overlays = page.eval_on_selector_all(
        ".djs-overlay .sw-heat-count", "els => els.map(e => [e.dataset.elementId, Number(e.textContent)])")
    assert dict(overlays) == waiting
    shaded = page.eval_on_selector_all(
        "g.djs-element[class*='sw-heat-']",
        "els => els.map(e => [e.dataset.elementId, [...e.classList].find(c => c.startsWith('sw-heat-'))])")
    assert dict(shaded) == {"L01": "sw-heat-5", "L06": "sw-heat-4", "L12": "sw-heat-2", "L16": "sw-heat-2",
                            "L19": "sw-heat-5", "L21": "sw-heat-4"}
    # Each count is a link to the cases behind it; its first text is the number a sighted reader sees.
    table = page.eval_on_selector_all("#waiting-by-step [data-step]",
                                      "els => els.map(e => [e.dataset.step, Number(e.querySelector('a').firstChild.textContent)])")
    assert dict(table) == waiting

    bars = page.eval_on_selector_all(
        "#compliance [data-timescale]",
        "els => els.map(e => [e.dataset.timescale, e.querySelector('.sw-chart__value').textContent.trim(),"
        " Number(e.querySelector('.sw-chart__fill').getAttribute('width'))])")
    assert bars == [["T1", "33.3%", 33.3], ["T2", "75%", 75.0]]
    assert page.locator("#overdue-by-lane [data-lane='fp_tm'] a").evaluate("a => a.firstChild.textContent") == "1"
    assert page.locator("#overdue-by-team [data-team='north'] a").evaluate("a => a.firstChild.textContent") == "1"
    assert page.locator("#lateness-p99").inner_text() == "0.4\N{NO-BREAK SPACE}s"

    violations = axe_violations(page)
    serious = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert serious == [], serious
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    page.locator("#heatmap").screenshot(path=str(ARTIFACTS / "dashboard-heatmap.png"))
    assert failed == []
    page.close()


def test_a_worker_cannot_open_the_dashboard(app, api, live_server, browser):
    page = browser.new_page()
    sign_in(page, live_server, "sw")
    response = page.goto(f"{live_server}/dashboard/")
    assert response.status == 403
    page.close()
