"""Every path of spec §1 (stepdown_locality), walked through the JSON API with the clock moved."""
from __future__ import annotations

import copy

import pytest
import time_machine

from engine.models import Event, db
from tests.walk import Case

START = {"hub": "north", "allocated_sw": "sw",
         "children": [{"name": "Sam Smith", "dob": "2015-06-01"}, {"name": "Kim Smith", "dob": "2019-02-11"}]}
MONDAY = "2025-03-03T09:00:00+00:00"
CONSENT = {"given": True, "given_by_name": "Jo Smith", "given_by_relationship": "mother",
           "method": "in_person_written", "date": "2025-04-10",
           "scope": "voluntary whole-family, multi-agency work with Families Plus"}


def request(cin_date: str = "2025-04-10", **changes) -> dict:
    form = {"fp_team": "north_5_18", "piece_of_work": "Routines and school attendance",
            "piece_of_work_measure": "Attendance above 90% for 6 weeks", "piece_of_work_timescale": "12 weeks",
            "worry_statement": "Sam misses school when mum is unwell.", "wellbeing_goal": "Sam attends every day.",
            "safety_plan_evidence": "Safety plan held for 6 months.", "outstanding_cin_plan_work": False,
            "cin_review_date": cin_date, "cin_review_time": "10:30", "cin_review_venue": "Kingswood Civic Centre"}
    return {"step_down_request": {**form, **changes}}


def cin_review(decision: str = "step_down_agreed", held: str = "2025-04-10", **changes) -> dict:
    form = {"cin_review_held_date": held, "fp_pm_attended": True, "appropriate_on_latest_information": True,
            "worry_statement_shared": True, "wellbeing_goal_shared": True, "child_views": "Sam wants help.",
            "consent": dict(CONSENT, date=held), "cin_review_decision": decision}
    if decision == "step_down_not_agreed":
        form["not_agreed_reason"] = "Risk is still present."
    return {**form, **changes}


@pytest.fixture
def clock():
    with time_machine.travel(MONDAY, tick=False) as traveller:
        yield traveller


@pytest.fixture
def case(api, clock):
    return Case(api, clock, "stepdown_locality", "MOS-1001", copy.deepcopy(START))


def to_review(case: Case, yps: bool = False, cin_date: str = "2025-04-10") -> None:
    case.complete("L01", "sw_tm", {"identification_route": "monthly_step_down_meeting",
                                   "yps_involvement_to_consider": yps})
    case.complete("L03", "sw", request(cin_date))


def to_attendance(case: Case, **kwargs) -> None:
    to_review(case, **kwargs)
    case.complete("L06", "fp_pm", {"request_review_result": "proceed_to_cin_review"})


def to_allocation(case: Case) -> None:
    to_attendance(case)
    case.complete("L10", "fp_tm", {"attendance_decision": "attend", "attending_pm": "fp_pm"})
    case.at("2025-04-10T15:00:00+01:00")
    case.complete("L12", "fp_pm", cin_review())
    case.complete("L13", "fp_pm", {"green_tick_date": "2025-04-10"})


def hand_over(case: Case, qa: str = "meets_minimum_standards", when: str = "2025-04-25") -> None:
    case.at(f"{when}T12:00:00+00:00")
    case.complete("L19", "sw", {"records_prepared_date": when})
    case.complete("L20", "sw_tm", {"file_qa_result": qa, **({"remedial_actions": "Chronology missing."}
                                                            if qa == "remedial_action_needed" else {})})
    case.complete("L21", "fsw", {"handover_outcome": "completed", "handover_visit_date": when,
                                 "sw_attended": True, "fsw_attended": True})


def test_lanes_are_the_specs_role_ids(api):
    from engine.definitions import latest_definition, parsed_definition
    parsed = parsed_definition(latest_definition("stepdown_locality"))
    specs = {**parsed.spec.task_specs, **parsed.subprocess_specs["sd_body"].task_specs}
    lanes = {s.bpmn_id: s.lane for s in specs.values() if type(s).__name__ == "UserTask"}
    assert lanes == {"L01": "sw_tm", "L03": "sw", "L06": "fp_pm", "L07": "sw", "L08": "fp_tm", "L09": "svc_mgr",
                     "L10": "fp_tm", "L11": "sw", "L12": "fp_pm", "L13": "fp_pm", "L16": "fp_tm", "L19": "sw",
                     "L20": "sw_tm", "L20a": "sw_tm", "L21": "fsw", "L22": "sw", "L30": "sw_tm", "L40": "sw",
                     "L41": "sw_tm"}


def test_main_path_yps_notice_agreed_allocated_in_time(case):
    to_review(case, yps=True)
    assert case.notified("raise_yps_involvement") == ["fp_tm"]
    assert case.notified("step_down_request_sent") == ["fp_pm", "fp_tm"]
    assert case.data["notice_days"] == 38 and case.data["notice_adequate"] is True
    case.complete("L06", "fp_pm", {"request_review_result": "proceed_to_cin_review"})
    case.complete("L10", "fp_tm", {"attendance_decision": "attend", "attending_pm": "fp_pm"})
    case.at("2025-04-10T15:00:00+01:00")
    case.complete("L12", "fp_pm", cin_review())
    case.complete("L13", "fp_pm", {"green_tick_date": "2025-04-10"})
    assert case.steps == ["L16", "L19"]
    allocation = next(s for s in case.detail["current_steps"] if s["bpmn_id"] == "L16")
    assert allocation["due_at"] == "2025-05-14T00:00:00+01:00"  # 00:00 BST after Tue 13 May: Easter and May Day
    assert case.notified("step_down_accepted") == ["sw", "sw_tm"]
    case.at("2025-04-22T10:00:00+01:00")
    case.complete("L16", "fp_tm", {"allocated_fsw": "fsw", "allocation_date": "2025-04-22"})
    assert case.detail["waiting_timers"] == []
    hand_over(case)
    case.complete("L22", "sw", {"cin_closure_date": "2025-04-25"})
    assert case.outcome == "stepped_down_allocated"
    assert len(case.history("case_closed")) == 1
    assert case.data["first_eh_review_due"] == "2025-06-17"
    assert case.notified("first_early_help_review") == ["fsw"]
    case.event("consent_withdrawn", expect=409, withdrawn_by_name="Jo", withdrawn_by_relationship="mother",
               method="telephone")


def test_clarification_loop_short_notice_override_and_not_agreed(case):
    to_review(case, cin_date="2025-03-20")
    for round_ in (1, 2):
        case.complete("L06", "fp_pm", {"request_review_result": "clarification_needed",
                                       "clarification_questions": f"Question {round_}"})
        case.complete("L07", "sw", {"clarification_response": f"Answer {round_}"})
    case.complete("L06", "fp_pm", {"request_review_result": "proceed_to_cin_review"})
    assert case.data["notice_days"] == 17 and case.data["notice_adequate"] is False
    refused = case.errors("L10", "fp_tm", {"attendance_decision": "attend", "attending_pm": "fp_pm"})
    assert "short_notice_reason" in refused
    done = case.complete("L10", "fp_tm", {"attendance_decision": "attend", "attending_pm": "fp_pm",
                                          "short_notice_reason": "The PM is free that morning"})
    assert done["overrides"] == [{"rule": "T2", "reason": "The PM is free that morning"}]
    case.at("2025-03-20T15:00:00+00:00")
    warned = case.complete("L12", "fp_pm", cin_review("step_down_not_agreed", held="2025-03-20",
                                                      worry_statement_shared=False, child_views=""))
    assert {w["code"] for w in warned["warnings"]} == {"worry_statement_shared_false", "child_views_missing"}
    case.complete("L30", "sw_tm", {"not_agreed_next_step": "continue_cin_plan", "not_agreed_rationale": "CIN plan."})
    assert case.outcome == "not_agreed_remained_with_social_care"
    completed = [e.detail for e in case.history("task_completed") if e.bpmn_id == "L10"]
    assert completed[0]["override"]["rule"] == "T2"


@pytest.mark.parametrize("cin_date,adequate", [("2025-03-24", True), ("2025-03-23", False)])
def test_three_week_notice_boundary(case, cin_date, adequate):
    """Sent Mon 3 March: 21 days' notice (24 March) is enough, 20 days (23 March) is short."""
    to_attendance(case, cin_date=cin_date)
    assert case.data["notice_adequate"] is adequate
    attend = {"attendance_decision": "attend", "attending_pm": "fp_pm"}
    if adequate:
        case.complete("L10", "fp_tm", attend)
        assert case.steps == ["L12"]
    else:
        assert "short_notice_reason" in case.errors("L10", "fp_tm", attend)


@pytest.mark.parametrize("next_step,outcome", [
    ("propose_again_later", "not_agreed_remained_with_social_care"),
    ("close_to_social_care_without_step_down", "closed_to_social_care_no_step_down"),
])
def test_cin_review_not_agreed(case, next_step, outcome):
    to_attendance(case)
    case.complete("L10", "fp_tm", {"attendance_decision": "attend", "attending_pm": "fp_pm"})
    case.at("2025-04-10T15:00:00+01:00")
    refused = case.errors("L12", "fp_pm", cin_review(consent={"given": False}))
    assert "consent.given" in refused
    case.complete("L12", "fp_pm", cin_review("step_down_not_agreed"))
    case.event("new_safeguarding_concern", expect=409)
    case.complete("L30", "sw_tm", {"not_agreed_next_step": next_step, "not_agreed_rationale": "Decided."})
    assert case.outcome == outcome


@pytest.mark.parametrize("tm,svc,expected", [
    ("agreed_proceed", None, "L10"),
    ("agreed_withdraw_request", None, "L30"),
    ("not_agreed_escalate", "proceed", "L10"),
    ("not_agreed_escalate", "withdraw_request", "L30"),
])
def test_professional_disagreement(case, tm, svc, expected):
    to_review(case)
    case.complete("L06", "fp_pm", {"request_review_result": "professional_disagreement",
                                   "disagreement_summary": "Level of need."})
    case.complete("L08", "fp_tm", {"tm_resolution": tm, "tm_resolution_rationale": "Discussed."})
    if svc:
        case.complete("L09", "svc_mgr", {"svc_mgr_resolution": svc, "svc_mgr_rationale": "Decided."})
    assert case.steps == [expected]


def test_new_cin_review_date_resends_without_a_second_pm_review(case):
    to_attendance(case, cin_date="2025-03-14")
    case.complete("L10", "fp_tm", {"attendance_decision": "request_new_cin_review_date"})
    same = case.errors("L11", "sw", {"step_down_request": {"cin_review_date": "2025-03-14",
                                                           "cin_review_time": "11:00", "cin_review_venue": "Hall"}})
    assert "step_down_request.cin_review_date" in same
    case.at("2025-03-04T09:00:00+00:00")
    case.complete("L11", "sw", {"step_down_request": {"cin_review_date": "2025-04-01", "cin_review_time": "14:00",
                                                      "cin_review_venue": "Yate"}})
    assert case.steps == ["L10"]
    assert case.data["notice_days"] == 28 and case.data["notice_adequate"] is True
    assert case.data["step_down_request"]["piece_of_work"] == "Routines and school attendance"
    assert len(case.notified("step_down_request_sent")) == 4  # two sendings to the FP TM and PM
    assert [e.bpmn_id for e in case.history("task_completed")].count("L06") == 1


def test_allocation_deadline_breach_across_easter(case):
    to_allocation(case)
    case.at("2025-05-13T23:59:59+01:00")
    assert case.history("deadline_breached") == []
    case.at("2025-05-14T00:00:01+01:00")
    breach = case.history("deadline_breached")
    assert [(e.detail["timescale"], e.detail["task"]) for e in breach] == [("T1", "L16")]
    assert case.notified("allocation_breached") == ["fp_tm", "sw_tm"]
    assert [(f["due"], f["breach_at"]) for f in case.detail["flags"]["T1"]] == [
        ("2025-05-13", "2025-05-14T00:00:00+01:00")]
    assert "L16" in case.steps
    overdue = case.api.tasks("fp_tm", overdue=1)
    assert [t["bpmn_id"] for t in overdue] == ["L16"]
    case.at("2025-05-15T10:00:00+01:00")
    late = {"allocated_fsw": "fsw", "allocation_date": "2025-05-15"}
    assert "allocation_late_reason" in case.errors("L16", "fp_tm", late)
    case.complete("L16", "fp_tm", {**late, "allocation_late_reason": "Two workers on sick leave."})
    case.complete("L19", "sw", {"records_prepared_date": "2025-05-15"})
    case.complete("L20", "sw_tm", {"file_qa_result": "remedial_action_needed", "remedial_actions": "Chronology."})
    assert "fsw_attended" in case.errors("L21", "fsw", {"handover_outcome": "completed",
                                                        "handover_visit_date": "2025-05-15", "sw_attended": True,
                                                        "fsw_attended": False})
    case.complete("L21", "fsw", {"handover_outcome": "completed", "handover_visit_date": "2025-05-15",
                                 "sw_attended": True, "fsw_attended": True})
    case.complete("L20a", "sw_tm", {"remedial_actions_completed_date": "2025-05-15"})
    case.complete("L22", "sw", {"cin_closure_date": "2025-05-15"})
    assert case.outcome == "stepped_down_allocated"
    assert case.data["allocated_within_20wd"] is False
    assert len(case.notified("allocation_breached")) == 2  # once each, never again


def test_allocation_deadline_across_christmas_and_new_year(api, clock):
    case = Case(api, clock, "stepdown_locality", "MOS-XMAS", copy.deepcopy(START))
    clock.move_to("2024-11-25T09:00:00+00:00")
    case.complete("L01", "sw_tm", {"identification_route": "ad_hoc_discussion_with_fp"})
    case.complete("L03", "sw", request("2024-12-20"))
    case.complete("L06", "fp_pm", {"request_review_result": "proceed_to_cin_review"})
    case.complete("L10", "fp_tm", {"attendance_decision": "attend", "attending_pm": "fp_pm"})
    case.at("2024-12-20T15:00:00+00:00")
    case.complete("L12", "fp_pm", cin_review(held="2024-12-20"))
    case.complete("L13", "fp_pm", {"green_tick_date": "2024-12-20"})
    assert case.data["allocation_due_date"] == "2025-01-22"
    case.at("2025-01-22T23:59:00+00:00")
    assert case.history("deadline_breached") == []
    case.at("2025-01-23T00:00:01+00:00")
    assert len(case.history("deadline_breached")) == 1


@pytest.mark.parametrize("decision,outcome", [
    ("continue_cin_plan", "family_not_engaging_remained_with_social_care"),
    ("close_to_social_care", "family_not_engaging_closed"),
])
def test_family_not_engaging_at_the_handover(case, decision, outcome):
    to_allocation(case)
    case.at("2025-04-22T10:00:00+01:00")
    case.complete("L16", "fp_tm", {"allocated_fsw": "fsw", "allocation_date": "2025-04-22"})
    case.complete("L19", "sw", {"records_prepared_date": "2025-04-22"})
    case.complete("L20", "sw_tm", {"file_qa_result": "meets_minimum_standards"})
    case.complete("L21", "fsw", {"handover_outcome": "family_not_engaging",
                                 "handover_non_engagement_summary": "Three visits, no answer."})
    assert case.steps == ["L41"]
    assert "change_decision" in case.errors("L41", "sw_tm", {"change_decision": "escalate_statutory",
                                                             "change_rationale": "x"})
    case.complete("L41", "sw_tm", {"change_decision": decision, "change_rationale": "Decided."})
    assert case.outcome == outcome
    assert len(case.history("case_closed")) == (1 if decision == "close_to_social_care" else 0)


WITHDRAWAL = {"withdrawn_by_name": "Jo Smith", "withdrawn_by_relationship": "mother", "method": "telephone"}


@pytest.mark.parametrize("decision,outcome", [
    ("continue_cin_plan", "consent_withdrawn_remained_with_social_care"),
    ("close_to_social_care", "consent_withdrawn_closed"),
])
def test_consent_withdrawn_before_acceptance(case, decision, outcome):
    to_review(case)
    assert "withdrawn_by_name" in case.event("consent_withdrawn", expect=400)["fields"]
    case.event("consent_withdrawn", **WITHDRAWAL)
    assert case.steps == ["L40"]
    assert case.data["change_report"]["type"] == "consent_withdrawn"
    assert case.data["step_down_request"]["fp_team"] == "north_5_18"
    case.event("new_safeguarding_concern", expect=409)
    case.complete("L40", "sw", {"fp_informed_date": "2025-03-03"})
    assert case.notified("family_circumstances_changed") == ["fp_pm", "fp_tm"]
    case.complete("L41", "sw_tm", {"change_decision": decision, "change_rationale": "Decided."})
    assert case.outcome == outcome


def test_consent_withdrawn_after_acceptance_then_resumed(case):
    """The interrupt cancels the allocation timer; the case data survives it and a save and reload."""
    to_allocation(case)
    case.at("2025-04-22T10:00:00+01:00")
    case.complete("L16", "fp_tm", {"allocated_fsw": "fsw", "allocation_date": "2025-04-22"})
    case.event("consent_withdrawn", **WITHDRAWAL, details="Dad withdrew consent.")
    assert case.steps == ["L40"]
    assert case.data["allocated_fsw"] == "fsw"
    assert case.data["step_down_request"]["cin_review_date"] == "2025-04-10"
    case.complete("L40", "sw", {"fp_informed_date": "2025-04-22"})
    assert case.notified("family_circumstances_changed") == ["fp_pm", "fp_tm", "fsw"]
    case.complete("L41", "sw_tm", {"change_decision": "resume_step_down", "change_rationale": "Consent again."})
    task = case.api.task_at(case.id, "L03")
    prefill = case.api.get(f"/tasks/{task['task_id']}", "sw")["prefill"]
    assert prefill["step_down_request"]["piece_of_work"] == "Routines and school attendance"
    case.complete("L03", "sw", request("2025-05-20"))
    case.complete("L06", "fp_pm", {"request_review_result": "proceed_to_cin_review"})
    case.complete("L10", "fp_tm", {"attendance_decision": "attend", "attending_pm": "fp_pm"})
    case.at("2025-05-20T15:00:00+01:00")
    case.complete("L12", "fp_pm", cin_review(held="2025-05-20"))
    case.complete("L13", "fp_pm", {"green_tick_date": "2025-05-20"})
    case.complete("L16", "fp_tm", {"allocated_fsw": "fsw2", "allocation_date": "2025-05-20"})
    hand_over(case, when="2025-05-20")
    case.complete("L22", "sw", {"cin_closure_date": "2025-05-20"})
    assert case.outcome == "stepped_down_allocated"


@pytest.mark.parametrize("decision", ["continue_cin_plan", "escalate_statutory"])
def test_new_safeguarding_concern_after_allocation(case, decision):
    to_allocation(case)
    case.at("2025-04-22T10:00:00+01:00")
    case.complete("L16", "fp_tm", {"allocated_fsw": "fsw", "allocation_date": "2025-04-22"})
    case.event("new_safeguarding_concern", details="Referral from school.")
    case.complete("L40", "sw", {"fp_informed_date": "2025-04-22"})
    assert "fsw" in case.notified("family_circumstances_changed")
    assert "change_decision" in case.errors("L41", "sw_tm", {"change_decision": "close_to_social_care",
                                                             "change_rationale": "x"})
    case.complete("L41", "sw_tm", {"change_decision": decision, "change_rationale": "Strategy discussion."})
    assert case.outcome == "halted_new_safeguarding_concern"


def test_every_notification_reaches_its_roles_exactly_once(case):
    to_allocation(case)
    case.at("2025-04-22T10:00:00+01:00")
    case.complete("L16", "fp_tm", {"allocated_fsw": "fsw", "allocation_date": "2025-04-22"})
    hand_over(case)
    case.complete("L22", "sw", {"cin_closure_date": "2025-04-25"})
    db.session.rollback()
    events = db.session.query(Event).filter_by(instance_id=case.id, type="notification_queued").all()
    sent = {(e.detail["template"], tuple(e.detail["recipients"])) for e in events}
    assert sent == {("step_down_request_sent", ("fp_pm", "fp_tm")), ("step_down_accepted", ("sw", "sw_tm")),
                    ("first_early_help_review", ("fsw",))}
    for template, recipients in sent:
        assert case.notified(template) == sorted(recipients)


def test_file_quality_assurance_never_holds_up_the_handover(case):
    """The handover can happen before the records are prepared and checked; the case closes after both."""
    to_allocation(case)
    case.at("2025-04-22T10:00:00+01:00")
    case.complete("L16", "fp_tm", {"allocated_fsw": "fsw", "allocation_date": "2025-04-22"})
    case.complete("L21", "fsw", {"handover_outcome": "completed", "handover_visit_date": "2025-04-22",
                                 "sw_attended": True, "fsw_attended": True})
    assert case.steps == ["L19"]
    case.at("2025-04-23T10:00:00+01:00")
    case.complete("L19", "sw", {"records_prepared_date": "2025-04-23"})
    case.complete("L20", "sw_tm", {"file_qa_result": "meets_minimum_standards"})
    assert case.steps == ["L22"]
