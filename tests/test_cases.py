"""The Cases page and the history's folding over HTTP: search by case reference or child's name, the filters,
keyset pages, who may list what, bad filters as 400s, and the audit trail behind the folded timeline."""
from __future__ import annotations

import copy
import re
from datetime import datetime, timedelta

import pytest
import time_machine
from sqlalchemy import text

from engine.access import Actor
from engine.cases import CaseFilters, filtered
from engine.definitions import deploy_file
from engine.models import Event, Instance, db
from tests.conftest import PROCESSES, Api
from tests.test_reports import green_tick, request, start
from tests.test_web_pages import sign_in, text_of
from tests.walk import Case

MONDAY = "2025-03-03T09:00:00+00:00"


@pytest.fixture
def site(app, people):
    from flask import g
    app.config["WTF_CSRF_ENABLED"] = True
    deploy_file(PROCESSES / "stepdown_locality.bpmn", "test")
    db.session.commit()

    @app.before_request
    def fresh_user() -> None:
        g.pop("_login_user", None)
        g.pop("csrf_token", None)

    return app


@pytest.fixture
def cases(site, people) -> dict[str, Case]:
    """Five cases a week apart, three in the north hub and two in the south ("Zoë O'Brien" in MOS-3): MOS-1
    moved on to L03, MOS-2 green-ticked and waiting at L16, overdue (its 20 working days ran out in May 2025),
    the rest at L01."""
    api = Api(site.test_client(), people)
    made = {}
    with time_machine.travel(MONDAY, tick=False) as clock:
        for n, (ref, hub, child) in enumerate([("MOS-1", "north", "Sam Smith"), ("MOS-2", "north", "Kim Jones"),
                                               ("MOS-3", "south", "Zoë O'Brien"), ("ICS-4", "south", "Lee Wu"),
                                               ("MOS-5", "north", "Ali Khan")]):
            clock.move_to(datetime.fromisoformat(MONDAY) + timedelta(days=7 * n))
            made[ref] = Case(api, clock, "stepdown_locality", ref,
                             copy.deepcopy(start(hub, [{"name": child, "dob": "2015-06-01"}])))
        made["MOS-1"].complete("L01", "sw_tm", {"identification_route": "monthly_step_down_meeting"})
        clock.move_to(datetime.fromisoformat(MONDAY) + timedelta(days=7))
        to_l16(made["MOS-2"])
    db.session.commit()
    return made


def to_l16(case: Case) -> None:
    case.complete("L01", "sw_tm", {"identification_route": "monthly_step_down_meeting"})
    case.complete("L03", "sw", request("2025-04-10"))
    case.complete("L06", "fp_pm", {"request_review_result": "proceed_to_cin_review"})
    case.complete("L10", "fp_tm", {"attendance_decision": "attend", "attending_pm": "fp_pm"})
    case.at("2025-04-10T15:00:00+01:00")
    green_tick(case)


def listed(client, query: str = "", status: int = 200) -> list[str]:
    response = client.get(f"/cases/{query}")
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    html = response.get_data(as_text=True)
    if 'id="cases"' not in html:
        return []
    body = re.search(r'id="cases".*?<tbody[^>]*>(.*?)</tbody>', html, re.DOTALL).group(1)
    return [text_of(row).split()[0] for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.DOTALL)]


def manager(site):
    client = site.test_client()
    sign_in(client, "manager", "pw-manager")
    return client


def test_search_by_case_reference_in_any_case_or_by_a_childs_name(site, cases):
    client = manager(site)
    assert listed(client) == ["MOS-5", "ICS-4", "MOS-3", "MOS-2", "MOS-1"]
    assert listed(client, "?q=mos-3") == ["MOS-3"]
    assert listed(client, "?q=%20Mos-1%20") == ["MOS-1"]
    assert listed(client, "?q=zoe+obrien") == ["MOS-3"]
    assert listed(client, "?q=ZO%C3%8B+O%27BRIEN") == ["MOS-3"]
    assert listed(client, "?q=Nobody+Here") == []
    assert "No case you can see matches these filters." in client.get("/cases/?q=nobody").get_data(as_text=True)


def test_filters_by_process_status_step_team_and_overdue(site, cases):
    client = manager(site)
    assert listed(client, "?team=north") == ["MOS-5", "MOS-2", "MOS-1"]
    assert listed(client, "?team=south&process=stepdown_locality") == ["ICS-4", "MOS-3"]
    assert listed(client, "?step=L03") == ["MOS-1"]
    assert listed(client, "?step=L01&status=running") == ["MOS-5", "ICS-4", "MOS-3"]
    assert listed(client, "?status=completed") == []
    assert listed(client, "?overdue=1") == ["MOS-2"]
    assert listed(client, "?overdue=1&lane=fp_tm") == ["MOS-2"]
    assert listed(client, "?overdue=1&lane=sw_tm") == []
    html = client.get("/cases/?step=L16").get_data(as_text=True)
    assert "app-overdue" in html and "Families Plus Team Manager" in html  # the lane's title, not "fp_tm"


def test_keyset_pages_keep_the_filters_and_walk_both_ways(site, cases, monkeypatch):
    monkeypatch.setattr("web.cases.PER_PAGE", 2)
    client = manager(site)
    first = client.get("/cases/?team=north&q=").get_data(as_text=True)
    assert listed(client, "?team=north") == ["MOS-5", "MOS-2"]
    after = re.search(r'href="(/cases/\?[^"]*after=[^"]+)"', first).group(1).replace("&amp;", "&")
    assert "team=north" in after
    assert listed(client, after[len("/cases/"):]) == ["MOS-1"]
    second = client.get(after).get_data(as_text=True)
    before = re.search(r'href="(/cases/\?[^"]*before=[^"]+)"', second).group(1).replace("&amp;", "&")
    assert listed(client, before[len("/cases/"):]) == ["MOS-5", "MOS-2"]


def test_bad_filters_are_400s_naming_the_field_with_what_was_typed_kept(site, cases):
    client = manager(site)
    response = client.get("/cases/?process=nope&status=lost&q=MOS-1")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "There is a problem" in html and 'href="#process"' in html and 'href="#status"' in html
    assert 'value="MOS-1"' in html
    assert client.get("/cases/?q=" + "x" * 201).status_code == 400


def test_lane_managers_see_the_cases_in_their_lanes_and_workers_none(site, cases):
    fp_tm = site.test_client()
    sign_in(fp_tm, "fp_tm", "pw-fp_tm")
    assert listed(fp_tm) == ["MOS-2"]  # the only case in a Families Plus lane (L16)
    sw_tm = site.test_client()
    sign_in(sw_tm, "sw_tm", "pw-sw_tm")
    # L01 is sw_tm's lane; L03 and MOS-2's L19 are the social worker's, whom sw_tm manages
    assert listed(sw_tm) == ["MOS-5", "ICS-4", "MOS-3", "MOS-2", "MOS-1"]
    fp_pm = site.test_client()
    sign_in(fp_pm, "fp_pm", "pw-fp_pm")
    assert fp_pm.get("/cases/").status_code == 200 and fp_pm.get("/dashboard/").status_code == 200
    worker = site.test_client()
    sign_in(worker, "sw", "pw-sw")
    assert worker.get("/cases/").status_code == 403


def test_dashboard_opens_on_the_process_with_cases_and_links_its_counts(site, cases):
    deploy_file(PROCESSES / "single_assessment.bpmn", "test")  # sorts first, but has no case
    db.session.commit()
    html = manager(site).get("/dashboard/").get_data(as_text=True)
    assert "<h1 class=\"govuk-heading-l\">" in html and "Step down" in text_of(html.split("<h1", 1)[1][:200])
    assert '/cases/?process=stepdown_locality&amp;step=L01&amp;status=running' in html
    assert '/cases/?process=stepdown_locality&amp;overdue=1&amp;lane=fp_tm' in html
    assert '/cases/?process=stepdown_locality&amp;overdue=1&amp;team=north' in html
    assert "How quickly passed deadlines were acted on" in html and "Timer lateness" not in html


def test_a_lane_manager_dashboard_counts_only_their_lanes(site, cases):
    fp_tm = site.test_client()
    sign_in(fp_tm, "fp_tm", "pw-fp_tm")
    html = fp_tm.get("/dashboard/?process=stepdown_locality").get_data(as_text=True)
    assert 'id="lanes-note"' in html and 'data-step="L16"' in html and 'data-step="L01"' not in html


def test_the_timeline_folds_each_persons_reads_of_a_day_and_the_audit_keeps_them(site, cases):
    case = cases["MOS-1"]
    client = manager(site)
    for _ in range(3):
        client.get(f"/instances/{case.id}")
    other = site.test_client()
    sign_in(other, "sw_tm", "pw-sw_tm")
    other.get(f"/instances/{case.id}")
    html = client.get(f"/instances/{case.id}").get_data(as_text=True)
    history = re.search(r'id="history".*?<tbody[^>]*>(.*?)</tbody>', html, re.DOTALL).group(1)
    opened = [text_of(row) for row in re.findall(r"<tr[^>]*>(.*?)</tr>", history, re.DOTALL) if "Case opened" in row]
    assert len(opened) == 2
    assert "Case opened 4 times, last at" in opened[0] and "manager" in opened[0]
    assert "Case opened" in opened[1] and "times" not in opened[1] and "sw_tm" in opened[1]
    audit = client.get(f"/instances/{case.id}/audit")
    assert audit.status_code == 200
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", audit.get_data(as_text=True).split('id="audit"')[1], re.DOTALL)
    assert sum("Case opened" in row for row in rows) == 6  # every read: the five above and this page's own
    assert db.session.query(Event).filter_by(instance_id=case.id, type="case_viewed").count() == 6
    assert 'id="audit-link"' in html
    assert other.get(f"/instances/{case.id}/audit").status_code == 200
    worker = site.test_client()
    sign_in(worker, "sw", "pw-sw")
    assert 'id="audit-link"' not in worker.get(f"/instances/{case.id}").get_data(as_text=True)
    assert worker.get(f"/instances/{case.id}/audit").status_code == 403


def test_the_sign_in_page_shows_no_banner_before_sign_in(site):
    client = site.test_client()
    response = client.get("/", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "Sign in" in html and "govuk-notification-banner" not in html


def test_the_plain_listing_reads_an_index_in_order(site, cases):
    """Flat at any size: newest first straight from an index, no sort of every case (SQLite's plan)."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the plan's wording is SQLite's")
    for f in (CaseFilters(), CaseFilters(process="stepdown_locality"), CaseFilters(team="north"),
              CaseFilters(process="stepdown_locality", status="running")):
        query = filtered(Actor("manager", frozenset({"manager"})), f).order_by(
            Instance.created_at.desc(), Instance.id.desc()).limit(26)
        sql = str(query.compile(db.engine, compile_kwargs={"literal_binds": True}))
        plan = " ".join(str(row) for row in db.session.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
        assert "USING INDEX ix_instances_" in plan and "TEMP B-TREE" not in plan, (f, plan)


def test_new_cases_carry_their_team_and_keys(site, cases):
    instance = db.session.get(Instance, cases["MOS-3"].id)
    assert (instance.case_key, instance.team) == ("mos-3", "south")
