"""The Processes page and its version and move pages in Chromium: the diagram drawn read-only with lane
titles, the move of a case after its dry run, and axe-core finding nothing serious."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect, sync_playwright

from engine.definitions import deploy, deploy_file, latest_definition
from engine.models import Instance, db
from tests.browser import (
    CHROMIUM_ARGS,
    ROOT,
    START,
    chromium_path,
    live_server,
    screenshot,
    serious_violations,
    sign_in,
)
from tests.versions import stepdown_locality_v2
from web.cli import upsert_user

pytestmark = pytest.mark.browser


@pytest.fixture
def site(app):
    upsert_user("analyst", ["analyst"], "pw-analyst", display_name="Ana Lyst")
    upsert_user("sw", ["sw"], "pw-sw")
    v1, _ = deploy_file(ROOT / "processes" / "stepdown_locality.bpmn", "test")
    db.session.commit()
    from engine import runtime
    from engine.access import Actor
    runtime.start_instance("stepdown_locality", "BR-900", dict(START), Actor("sw", frozenset({"sw"})))
    deploy(stepdown_locality_v2(), dict(v1.forms), "analyst")
    db.session.commit()
    app.config["WTF_CSRF_ENABLED"] = True
    with live_server(app) as server:
        yield server


@pytest.fixture
def page(site):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=site.url, viewport={"width": 1280, "height": 900}, locale="en-GB")
        page = context.new_page()
        page.set_default_timeout(15_000)
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("console", lambda m: problems.append(m.text) if m.type == "error"
                and not m.text.startswith("Failed to load resource") else None)
        yield page
        browser.close()
        assert problems == [], problems


def test_analyst_opens_a_version_and_moves_a_case(page):
    sign_in(page, "analyst", "pw-analyst")
    page.get_by_role("link", name="Processes").click()
    expect(page.get_by_role("heading", name="Processes", level=1)).to_be_visible()
    section = page.locator("#process-stepdown_locality")
    expect(section.locator('[data-running="1"]')).to_have_text("1")
    expect(section.locator('[data-running="2"]')).to_have_text("0")
    assert serious_violations(page) == []
    screenshot(page, "processes")

    section.get_by_role("link", name=re.compile(r"^Version 2\s+of")).click()
    expect(page.locator("#diagram")).to_have_attribute("data-ready", "true")
    expect(page.locator('g.djs-element[data-element-id="Lane_sw"]')).to_contain_text("Social Worker")
    expect(page.locator('g.djs-element[data-element-id="L16"]')).to_be_visible()
    assert page.locator('g.djs-element[data-element-id="L07"]').count() == 0
    assert serious_violations(page) == []
    screenshot(page, "process-version")

    page.goto("/processes/")
    page.get_by_role("link", name="Move running cases to version 2").click()
    case = page.locator('[data-case="BR-900"]')
    expect(case).to_have_attribute("data-can-move", "yes")
    assert serious_violations(page) == []
    page.get_by_label("Case BR-900, on version 1").check()
    page.get_by_role("button", name="Move the chosen cases").click()
    expect(page.get_by_text("1 case moved to version 2.")).to_be_visible()
    expect(page.locator("#no-cases")).to_be_visible()
    db.session.rollback()
    moved = db.session.query(Instance).filter_by(case_ref="BR-900").one()
    assert moved.definition_id == latest_definition("stepdown_locality").id
