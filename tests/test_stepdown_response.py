"""Every path of spec §2 (stepdown_response), walked through the JSON API with the clock moved.

The weekly Response and Preventative Services consultation is on Wednesdays at 10:00 (UK time), moved to the
next working day after a bank holiday. Dates cross BST (30 March 2025), Easter 2025 (18 and 21 April) and
Christmas 2024.
"""
from __future__ import annotations

import copy

import pytest
import time_machine

from engine.models import db
from tests.walk import Case
from web.cli import upsert_user

START = {"allocated_sw": "sw", "children": [{"name": "Ash Jones", "dob": "2013-09-14"}]}
MONDAY = "2025-03-24T09:00:00+00:00"
CONSENT = {"given": True, "given_by_name": "Pat Jones", "given_by_relationship": "mother",
           "method": "in_person_written", "date": "2025-03-24", "scope": "Step down to Families Plus 5-18"}
FORM = {"reason_for_referral_into_cs": "School raised neglect concerns.",
        "outstanding_concerns": "School attendance; home conditions.",
        "ongoing_support_needed": "Routines and parenting support.",
        "identified_work": "Six weeks of routines work with mum.",
        "supporting_families_criteria": ["getting_a_good_education"]}
WITHDRAWAL = {"withdrawn_by_name": "Pat Jones", "withdrawn_by_relationship": "mother", "method": "telephone"}
EHFW_ASSIGNED = {"ehfw": "ehfw", "ehfw_can_attend_meeting": True}


@pytest.fixture
def clock():
    with time_machine.travel(MONDAY, tick=False) as traveller:
        yield traveller


@pytest.fixture
def case(api, clock):
    return Case(api, clock, "stepdown_response", "ICS-2001", copy.deepcopy(START))


# ---- steps a worker takes ------------------------------------------------------------------------------------

def propose(case: Case, on: str = "2025-03-24") -> None:
    case.complete("R01", "rtm", {"potential_step_down_agreed": True, "proposed_ps_team": "families_plus_5_18",
                                 "cmd_rationale": "Needs can be met by Families Plus.", "cmd_date": on})


def prepare(case: Case, consultation: str, document: str | None = "cf_assessment",
            document_date: str = "2025-02-10") -> None:
    if document is None:
        case.complete("R02", "sw", {"consultation_date": consultation, "request_type": "discussion",
                                    "discussion_summary": "Is Families Plus the right team?"})
        return
    case.complete("R02", "sw", {"consultation_date": consultation, "request_type": "formal_step_down_request",
                                "step_down_document": document, "step_down_document_date": document_date})


def book(case: Case, at: str, **extra) -> dict:
    return case.complete("R05", "sw", {"meeting": {"datetime": at, "venue": "Kingswood Hub"}, **extra})


def formal_request(case: Case, consultation: str = "2025-03-26", meeting_at: str = "2025-04-08T14:00:00+01:00",
                   on: str = "2025-03-24", **kwargs) -> None:
    propose(case, on)
    prepare(case, consultation, **kwargs)
    book(case, meeting_at)
    case.complete("R06", "sw", {"step_down_form": FORM, "consent": dict(CONSENT, date=on)})


def consultation(outcome: str = "accepted_for_step_down", **fields) -> dict:
    form = {"consultation_outcome": outcome, "consultation_attendees": "SW, RTM, FP TM",
            "consultation_rationale": "Needs met at a non-statutory level.", "agreed_timeframe": "2025-05-30",
            "child_views": "Ash wants help with mornings.", **fields}
    return {k: v for k, v in form.items() if v is not None}


def held(on: str = "2025-04-08", **changes) -> dict:
    return {"meeting_outcome": "held", "meeting_held_date": on, "ehfw_attended": True, "family_attended": True,
            "plan_moving_forward": "Routines work, school liaison.", "lead_professional": "Sam Lee (EHFW)",
            "family_agrees_plan": True, **changes}


def to_meeting(case: Case) -> None:
    """Accepted at the consultation of Wed 26 March 2025 (GMT); the meeting is booked for Tue 8 April (BST)."""
    formal_request(case)
    case.at("2025-03-26T10:00:01+00:00")
    case.complete("R08", "ps_mgr", consultation())
    case.complete("R10", "ps_mgr", EHFW_ASSIGNED)


TRAY_OK = {"meeting_date_present": True, "lead_professional_identified": True, "tray_check_result": "complete"}
SEND_BACK = {"meeting_date_present": False, "lead_professional_identified": True, "tray_check_result": "send_back",
             "send_back_message": "Add the meeting date."}


def to_ehfw(case: Case, tray_at: str = "2025-04-09T11:00:00+01:00") -> None:
    to_meeting(case)
    case.at("2025-04-08T16:00:00+01:00")
    case.complete("R11", "sw", held())
    case.complete("R14", "sw", {})
    case.at(tray_at)
    case.complete("R15", "sd_tray", TRAY_OK)


def due(case: Case, step: str) -> str:
    return next(s["due_at"] for s in case.detail["current_steps"] if s["bpmn_id"] == step)


def timer(case: Case, bpmn_id: str) -> str:
    return next(t["due_at"] for t in case.detail["waiting_timers"] if t["bpmn_id"] == bpmn_id)


def breaches(case: Case) -> list[tuple[str, str]]:
    return [(e.detail["timescale"], e.detail["task"]) for e in case.history("deadline_breached")]


def completed(case: Case, step: str) -> list[dict]:
    return [e.detail for e in case.history("task_completed") if e.bpmn_id == step]


# ---- structure -------------------------------------------------------------------------------------------------

def test_lanes_and_assignees_are_the_specs(api):
    from engine.definitions import latest_definition, parsed_definition
    from engine.workflow import properties
    parsed = parsed_definition(latest_definition("stepdown_response"))
    specs = {**parsed.spec.task_specs, **parsed.subprocess_specs["sd_body"].task_specs}
    users = {s.bpmn_id: s for s in specs.values() if type(s).__name__ == "UserTask"}
    assert {k: s.lane for k, s in users.items()} == {
        "R01": "rtm", "R02": "sw", "R04": "sw", "R05": "sw", "R06": "sw", "R08": "ps_mgr", "R09": "sw",
        "R10": "ps_mgr", "R11": "sw", "R14": "sw", "R15": "sd_tray", "R18": "ehfw", "R22": "sw", "R23": "ehfw",
        "R24": "sw", "R26": "ehfw", "R32": "rtm", "R33": "sw", "R36": "rtm", "R37": "rtm", "R37b": "svc_mgr",
        "R40": "sw", "R41": "rtm"}
    assignees = {k: properties(s).get("assignee") for k, s in users.items() if properties(s).get("assignee")}
    assert assignees == {k: "allocated_sw" for k in ("R02", "R04", "R05", "R06", "R09", "R11", "R14", "R22",
                                                     "R24", "R33", "R40")} | {"R18": "ehfw", "R23": "ehfw",
                                                                             "R26": "ehfw"}


# ---- the main path ---------------------------------------------------------------------------------------------

def test_main_path_stepped_down_to_ehfw(case):
    formal_request(case)
    assert case.steps == [] and timer(case, "R07") == "2025-03-26T10:00:00+00:00"
    case.at("2025-03-26T10:00:00+00:00")
    assert case.steps == []
    case.at("2025-03-26T10:00:01+00:00")
    case.complete("R08", "ps_mgr", consultation())
    case.complete("R10", "ps_mgr", EHFW_ASSIGNED)
    assert due(case, "R11") == "2025-04-10T00:00:00+01:00"  # end of day 14, Wed 9 April, BST
    case.at("2025-04-08T16:00:00+01:00")
    case.complete("R11", "sw", held())
    assert due(case, "R14") == "2025-04-12T00:00:00+01:00"  # 3 working days: Fri 11 April
    case.complete("R14", "sw", {})
    case.at("2025-04-09T11:00:00+01:00")
    case.complete("R15", "sd_tray", TRAY_OK)
    assert case.steps == ["R18", "R24"]
    assert due(case, "R18") == "2025-04-11T11:00:00+01:00"  # 48 working hours: Fri 11:00 BST
    assert [t["assignee"] for t in case.api.tasks("ehfw", mine=1)] == ["ehfw"]
    case.at("2025-04-10T11:00:00+01:00")
    case.complete("R18", "ehfw", {"contact_outcome": "contact_made", "contact_at": "2025-04-10T10:00:00+01:00"})
    case.complete("R24", "sw", {"documents_present": True, "documents_confirmed_date": "2025-04-09"})
    assert case.steps == ["R26"] and len(case.history("case_closed")) == 1
    assert len(case.history("record_transferred")) == 2  # the ECAF referral, then the C&F into EHM
    case.event("consent_withdrawn", expect=409, **WITHDRAWAL)
    case.complete("R26", "ehfw", {"work_started_date": "2025-04-10"})
    assert case.outcome == "stepped_down_to_ehfw"
    assert case.data["case_responsibility"] == "ehfw" and case.data["transfer_within_agreed_timeframe"] is True
    assert case.data["contact_within_48h"] is True and case.history("deadline_breached") == []


def test_case_management_discussion_not_agreed(case):
    case.event("new_safeguarding_concern", expect=409)
    assert "proposed_ps_team" in case.errors("R01", "rtm", {"potential_step_down_agreed": True,
                                                            "cmd_rationale": "x", "cmd_date": "2025-03-24"})
    case.complete("R01", "rtm", {"potential_step_down_agreed": False, "cmd_rationale": "Risk too high.",
                                 "cmd_date": "2025-03-24"})
    assert case.outcome == "no_step_down_proposed"


# ---- the consultation: discussion, currency, window, calendar ------------------------------------------------

def test_discussion_then_formal_request_with_a_stale_cin_plan(case):
    propose(case)
    prefill = case.api.get(f"/tasks/{case.api.task_at(case.id, 'R02')['task_id']}", "sw")["prefill"]
    assert prefill["consultation_date"] == "2025-03-26"
    prepare(case, "2025-03-26", document=None)
    case.at("2025-03-26T10:00:01+00:00")
    refused = case.errors("R08", "ps_mgr", consultation())
    assert {"step_down_document", "consent", "step_down_form", "meeting"} <= set(refused)
    case.complete("R08", "ps_mgr", consultation("more_information_needed", information_requested="School view."))
    case.complete("R09", "sw", {"information_gathered": "School supports the step down."})
    prepare(case, "2025-04-02", document="cin_plan", document_date="2025-02-28")  # reviewed > 1 month before
    assert case.steps == ["R04"] and case.data["assessment_current"] is False
    case.complete("R04", "sw", {"step_down_document": "eha", "step_down_document_date": "2025-03-26"})
    refused = case.errors("R05", "sw", {"meeting": {"datetime": "2025-04-08T10:00:00+01:00", "venue": "Hub"}})
    assert "window_override_reason" in refused  # 6 days after the consultation: earlier than 1 week
    done = book(case, "2025-04-08T10:00:00+01:00", window_override_reason="Only day the family can do.")
    assert done["overrides"] == [{"rule": "T6", "reason": "Only day the family can do."}]
    case.complete("R06", "sw", {"step_down_form": FORM, "consent": CONSENT})
    assert timer(case, "R07") == "2025-04-02T10:00:00+01:00"  # 10:00 BST
    case.at("2025-04-02T10:00:01+01:00")
    warned = case.complete("R08", "ps_mgr", consultation(agreed_timeframe=None, child_views=""))
    assert {w["code"] for w in warned["warnings"]} == {"agreed_timeframe_missing", "child_views_missing"}
    assert case.steps == ["R10"] and completed(case, "R05")[0]["override"]["rule"] == "T6"


def test_christmas_consultation_moves_to_friday_27_december(api, clock):
    clock.move_to("2024-12-19T11:00:00+00:00")
    case = Case(api, clock, "stepdown_response", "ICS-XMAS", copy.deepcopy(START))
    propose(case, on="2024-12-19")
    prefill = case.api.get(f"/tasks/{case.api.task_at(case.id, 'R02')['task_id']}", "sw")["prefill"]
    assert prefill["consultation_date"] == "2024-12-27"  # Wed 25 Christmas, Thu 26 Boxing Day
    assert "consultation_date" in case.errors("R02", "sw", {"consultation_date": "2024-12-25",
                                                            "request_type": "discussion",
                                                            "discussion_summary": "x"})
    prepare(case, "2024-12-27", document=None)
    assert timer(case, "R07") == "2024-12-27T10:00:00+00:00"
    case.at("2024-12-27T09:59:59+00:00")
    assert case.steps == []
    case.at("2024-12-27T10:00:01+00:00")
    assert case.steps == ["R08"]


# ---- the step down meeting: window, reminder, grace, late, not held ------------------------------------------

def test_meeting_reminder_then_grace_interrupt_across_easter(case):
    formal_request(case, consultation="2025-04-02", meeting_at="2025-04-14T14:00:00+01:00")
    case.at("2025-04-02T10:00:01+01:00")
    case.complete("R08", "ps_mgr", consultation())
    case.complete("R10", "ps_mgr", EHFW_ASSIGNED)
    assert timer(case, "T-R11") == "2025-04-17T00:00:00+01:00"   # end of Wed 16 April
    assert timer(case, "T-R11g") == "2025-04-23T00:00:00+01:00"  # 2 working days: Thu 17, (Easter) Tue 22
    case.at("2025-04-17T00:00:01+01:00")
    assert breaches(case) == [("T6", "R11")] and case.steps == ["R11"]
    assert case.notified("meeting_not_recorded_in_window") == ["rtm", "sw"]
    case.at("2025-04-22T23:59:59+01:00")
    assert case.steps == ["R11"]
    case.at("2025-04-23T00:00:01+01:00")
    assert breaches(case) == [("T6", "R11"), ("T6", "R11")] and case.steps == []
    assert case.data["rediscussion_reason"] == "meeting_not_recorded_within_window"
    assert case.data["meeting_breached"] is True
    assert case.notified("step_down_rediscussion") == ["ps_mgr", "rtm", "sw"]
    assert timer(case, "R07") == "2025-04-23T10:00:00+01:00"  # the same Wednesday, 10:00 BST


def test_rediscussion_rebooks_the_meeting_and_the_ehfw_cannot_attend(case):
    formal_request(case, consultation="2025-04-02", meeting_at="2025-04-14T14:00:00+01:00")
    case.at("2025-04-02T10:00:01+01:00")
    case.complete("R08", "ps_mgr", consultation())
    case.complete("R10", "ps_mgr", EHFW_ASSIGNED)
    case.at("2025-04-23T00:00:01+01:00")  # the grace ran out at midnight: the case goes to today's consultation
    case.at("2025-04-23T10:00:01+01:00")
    assert case.steps == ["R08"] and case.data["rediscussion_count"] == 1
    assert "meeting_action" in case.errors("R08", "ps_mgr", consultation())
    keep = consultation(meeting_action="keep_booked_meeting")
    assert "meeting_action" in case.errors("R08", "ps_mgr", keep)  # 14 April is not 1-2 weeks after 23 April
    assert "meeting_action" in case.errors("R08", "ps_mgr", consultation(meeting_action="resume_referral"))
    case.complete("R08", "ps_mgr", consultation(meeting_action="rebook_meeting"))
    book(case, "2025-05-01T10:00:00+01:00")
    assert case.steps == ["R10"] and case.data["meeting_rebooking"] is True
    case.complete("R10", "ps_mgr", {"ehfw": "ehfw", "ehfw_can_attend_meeting": False})
    book(case, "2025-05-06T10:00:00+01:00")
    case.complete("R10", "ps_mgr", EHFW_ASSIGNED)
    assert due(case, "R11") == "2025-05-08T00:00:00+01:00" and case.data["meeting_rebooking"] is False
    assert [e.bpmn_id for e in case.history("task_completed")].count("R06") == 1


def test_meeting_held_on_day_14_and_recorded_next_morning_is_on_time(case):
    to_meeting(case)
    case.at("2025-04-10T09:00:00+01:00")
    assert breaches(case) == [("T6", "R11")]
    case.complete("R11", "sw", held("2025-04-09"))
    assert case.steps == ["R14"] and case.data["held_within_window"] is True


def test_meeting_held_late_goes_back_to_the_consultation_then_resumes(case):
    to_meeting(case)
    case.at("2025-04-10T15:00:00+01:00")
    case.complete("R11", "sw", held("2025-04-10"))
    assert case.data["rediscussion_reason"] == "meeting_late_or_not_held"
    assert timer(case, "R07") == "2025-04-16T10:00:00+01:00"
    case.at("2025-04-16T10:00:01+01:00")
    case.complete("R08", "ps_mgr", consultation(meeting_action="resume_referral"))
    assert due(case, "R14") == "2025-04-24T00:00:00+01:00"  # 3 working days from 16 April: Thu, (Easter) Tue, Wed


@pytest.mark.parametrize("meeting,decision,outcome", [
    ({"meeting_outcome": "not_held", "meeting_not_held_reason": "family_declined_step_down"}, "close_nfa",
     "closed_nfa_consent_withdrawn"),
    (held(family_agrees_plan=False), "continue_statutory_involvement", "halted_remained_with_social_care"),
])
def test_family_declines_at_the_meeting(case, meeting, decision, outcome):
    to_meeting(case)
    case.at("2025-04-08T16:00:00+01:00")
    case.complete("R11", "sw", meeting)
    assert case.steps == ["R40"] and case.data["change_report"]["type"] == "family_declined"
    case.complete("R40", "sw", {"ehfw_advised_date": "2025-04-08"})
    assert case.notified("family_circumstances_changed") == ["ehfw", "ps_mgr"]
    case.complete("R41", "rtm", {"change_decision": decision, "change_rationale": "Family's decision."})
    assert case.outcome == outcome
    assert len(case.history("case_closed")) == (1 if decision == "close_nfa" else 0)


def test_family_did_not_attend_goes_back_to_the_consultation(case):
    to_meeting(case)
    case.at("2025-04-08T16:00:00+01:00")
    case.complete("R11", "sw", {"meeting_outcome": "not_held", "meeting_not_held_reason": "family_did_not_attend"})
    assert case.data["rediscussion_reason"] == "meeting_late_or_not_held"
    assert "meeting_held_date" not in case.data  # a case data object that is None is not shown
    assert timer(case, "R07") == "2025-04-09T10:00:00+01:00"


# ---- closure, tray, send-backs -------------------------------------------------------------------------------

def test_send_back_does_not_restart_the_three_working_days(case):
    to_meeting(case)
    case.at("2025-04-08T16:00:00+01:00")
    case.complete("R11", "sw", held())
    case.complete("R14", "sw", {})
    case.at("2025-04-10T09:00:00+01:00")
    assert "tray_check_result" in case.errors("R15", "sd_tray", {**SEND_BACK, "tray_check_result": "complete"})
    case.complete("R15", "sd_tray", SEND_BACK)
    assert case.notified("ecaf_referral_sent_back") == ["sw"]
    assert due(case, "R14") == "2025-04-12T00:00:00+01:00"
    assert "send_back_response" in case.errors("R14", "sw", {})
    case.complete("R14", "sw", {"send_back_response": "Meeting date added."})
    case.complete("R15", "sd_tray", TRAY_OK)
    assert case.steps == ["R18", "R24"] and case.data["send_back_count"] == 1


def test_closure_breach_at_christmas_goes_to_the_friday_consultation(api, clock):
    clock.move_to("2024-12-02T09:00:00+00:00")
    case = Case(api, clock, "stepdown_response", "ICS-XMAS2", copy.deepcopy(START))
    formal_request(case, consultation="2024-12-04", meeting_at="2024-12-16T14:00:00+00:00", on="2024-12-02",
                   document_date="2024-11-01")
    case.at("2024-12-04T10:00:01+00:00")
    case.complete("R08", "ps_mgr", consultation(agreed_timeframe="2025-01-31"))
    case.complete("R10", "ps_mgr", EHFW_ASSIGNED)
    case.at("2024-12-16T16:00:00+00:00")
    case.complete("R11", "sw", held("2024-12-16"))
    assert due(case, "R14") == "2024-12-20T00:00:00+00:00"  # 3 working days: Thu 19 December
    case.at("2024-12-20T00:00:01+00:00")
    assert breaches(case) == [("T7", "R14")] and case.data["closure_breached"] is True
    assert case.data["consultation_date"] == "2024-12-27"
    assert timer(case, "R07") == "2024-12-27T10:00:00+00:00"
    case.at("2024-12-27T10:00:01+00:00")
    case.complete("R08", "ps_mgr", consultation(meeting_action="resume_referral", agreed_timeframe="2025-01-31"))
    assert due(case, "R14") == "2025-01-03T00:00:00+00:00"  # Mon 30, Tue 31, (1 Jan), Thu 2 January


def test_send_back_after_the_deadline_goes_to_the_consultation(case):
    to_meeting(case)
    case.at("2025-04-08T16:00:00+01:00")
    case.complete("R11", "sw", held())
    case.complete("R14", "sw", {})
    case.at("2025-04-14T09:00:00+01:00")  # the 3 working days ended with Fri 11 April
    case.complete("R15", "sd_tray", SEND_BACK)
    assert case.steps == [] and case.data["closure_breached"] is True
    assert case.data["rediscussion_reason"] == "closure_not_completed_within_3_working_days"
    assert case.notified("ecaf_referral_sent_back") == ["sw"]
    assert case.notified("step_down_rediscussion") == ["ps_mgr", "rtm", "sw"]


# ---- the EHFW: documents, 48 hours, non-engagement ------------------------------------------------------------

def test_cin_plan_copied_and_uploaded_with_a_document_check_loop(case):
    formal_request(case, document="cin_plan", document_date="2025-03-01")
    case.at("2025-03-26T10:00:01+00:00")
    case.complete("R08", "ps_mgr", consultation())
    case.complete("R10", "ps_mgr", EHFW_ASSIGNED)
    case.at("2025-04-08T16:00:00+01:00")
    case.complete("R11", "sw", held())
    case.complete("R14", "sw", {})
    case.complete("R15", "sd_tray", TRAY_OK)
    assert case.steps == ["R18", "R22"]
    for round_ in (1, 2):
        case.complete("R22", "sw", {"cin_plan_copy_sent_date": "2025-04-08"})
        case.complete("R23", "ehfw", {"cin_plan_uploaded_date": "2025-04-08"})
        case.complete("R24", "sw", {"documents_present": round_ == 2, "documents_confirmed_date": "2025-04-08"})
    case.complete("R18", "ehfw", {"contact_outcome": "contact_made", "contact_at": "2025-04-08T16:00:00+01:00"})
    assert case.steps == ["R26"]


def test_contact_deadline_48_working_hours_across_easter(api, clock):
    clock.move_to("2025-04-01T09:00:00+01:00")
    case = Case(api, clock, "stepdown_response", "ICS-EASTER", copy.deepcopy(START))
    formal_request(case, consultation="2025-04-02", meeting_at="2025-04-15T14:00:00+01:00")
    case.at("2025-04-02T10:00:01+01:00")
    case.complete("R08", "ps_mgr", consultation())
    case.complete("R10", "ps_mgr", EHFW_ASSIGNED)
    case.at("2025-04-15T16:00:00+01:00")
    case.complete("R11", "sw", held("2025-04-15"))
    case.complete("R14", "sw", {})
    case.at("2025-04-17T16:00:00+01:00")
    case.complete("R15", "sd_tray", TRAY_OK)
    assert due(case, "R18") == "2025-04-23T16:00:00+01:00"  # Thu 16:00 -> Tue 16:00 -> Wed 23 16:00 BST
    case.at("2025-04-23T16:00:00+01:00")
    assert breaches(case) == []
    case.at("2025-04-23T16:00:01+01:00")
    assert breaches(case) == [("T8", "R18")] and "R18" in case.steps
    assert case.notified("contact_overdue") == ["ehfw", "ps_mgr"]
    assert [t["bpmn_id"] for t in case.api.tasks("ps_mgr", overdue=1)] == ["R18"]
    case.at("2025-04-23T16:45:00+01:00")
    case.complete("R18", "ehfw", {"contact_outcome": "contact_made", "contact_at": "2025-04-23T16:30:00+01:00"})
    case.complete("R24", "sw", {"documents_present": True, "documents_confirmed_date": "2025-04-23"})
    assert case.data["contact_within_48h"] is False and case.steps == ["R26"]


def test_ehfw_cannot_engage_the_family_goes_back_to_the_consultation(case):
    to_ehfw(case)
    case.complete("R24", "sw", {"documents_present": True, "documents_confirmed_date": "2025-04-09"})
    bad = {"contact_outcome": "family_not_engaging", "contact_non_engagement_summary": "No answer."}
    assert "contact_attempts" in case.errors("R18", "ehfw", bad)
    case.complete("R18", "ehfw", {**bad, "contact_attempts": 4})
    assert case.data["rediscussion_reason"] == "ehfw_could_not_engage_family"
    case.at("2025-04-16T10:00:01+01:00")
    case.complete("R08", "ps_mgr", consultation(meeting_action="resume_referral"))
    case.complete("R14", "sw", {})
    case.complete("R15", "sd_tray", TRAY_OK)
    assert case.steps == ["R18", "R24"] and len(case.history("record_transferred")) == 4


# ---- outcomes other than acceptance ---------------------------------------------------------------------------

@pytest.mark.parametrize("outcome,step,form,end", [
    ("propose_cin_plan_locality", "R32", {"locality_team": "Locality North", "transfer_requested_date": "2025-03-26"},
     "remained_with_social_care_cin_plan"),
    ("closed_nfa", "R36", {"nfa_reason": "Needs met by universal services."}, "closed_nfa"),
])
def test_not_accepted_cancels_the_provisional_meeting(case, outcome, step, form, end):
    formal_request(case)
    case.at("2025-03-26T10:00:01+00:00")
    case.complete("R08", "ps_mgr", consultation(outcome))
    case.complete(step, "rtm", form)
    assert case.outcome == end
    assert case.notified("provisional_meeting_cancelled") == ["ps_mgr", "sw"]


@pytest.mark.parametrize("use_meeting,cancelled", [(True, []), (False, ["ps_mgr", "sw"])])
def test_community_ehap_informs_compass(case, use_meeting, cancelled):
    upsert_user("compass", ["compass"], "pw-compass")
    db.session.commit()
    formal_request(case)
    case.at("2025-03-26T10:00:01+00:00")
    case.complete("R08", "ps_mgr", consultation("recommend_community_ehap"))
    community = {"community_setting": "St Mary's Primary", "community_lead_professional": "Head of pastoral care",
                 "community_consent": dict(CONSENT, scope="Community EHAP"), "step_down_date": "2025-03-27"}
    assert "use_provisional_meeting_for_partner_step_down" in case.errors("R33", "sw", community)
    refused = case.errors("R33", "sw", {**community, "community_consent": {"given": False}})
    assert "community_consent.given" in refused
    case.complete("R33", "sw", {**community, "use_provisional_meeting_for_partner_step_down": use_meeting})
    assert case.outcome == "stepped_down_to_community_ehap"
    assert case.notified("community_ehap_step_down") == ["compass"]
    assert case.data["community_ehap_due_date"] == "2025-05-08"  # 6 weeks after the step down
    assert case.notified("provisional_meeting_cancelled") == cancelled


def test_discussion_closed_nfa_has_no_meeting_to_cancel(case):
    propose(case)
    prepare(case, "2025-03-26", document=None)
    case.at("2025-03-26T10:00:01+00:00")
    case.complete("R08", "ps_mgr", consultation("closed_nfa"))
    case.complete("R36", "rtm", {"nfa_reason": "Needs met by universal services."})
    assert case.outcome == "closed_nfa" and case.notified("provisional_meeting_cancelled") == []


@pytest.mark.parametrize("escalate", [False, True])
def test_professional_disagreement(case, escalate):
    formal_request(case)
    case.at("2025-03-26T10:00:01+00:00")
    case.complete("R08", "ps_mgr", consultation("professional_disagreement"))
    if escalate:
        case.complete("R37", "rtm", {"disagreement_resolution": "escalate"})
        assert "consultation_outcome" in case.errors("R37b", "svc_mgr", {"consultation_rationale": "x"})
        case.complete("R37b", "svc_mgr", consultation())
    else:
        assert "consultation_outcome" in case.errors("R37", "rtm", {"disagreement_resolution": "agreed"})
        case.complete("R37", "rtm", {"disagreement_resolution": "agreed", **consultation()})
    assert case.steps == ["R10"]


# ---- change of circumstances (the interrupt window R02-R25) ---------------------------------------------------

def test_consent_withdrawn_after_the_ehfw_is_identified_then_rediscussed(case):
    to_meeting(case)
    case.at("2025-04-07T12:00:00+01:00")
    assert "withdrawn_by_name" in case.event("consent_withdrawn", expect=400)["fields"]
    case.event("consent_withdrawn", **WITHDRAWAL, details="Mum withdrew consent by phone.")
    assert case.steps == ["R40"] and case.detail["waiting_timers"] == []
    assert case.data["meeting"]["venue"] == "Kingswood Hub" and case.data["ehfw"] == "ehfw"
    case.event("new_safeguarding_concern", expect=409)
    case.complete("R40", "sw", {"ehfw_advised_date": "2025-04-07"})
    assert case.notified("family_circumstances_changed") == ["ehfw", "ps_mgr"]
    case.complete("R41", "rtm", {"change_decision": "rediscuss_at_next_consultation", "change_rationale": "Talk."})
    assert case.data["consultation_date"] == "2025-04-09" and case.data["rediscussion_reason"] == "consent_withdrawn"
    case.at("2025-04-09T10:00:01+01:00")
    assert "consent" in case.errors("R08", "ps_mgr", consultation(meeting_action="rebook_meeting"))
    case.complete("R08", "ps_mgr", consultation("more_information_needed", information_requested="Consent?"))
    case.complete("R09", "sw", {"information_gathered": "Mum consents again."})
    prepare(case, "2025-04-16", document_date="2025-03-20")
    prefill = case.api.get(f"/tasks/{case.api.task_at(case.id, 'R05')['task_id']}", "sw")["prefill"]
    assert prefill["meeting"]["datetime"] == "2025-04-08T14:00:00+01:00"
    book(case, "2025-04-24T10:00:00+01:00")
    case.complete("R06", "sw", {"step_down_form": FORM, "consent": dict(CONSENT, date="2025-04-09")})
    case.at("2025-04-16T10:00:01+01:00")
    case.complete("R08", "ps_mgr", consultation(meeting_action="keep_booked_meeting"))
    assert case.steps == ["R10"]


def test_new_safeguarding_concern_before_an_ehfw(case):
    propose(case)
    case.event("new_safeguarding_concern", details="Police referral overnight.")
    case.complete("R40", "sw", {"ehfw_advised_date": "2025-03-24"})
    assert case.notified("family_circumstances_changed") == ["ps_mgr"]
    assert "change_decision" in case.errors("R41", "rtm", {"change_decision": "close_nfa", "change_rationale": "x"})
    case.complete("R41", "rtm", {"change_decision": "continue_statutory_involvement", "change_rationale": "S47."})
    assert case.outcome == "halted_remained_with_social_care"
    case.event("consent_withdrawn", expect=409, **WITHDRAWAL)


# ---- bad input -------------------------------------------------------------------------------------------------

def test_bad_input_is_refused_and_nothing_changes(case):
    propose(case)
    before = (case.steps, len(case.history("task_completed")))
    assert set(case.errors("R02", "sw", {"consultation_date": "2025-03-25", "request_type": "formal_step_down_request"})) \
        == {"step_down_document", "step_down_document_date"}
    assert "consultation_date" in case.errors("R02", "sw", {"consultation_date": "2025-03-25",
                                                            "request_type": "discussion", "discussion_summary": "x"})
    assert "consultation_date" in case.errors("R02", "sw", {"consultation_date": "2025-03-19",
                                                            "request_type": "discussion", "discussion_summary": "x"})
    assert (case.steps, len(case.history("task_completed"))) == before
    prepare(case, "2025-03-26")
    assert "meeting.datetime" in case.errors("R05", "sw", {"meeting": {"datetime": "2025-04-08 14:00", "venue": "x"}})
    book(case, "2025-04-08T14:00:00+01:00")
    consent = {"given": True, "given_by_name": "Pat Jones"}
    refused = case.errors("R06", "sw", {"step_down_form": {**FORM, "identified_work": ""}, "consent": consent})
    assert {"step_down_form.identified_work", "consent.given_by_relationship", "consent.method", "consent.date",
            "consent.scope"} <= set(refused)
    assert case.steps == ["R06"]
