"""The manager's figures, checked against what real cases did: cases walked through stepdown_locality by the
JSON API with the clock moved, then each figure compared with the steps they took."""
from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import time_machine
from flask import g

from engine import reports, runtime
from engine.access import Actor
from engine.definitions import deploy_file
from engine.models import HumanTask, Instance, db
from engine.reports import Overdue, Period
from tests.conftest import Api
from tests.walk import Case

FIXTURES = Path(__file__).parent / "fixtures"
PROCESSES = Path(__file__).resolve().parent.parent / "processes"
MONDAY = "2025-03-03T09:00:00+00:00"
DUE = "2025-05-14T00:00:00+01:00"  # T1 for a green tick on Thu 10 April 2025: 00:00 BST after Tue 13 May
SPRING = Period(date(2025, 4, 1), date(2025, 6, 30))
CONSENT = {"given": True, "given_by_name": "Jo Smith", "given_by_relationship": "mother",
           "method": "in_person_written", "date": "2025-04-10",
           "scope": "voluntary whole-family, multi-agency work with Families Plus"}


def start(hub: str, children: list[dict] | None = None) -> dict:
    return {"hub": hub, "allocated_sw": "sw", "children": children or [{"name": "Sam Smith", "dob": "2015-06-01"}]}


def request(cin_date: str) -> dict:
    return {"step_down_request": {
        "fp_team": "north_5_18", "piece_of_work": "Routines", "piece_of_work_measure": "Attendance above 90%",
        "piece_of_work_timescale": "12 weeks", "worry_statement": "Sam misses school.",
        "wellbeing_goal": "Sam attends.", "safety_plan_evidence": "Held for 6 months.",
        "outstanding_cin_plan_work": False, "cin_review_date": cin_date, "cin_review_time": "10:30",
        "cin_review_venue": "Civic Centre"}}


def cin_review(held: str) -> dict:
    return {"cin_review_held_date": held, "fp_pm_attended": True, "appropriate_on_latest_information": True,
            "worry_statement_shared": True, "wellbeing_goal_shared": True, "child_views": "Sam wants help.",
            "consent": dict(CONSENT, date=held), "cin_review_decision": "step_down_agreed"}


@pytest.fixture
def api(app, people) -> Api:
    """Only the diagram these cases need, so the figures do not depend on diagrams still being written."""
    deploy_file(PROCESSES / "stepdown_locality.bpmn", "test")
    db.session.commit()
    return Api(app.test_client(), people)


@pytest.fixture
def clock():
    with time_machine.travel(MONDAY, tick=False) as traveller:
        yield traveller


def to_cin_review(api, clock, ref: str, hub: str = "north", cin_date: str = "2025-04-10",
                  children: list[dict] | None = None) -> Case:
    """A new case, walked to the CIN review; a CIN date under 21 days away is attended on an override."""
    case = Case(api, clock, "stepdown_locality", ref, copy.deepcopy(start(hub, children)))
    case.complete("L01", "sw_tm", {"identification_route": "monthly_step_down_meeting"})
    case.complete("L03", "sw", request(cin_date))
    case.complete("L06", "fp_pm", {"request_review_result": "proceed_to_cin_review"})
    attend = {"attendance_decision": "attend", "attending_pm": "fp_pm"}
    if not case.data["notice_adequate"]:
        attend["short_notice_reason"] = "The PM is free that morning"
    case.complete("L10", "fp_tm", attend)
    return case


def green_tick(case: Case, held: str = "2025-04-10") -> None:
    case.complete("L12", "fp_pm", cin_review(held))
    case.complete("L13", "fp_pm", {"green_tick_date": held})


def allocate(case: Case, on: str, late: bool = False) -> None:
    data = {"allocated_fsw": "fsw", "allocation_date": on}
    case.complete("L16", "fp_tm", {**data, "allocation_late_reason": "Sick leave."} if late else data)


def hand_over_and_close(case: Case, on: str) -> None:
    case.complete("L19", "sw", {"records_prepared_date": on})
    case.complete("L20", "sw_tm", {"file_qa_result": "meets_minimum_standards"})
    case.complete("L21", "fsw", {"handover_outcome": "completed", "handover_visit_date": on,
                                 "sw_attended": True, "fsw_attended": True})
    case.complete("L22", "sw", {"cin_closure_date": on})
    assert case.outcome == "stepped_down_allocated"


def two_allocations(api, clock) -> tuple[Case, Case]:
    """North allocated in time on 22 April; south's T1 breach fires 0.4 s late on 13 May, allocated 15 May."""
    north, south = to_cin_review(api, clock, "MOS-N", "north"), to_cin_review(api, clock, "MOS-S", "south")
    north.at("2025-04-10T15:00:00+01:00")
    green_tick(north)
    green_tick(south)
    north.at("2025-04-22T10:00:00+01:00")
    allocate(north, "2025-04-22")
    return north, south


# ---- the heatmap and the overdue tables ---------------------------------------------------------------------

def test_waiting_by_step_counts_cases_at_each_open_step(api, clock):
    first, second = to_cin_review(api, clock, "MOS-1"), to_cin_review(api, clock, "MOS-2")
    Case(api, clock, "stepdown_locality", "MOS-3", copy.deepcopy(start("north")))
    first.at("2025-04-10T15:00:00+01:00")
    green_tick(first)
    assert reports.waiting_by_step("stepdown_locality") == {"L01": 1, "L12": 1, "L16": 1, "L19": 1}
    assert second.steps == ["L12"]
    assert reports.waiting_by_step("nothing_deployed") == {}


def test_overdue_by_lane_and_team_from_the_start_form(api, clock):
    _north, south = two_allocations(api, clock)
    south.at("2025-05-14T00:30:00+01:00")
    rows = reports.overdue_tasks("stepdown_locality")
    assert rows == [Overdue("fp_tm", "south", 1)]
    assert reports.totals(rows, "lane") == {"fp_tm": 1} and reports.totals(rows, "team") == {"south": 1}
    assert reports.overdue_tasks("stepdown_locality", now=datetime.fromisoformat(DUE)) == []
    allocate(south, "2025-05-14", late=True)
    assert reports.overdue_tasks("stepdown_locality") == []


# ---- compliance ----------------------------------------------------------------------------------------------

def test_the_diagram_tells_which_timescales_apply(api):
    found = {(m.timescale, m.kind, m.step, m.label) for m in reports.measures("stepdown_locality")}
    assert found == {("T1", "timer", "L16", "FSW allocated within 20 working days"),
                     ("T2", "override", "L10", "3 weeks' notice of the CIN review")}
    assert reports.measures("stepup_cog_not_deployed") == []


def test_allocation_in_time_and_late_make_fifty_percent(api, clock):
    _north, south = two_allocations(api, clock)
    t1 = by_timescale(reports.compliance("stepdown_locality", SPRING))["T1"]
    assert (t1.met, t1.missed, t1.pending, t1.percent) == (1, 0, 1, 100.0)  # south not yet due
    south.at("2025-05-15T10:00:00+01:00")
    t1 = by_timescale(reports.compliance("stepdown_locality", SPRING))["T1"]
    assert (t1.met, t1.missed, t1.pending, t1.percent) == (1, 1, 0, 50.0)  # open past due is missed already
    allocate(south, "2025-05-15", late=True)
    t1 = by_timescale(reports.compliance("stepdown_locality", SPRING))["T1"]
    assert (t1.met, t1.missed, t1.pending, t1.percent) == (1, 1, 0, 50.0)
    completed = db.session.query(HumanTask).filter_by(bpmn_id="L16", state="completed").count()
    assert completed == 2
    may = by_timescale(reports.compliance("stepdown_locality", Period(date(2025, 5, 14), date(2025, 5, 31))))
    assert (may["T1"].met, may["T1"].missed, may["T1"].percent) == (0, 0, None)  # both were due by 13 May
    on_the_day = reports.compliance("stepdown_locality", Period(date(2025, 5, 13), date(2025, 5, 13)))
    assert by_timescale(on_the_day)["T1"].decided == 2


def test_a_breach_while_open_is_missed_even_if_the_due_time_moved_later(api, clock):
    """Two timers on one step: when the first fires, the row can be left with the second's later instant."""
    _north, south = two_allocations(api, clock)
    south.at("2025-05-14T00:00:01+01:00")
    row = db.session.query(HumanTask).filter_by(instance_id=south.id, bpmn_id="L16", state="open").one()
    row.due_at = datetime(2025, 5, 20, tzinfo=UTC)
    db.session.commit()
    allocate(south, "2025-05-14", late=True)
    t1 = by_timescale(reports.compliance("stepdown_locality", SPRING))["T1"]
    assert (t1.met, t1.missed, t1.pending) == (1, 1, 0)


def test_notice_given_is_the_share_of_attendances_without_the_override(api, clock):
    to_cin_review(api, clock, "MOS-LONG", cin_date="2025-04-10")
    to_cin_review(api, clock, "MOS-SHORT", cin_date="2025-03-20")
    march = by_timescale(reports.compliance("stepdown_locality", Period(date(2025, 3, 1), date(2025, 3, 31))))
    assert (march["T2"].met, march["T2"].missed, march["T2"].percent) == (1, 1, 50.0)
    february = by_timescale(reports.compliance("stepdown_locality", Period(date(2025, 2, 1), date(2025, 2, 28))))
    assert february["T2"].decided == 0 and february["T2"].percent is None


def by_timescale(rows: list[reports.Compliance]) -> dict[str, reports.Compliance]:
    return {row.measure.timescale: row for row in rows}


# ---- timer lateness --------------------------------------------------------------------------------------------

def test_a_breach_fired_late_gives_the_lateness_figures(api, clock):
    _north, south = two_allocations(api, clock)
    south.at("2025-05-14T00:00:00.400000+01:00")
    fired = south.history("timer_fired")
    assert [e.detail["lateness_seconds"] for e in fired] == [0.4]
    lateness = reports.timer_lateness(SPRING)
    assert (lateness.count, lateness.p50, lateness.p99, lateness.max) == (1, 0.4, 0.4, 0.4)
    assert lateness.meets_target is True and lateness.target_p99 == 1.0
    assert reports.timer_lateness(SPRING, "stepdown_locality").count == 1
    assert reports.timer_lateness(SPRING, "mini").count == 0
    assert reports.timer_lateness(Period(date(2025, 6, 1), date(2025, 6, 30))).p99 is None


def test_percentiles_are_nearest_rank():
    assert [reports.rank(100, 50), reports.rank(100, 99), reports.rank(1, 99), reports.rank(3, 50)] == [49, 98, 0, 1]


def test_lateness_percentiles_over_many_timers(api, people):
    """Mini's T1 timers, 40 cases each fired a different amount late: p50 and p99 by nearest rank."""
    deploy_file(FIXTURES / "mini.bpmn", "ana")
    db.session.commit()
    with time_machine.travel("2024-12-20T10:00:00+00:00", tick=False) as traveller:
        for n in range(40):
            api.post("/instances", "sw", {"process": "mini", "case_ref": f"M-{n}", "data": {"allocated_sw": "sw"}},
                     expect=201)
        case_ids = [t.instance_id for t in db.session.query(HumanTask).order_by(HumanTask.instance_id)]
        for n, instance_id in enumerate(case_ids):
            traveller.move_to(datetime(2025, 1, 23, tzinfo=UTC).timestamp() + 0.05 * (n + 1))
            runtime.advance(db.session.get(Instance, instance_id))
    lateness = reports.timer_lateness(Period(date(2025, 1, 1), date(2025, 1, 31)), "mini")
    assert lateness.count == 40
    assert lateness.p50 == pytest.approx(1.0) and lateness.p99 == pytest.approx(2.0)
    assert lateness.max == pytest.approx(2.0) and lateness.meets_target is False


# ---- bounce-back ---------------------------------------------------------------------------------------------

def test_bounce_back_within_three_and_six_months(api, clock):
    deploy_file(FIXTURES / "stepup_fixture.bpmn", "ana")
    db.session.commit()
    step_up("MOS-S", "2025-03-03T10:00:00+00:00", clock)  # before the step-down: not a bounce-back
    not_agreed = to_cin_review(api, clock, "MOS-X")
    north, south = two_allocations(api, clock)
    north.at("2025-04-25T12:00:00+01:00")
    not_agreed.complete("L12", "fp_pm", {**cin_review("2025-04-10"), "cin_review_decision": "step_down_not_agreed",
                                         "not_agreed_reason": "Risk is still present."})
    not_agreed.complete("L30", "sw_tm", {"not_agreed_next_step": "continue_cin_plan",
                                         "not_agreed_rationale": "CIN plan."})
    allocate(south, "2025-04-25")
    hand_over_and_close(north, "2025-04-25")
    hand_over_and_close(south, "2025-04-25")
    step_up("MOS-N", "2025-06-25T10:00:00+01:00", clock)  # 2 months after
    step_up("MOS-S", "2025-09-30T10:00:00+01:00", clock)  # 5 months after
    april = Period(date(2025, 4, 1), date(2025, 4, 30))
    rows = {row.process_id: row for row in reports.bounce_back(april, now=datetime(2025, 12, 1, tzinfo=UTC))}
    assert set(rows) == {"stepdown_locality", "all"}
    locality = rows["stepdown_locality"]
    assert (locality.step_downs, locality.stepped_up, locality.window_open) == (2, {3: 1, 6: 2}, {3: 0, 6: 0})
    assert (locality.percent(3), locality.percent(6)) == (50.0, 100.0)
    assert rows["all"] == reports.BounceBack("all", 2, {3: 1, 6: 2}, {3: 0, 6: 0})
    early = {row.process_id: row for row in reports.bounce_back(april, now=datetime(2025, 7, 1, tzinfo=UTC))}
    assert (early["all"].stepped_up, early["all"].window_open) == ({3: 1, 6: 1}, {3: 1, 6: 1})
    assert reports.bounce_back(Period(date(2025, 5, 1), date(2025, 5, 31)))[-1].percent(3) is None


def test_a_step_up_under_another_reference_for_the_same_child_is_a_bounce_back(api, clock):
    """Step-downs closed in Mosaic on 25 April; the step-ups are raised in EHM under EHM references. Amy is
    matched by her name (typed differently) and date of birth, Ben by the child id carried from his step-down;
    Cara's namesake born a day later is another child, and a step-up before a step-down never counts."""
    deploy_file(FIXTURES / "stepup_fixture.bpmn", "ana")
    db.session.commit()
    amy, ben, cara = ({"name": name, "dob": dob} for name, dob in
                      (("Amy Hall", "2014-02-03"), ("Ben Hall", "2016-07-08"), ("Cara Díaz", "2013-01-01")))
    step_up("EHM-0", "2025-03-03T08:00:00+00:00", clock, [amy])
    cases = [to_cin_review(api, clock, ref, children=[child]) for ref, child in
             (("MOS-A", amy), ("MOS-B", ben), ("MOS-C", cara))]
    cases[0].at("2025-04-10T15:00:00+01:00")
    for case in cases:
        green_tick(case)
    cases[0].at("2025-04-22T10:00:00+01:00")
    for case in cases:
        allocate(case, "2025-04-22")
    cases[0].at("2025-04-25T12:00:00+01:00")
    for case in cases:
        hand_over_and_close(case, "2025-04-25")
    step_up("EHM-1", "2025-06-25T10:00:00+01:00", clock, [{"name": " amy  HALL", "dob": "2014-02-03"}])
    carried = {"id": cases[1].data["children"][0]["id"], "name": "Benjamin Hall", "dob": "2016-07-09"}
    step_up("EHM-2", "2025-09-30T10:00:00+01:00", clock, [carried])
    step_up("EHM-3", "2025-05-01T10:00:00+01:00", clock, [{"name": "Cara Diaz", "dob": "2013-01-02"}])
    april = Period(date(2025, 4, 1), date(2025, 4, 30))
    rows = {row.process_id: row for row in reports.bounce_back(april, now=datetime(2025, 12, 1, tzinfo=UTC))}
    assert rows["all"] == reports.BounceBack("all", 3, {3: 1, 6: 2}, {3: 0, 6: 0})
    step_up("EHM-4", "2025-10-01T10:00:00+01:00", clock, [{"name": "CARA DIAZ", "dob": "2013-01-01"}])
    rows = {row.process_id: row for row in reports.bounce_back(april, now=datetime(2025, 12, 1, tzinfo=UTC))}
    assert rows["all"].stepped_up == {3: 1, 6: 3}


def step_up(case_ref: str, when: str, clock, children: list[dict] | None = None) -> None:
    clock.move_to(datetime.fromisoformat(when))
    data = {"team": "north", **({"children": children} if children else {})}
    runtime.start_instance("stepup_fixture", case_ref, data, Actor("cog_mgr", frozenset({"cog_mgr"})),
                           confirm_duplicate=True)  # the same case stepping up again, on purpose


# ---- the dashboard over HTTP -----------------------------------------------------------------------------------

@pytest.fixture
def pages(app):
    # One app context stays open for the database checks, so requests would share its `g`; a real server
    # gives each request a fresh one.
    @app.before_request
    def fresh_user() -> None:
        g.pop("_login_user", None)

    def signed_in(username: str):
        client = app.test_client()
        assert client.post("/login", data={"username": username, "password": f"pw-{username}"}).status_code == 302
        return client

    return signed_in


def test_dashboard_is_for_managers_and_shows_each_figure(api, clock, pages):
    _north, south = two_allocations(api, clock)
    south.at("2025-05-14T00:00:00.300000+01:00")
    manager = pages("manager")
    page = manager.get("/dashboard/?process=stepdown_locality&from=2025-04-01&to=2025-06-30")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'data-step="L16" data-count="1"' in html and 'data-step="L19" data-count="2"' in html
    assert 'data-timescale="T1" data-step="L16" data-percent="50.0"' in html  # north met; south open past due
    assert "FSW allocated within 20 working days" in html and "1 of 2 met, 1 missed" in html
    assert 'data-lane="fp_tm" data-count="1"' in html and 'data-team="south" data-count="1"' in html
    assert 'id="lateness-p99">0.3\N{NO-BREAK SPACE}s' in html
    assert pages("sw").get("/dashboard/").status_code == 403
    assert pages("fp_tm").get("/dashboard/").status_code == 200


def test_heatmap_data_is_the_latest_diagram_with_its_counts(api, clock, pages):
    to_cin_review(api, clock, "MOS-1")
    body = pages("manager").get("/dashboard/heatmap.json?process=stepdown_locality").get_json()
    assert body["counts"] == {"L12": 1} and body["version"] == 1
    assert body["xml"].startswith("<?xml") and 'id="L12"' in body["xml"]
    assert pages("manager").get("/dashboard/heatmap.json?process=nope").status_code == 404


def test_a_bad_period_is_refused_with_a_message(api, pages):
    html = pages("manager").get("/dashboard/?process=stepdown_locality&from=2025-06-30&to=2025-04-01")
    assert html.status_code == 400 and "must be on or before" in html.get_data(as_text=True)
    html = pages("manager").get("/dashboard/?process=stepdown_locality&from=nonsense")
    assert html.status_code == 400 and "a real date" in html.get_data(as_text=True)


def test_the_dashboard_says_when_nothing_is_deployed(people, pages):
    page = pages("manager").get("/dashboard/")
    assert page.status_code == 200 and "No process is deployed yet" in page.get_data(as_text=True)
    assert pages("manager").get("/dashboard/?process=unknown").status_code == 404
