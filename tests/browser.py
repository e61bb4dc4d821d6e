"""Driving Debian's Chromium through Playwright against a live Stepwise server: launching, signing in,
moving by keyboard, axe-core checks and screenshots, and walking cases to the step a test needs."""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
AXE = ROOT / "web" / "static" / "vendor" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
LONDON = ZoneInfo("Europe/London")
# axe's rule sets for WCAG 2.2 AA plus its best practices; the tests fail on "serious" and "critical".
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
BLOCKING = ("serious", "critical")


def chromium_path() -> str:
    """Debian's Chromium (CHROMIUM_PATH overrides). Missing is a failure, not a skip: CI installs it."""
    path = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not Path(path).exists():
        pytest.fail(f"Chromium is not installed at {path}: the browser tests need Debian's chromium "
                    "(apt-get install chromium, as .ci/run does) or CHROMIUM_PATH set to a Chromium binary.",
                    pytrace=False)
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make assets` (npm ci, then python -m web.assets).", pytrace=False)
    return path


@dataclass
class LiveServer:
    url: str
    stop: Callable[[], None]


@contextmanager
def live_server(app: Flask) -> Iterator[LiveServer]:
    """The app served by werkzeug on a free port of 127.0.0.1, in a thread of this process."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request drowns a failure's report
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="stepwise-live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", server.shutdown)
    finally:
        server.shutdown()
        thread.join(timeout=10)


# ---- pages -----------------------------------------------------------------------------------------------

def sign_in(page, username: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def focused(page) -> dict:
    return page.evaluate("""() => { const e = document.activeElement;
        return {tag: e.tagName, id: e.id, name: e.getAttribute('name'), text: (e.innerText || e.value || '').trim(),
                type: e.getAttribute('type'), href: e.getAttribute('href')}; }""")


def tab_to(page, wanted: Callable[[dict], bool], limit: int = 80) -> dict:
    """Press Tab until the focused element is the one wanted, as a keyboard user would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        element = focused(page)
        if wanted(element):
            return element
    raise AssertionError(f"Tab never reached the element wanted; focus ended on {focused(page)}")


def serious_violations(page) -> list[dict]:
    """axe-core's serious and critical violations on the page as it is now. The script is evaluated rather
    than added as a tag, since the page's Content-Security-Policy refuses inline scripts."""
    page.evaluate(AXE.read_text(encoding="utf-8"))
    found = page.evaluate("""async (tags) => {
        const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
        return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                            nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}));
    }""", AXE_TAGS)
    return [v for v in found if v["impact"] in BLOCKING]


def artifact(name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / f"{name}.png"


def screenshot(page, name: str) -> Path:
    path = artifact(name)
    page.screenshot(path=str(path), full_page=True)
    return path


# ---- cases -----------------------------------------------------------------------------------------------

def next_monday(after: datetime, days: int = 7) -> datetime:
    """09:00 London on a Monday at least `days` ahead of the real clock. The browser keeps real time, so
    the server's clock must not be behind it or the session cookie would arrive already expired."""
    start = (after + timedelta(days=days)).astimezone(LONDON)
    monday = start.date() + timedelta(days=(7 - start.weekday()) % 7)
    return datetime(monday.year, monday.month, monday.day, 9, tzinfo=LONDON)


START = {"hub": "north", "allocated_sw": "sw",
         "children": [{"name": "Sam Smith", "dob": "2015-06-01"}, {"name": "Kim Smith", "dob": "2019-02-11"}]}


def step_down_request(cin_review: date) -> dict:
    return {"step_down_request": {
        "fp_team": "north_5_18", "piece_of_work": "Routines and school attendance",
        "piece_of_work_measure": "Attendance above 90% for 6 weeks", "piece_of_work_timescale": "12 weeks",
        "worry_statement": "Sam misses school when mum is unwell.", "wellbeing_goal": "Sam attends every day.",
        "safety_plan_evidence": "Safety plan held for 6 months.", "outstanding_cin_plan_work": False,
        "cin_review_date": cin_review.isoformat(), "cin_review_time": "10:30",
        "cin_review_venue": "Kingswood Civic Centre"}}


def cin_review(held: date) -> dict:
    consent = {"given": True, "given_by_name": "Jo Smith", "given_by_relationship": "mother",
               "method": "in_person_written", "date": held.isoformat(),
               "scope": "voluntary whole-family, multi-agency work with Families Plus"}
    return {"cin_review_held_date": held.isoformat(), "fp_pm_attended": True,
            "appropriate_on_latest_information": True, "worry_statement_shared": True,
            "wellbeing_goal_shared": True, "child_views": "Sam wants help.", "consent": consent,
            "cin_review_decision": "step_down_agreed"}


IDENTIFIED = {"identification_route": "monthly_step_down_meeting", "yps_involvement_to_consider": False}
