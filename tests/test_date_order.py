"""Every date a worker records is checked against the case's earlier dates (processes/README.md, "Date checks").

A wrong order is refused with a 400 naming the field and the step stays open with nothing saved; the right
date goes through. Where the guide only says "should", the submission goes through and the warning's code is
recorded in the task_completed history event.
"""
from __future__ import annotations

import copy

import pytest
import time_machine

from engine.models import Instance, db
from tests import test_single_assessment as sa
from tests import test_stepdown_locality as locality
from tests import test_stepdown_response as response
from tests import test_stepup_cog as cog
from tests.walk import Case


def revision(case: Case) -> int:
    db.session.rollback()
    return db.session.get(Instance, case.id).revision


def refused(case: Case, step: str, who: str, data: dict, field: str) -> str:
    """Submit a wrong date; assert the refusal names the field and nothing changed. Returns the message."""
    before = revision(case)
    fields = case.errors(step, who, data)
    assert field in fields, fields
    assert revision(case) == before and step in case.steps
    return fields[field]


def warnings_recorded(case: Case, step: str) -> list[str]:
    return [e.detail["warnings"] for e in case.history("task_completed") if e.bpmn_id == step][-1]


@pytest.fixture
def locality_case(api):
    with time_machine.travel(locality.MONDAY, tick=False) as clock:
        yield Case(api, clock, "stepdown_locality", "MOS-D1", copy.deepcopy(locality.START))


@pytest.fixture
def response_case(api):
    with time_machine.travel(response.MONDAY, tick=False) as clock:
        yield Case(api, clock, "stepdown_response", "ICS-D1", copy.deepcopy(response.START))


@pytest.fixture
def cog_clock():
    with time_machine.travel(cog.MAUNDY_THURSDAY, tick=False) as clock:
        yield clock


@pytest.fixture
def sa_case(api):
    with time_machine.travel(sa.MONDAY, tick=False) as clock:
        yield sa.start(api, clock, case_ref="LCS-D1")


# ---- start data ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("process,data,who", [
    ("stepdown_locality", locality.START, "sw"),
    ("stepdown_response", response.START, "sw"),
    ("stepup_cog", cog.START, "keyworker"),
])
def test_a_date_of_birth_in_the_future_is_refused_and_no_case_is_started(api, process, data, who):
    with time_machine.travel("2025-03-03T09:00:00+00:00", tick=False):
        future = copy.deepcopy(data)
        future["children"][0]["dob"] = "2025-03-04"
        answer = api.post("/instances", who, {"process": process, "case_ref": "DOB-1", "data": future}, expect=400)
        assert answer["fields"]["children"] == "A date of birth cannot be in the future."
        assert api.get(f"/instances?process={process}", "manager")["instances"] == []
        today = copy.deepcopy(data)
        today["children"][0]["dob"] = "2025-03-03"
        api.post("/instances", who, {"process": process, "case_ref": "DOB-1", "data": today}, expect=201)


# ---- stepdown_locality -------------------------------------------------------------------------------------------

def test_discussions_on_the_request_are_dated_from_its_sending(locality_case):
    case = locality_case
    locality.to_review(case)  # sent Mon 3 March 2025
    entry = {"with_whom": "Social worker", "summary": "Clarified the piece of work."}
    review = {"request_review_result": "proceed_to_cin_review"}
    message = refused(case, "L06", "fp_pm", {**review, "discussion_record": [{**entry, "date": "2025-03-02"}]},
                      "discussion_record")
    assert message == "A discussion about the request cannot be dated before the request was sent to Families Plus."
    refused(case, "L06", "fp_pm", {**review, "discussion_record": [{**entry, "date": "2025-03-04"}]},
            "discussion_record")
    case.complete("L06", "fp_pm", {**review, "discussion_record": [{**entry, "date": "2025-03-03"}]})
    assert case.steps == ["L10"]


def test_cin_review_consent_and_every_later_date_follow_the_meeting(locality_case):
    """The tester's cases: a CIN review held before the request was sent and before its date, consent before it."""
    case = locality_case
    locality.to_attendance(case)  # sent Mon 3 March for a CIN review on Thu 10 April
    case.complete("L10", "fp_tm", {"attendance_decision": "attend", "attending_pm": "fp_pm"})
    case.at("2025-04-10T15:00:00+01:00")
    message = refused(case, "L12", "fp_pm", locality.cin_review(held="2025-03-01"), "cin_review_held_date")
    assert message == "The CIN review cannot have been held before the request was sent to Families Plus."
    message = refused(case, "L12", "fp_pm", locality.cin_review(held="2025-04-09"), "cin_review_held_date")
    assert message == "The CIN review cannot have been held before the date it was scheduled for."
    early_consent = locality.cin_review(consent=dict(locality.CONSENT, date="2025-04-09"))
    message = refused(case, "L12", "fp_pm", early_consent, "consent.date")
    assert message == "Consent is confirmed with the family at the CIN review: its date cannot be before the meeting."
    case.complete("L12", "fp_pm", locality.cin_review(held="2025-04-10"))
    assert refused(case, "L13", "fp_pm", {"green_tick_date": "2025-04-11"}, "green_tick_date") == \
        "The green tick date cannot be in the future."
    case.complete("L13", "fp_pm", {"green_tick_date": "2025-04-10"})

    case.at("2025-04-24T12:00:00+01:00")
    case.complete("L16", "fp_tm", {"allocated_fsw": "fsw", "allocation_date": "2025-04-22"})
    refused(case, "L19", "sw", {"records_prepared_date": "2025-04-25"}, "records_prepared_date")
    case.complete("L19", "sw", {"records_prepared_date": "2025-04-17"})
    case.complete("L20", "sw_tm", {"file_qa_result": "remedial_action_needed", "remedial_actions": "Chronology."})
    case.complete("L21", "fsw", {"handover_outcome": "completed", "handover_visit_date": "2025-04-23",
                                 "sw_attended": True, "fsw_attended": True})
    assert refused(case, "L20a", "sw_tm", {"remedial_actions_completed_date": "2025-04-22"},
                   "remedial_actions_completed_date") == \
        "Remedial actions on the file come after the handover: they cannot be completed before the joint handover visit."
    refused(case, "L20a", "sw_tm", {"remedial_actions_completed_date": "2025-04-25"}, "remedial_actions_completed_date")
    case.complete("L20a", "sw_tm", {"remedial_actions_completed_date": "2025-04-24"})
    assert refused(case, "L22", "sw", {"cin_closure_date": "2025-04-22"}, "cin_closure_date") == \
        "Social Care cannot close its involvement before the joint handover visit."
    assert refused(case, "L22", "sw", {"cin_closure_date": "2025-04-23"}, "cin_closure_date") == \
        "Social Care cannot close its involvement before the remedial actions on the file were completed."
    refused(case, "L22", "sw", {"cin_closure_date": "2025-04-25"}, "cin_closure_date")
    case.complete("L22", "sw", {"cin_closure_date": "2025-04-24"})
    assert case.outcome == "stepped_down_allocated"


def test_closure_without_remedial_actions_is_checked_against_the_handover_only(locality_case):
    case = locality_case
    locality.to_allocation(case)
    case.at("2025-04-22T10:00:00+01:00")
    case.complete("L16", "fp_tm", {"allocated_fsw": "fsw", "allocation_date": "2025-04-22"})
    locality.hand_over(case, when="2025-04-25")
    refused(case, "L22", "sw", {"cin_closure_date": "2025-04-24"}, "cin_closure_date")
    case.complete("L22", "sw", {"cin_closure_date": "2025-04-25"})
    assert case.outcome == "stepped_down_allocated"


def test_families_plus_informed_before_the_change_was_reported_is_a_warning(locality_case):
    case = locality_case
    locality.to_review(case)
    case.at("2025-03-05T11:00:00+00:00")
    case.event("consent_withdrawn", withdrawn_by_name="Jo", withdrawn_by_relationship="mother", method="telephone")
    refused(case, "L40", "sw", {"fp_informed_date": "2025-03-06"}, "fp_informed_date")
    done = case.complete("L40", "sw", {"fp_informed_date": "2025-03-04"})
    assert [w["code"] for w in done["warnings"]] == ["fp_informed_date_before_change_reported"]
    assert warnings_recorded(case, "L40") == ["fp_informed_date_before_change_reported"]
    assert case.steps == ["L41"]


# ---- stepdown_response -------------------------------------------------------------------------------------------

def test_the_provisional_meeting_cannot_be_before_the_consultation(response_case):
    case = response_case
    response.propose(case)
    response.prepare(case, "2025-03-26")
    early = {"meeting": {"datetime": "2025-03-25T14:00:00+00:00", "venue": "Kingswood Hub"},
             "window_override_reason": "The family can only meet this week."}
    assert refused(case, "R05", "sw", early, "meeting.datetime") == \
        "The step down meeting cannot be before the step down consultation."
    response.book(case, "2025-04-08T14:00:00+01:00")
    assert case.steps == ["R06"]


def test_meeting_documents_and_start_of_work_follow_each_other(response_case):
    case = response_case
    response.to_meeting(case)  # booked for Tue 8 April
    case.at("2025-04-08T16:00:00+01:00")
    assert refused(case, "R11", "sw", response.held("2025-04-07"), "meeting_held_date") == \
        "The step down meeting cannot have been held before the date it was booked for."
    case.complete("R11", "sw", response.held("2025-04-08"))
    case.complete("R14", "sw", {})
    case.at("2025-04-09T11:00:00+01:00")
    case.complete("R15", "sd_tray", response.TRAY_OK)
    documents = {"documents_present": True}
    assert refused(case, "R24", "sw", {**documents, "documents_confirmed_date": "2025-04-08"},
                   "documents_confirmed_date") == \
        "The documents cannot have been confirmed on EHM before the referral reached the EHFW tray."
    case.complete("R24", "sw", {**documents, "documents_confirmed_date": "2025-04-09"})
    case.at("2025-04-10T11:00:00+01:00")
    case.complete("R18", "ehfw", {"contact_outcome": "contact_made", "contact_at": "2025-04-10T10:00:00+01:00"})
    assert refused(case, "R26", "ehfw", {"work_started_date": "2025-04-09"}, "work_started_date") == \
        "Work with the family cannot have started before the EHFW made contact with them."
    case.complete("R26", "ehfw", {"work_started_date": "2025-04-10"})
    assert case.outcome == "stepped_down_to_ehfw"


def test_cin_plan_upload_follows_the_copy_and_the_tray(response_case):
    case = response_case
    response.formal_request(case, document="cin_plan", document_date="2025-03-01")
    case.at("2025-03-26T10:00:01+00:00")
    case.complete("R08", "ps_mgr", response.consultation())
    case.complete("R10", "ps_mgr", response.EHFW_ASSIGNED)
    case.at("2025-04-08T16:00:00+01:00")
    case.complete("R11", "sw", response.held())
    case.complete("R14", "sw", {})
    case.complete("R15", "sd_tray", response.TRAY_OK)  # arrives in the EHFW tray on 8 April
    case.at("2025-04-09T12:00:00+01:00")
    case.complete("R22", "sw", {"cin_plan_copy_sent_date": "2025-04-09"})
    assert refused(case, "R23", "ehfw", {"cin_plan_uploaded_date": "2025-04-08"}, "cin_plan_uploaded_date") == \
        "The CIN plan cannot have been uploaded to EHM before the social worker sent the copy."
    assert refused(case, "R23", "ehfw", {"cin_plan_uploaded_date": "2025-04-09", "first_taf_date": "2025-04-07"},
                   "first_taf_date") == "The first TAF cannot be before the case arrived in the EHFW tray."
    case.complete("R23", "ehfw", {"cin_plan_uploaded_date": "2025-04-09", "first_taf_date": "2025-04-22"})
    assert refused(case, "R24", "sw", {"documents_present": True, "documents_confirmed_date": "2025-04-08"},
                   "documents_confirmed_date") == \
        "The documents cannot have been confirmed on EHM before the CIN plan was uploaded."
    case.complete("R24", "sw", {"documents_present": True, "documents_confirmed_date": "2025-04-09"})
    assert case.steps == ["R18"]


def test_transfer_to_locality_follows_the_consultation(response_case):
    case = response_case
    response.formal_request(case)
    case.at("2025-03-26T10:00:01+00:00")
    case.complete("R08", "ps_mgr", response.consultation("propose_cin_plan_locality"))
    form = {"locality_team": "Locality North"}
    assert refused(case, "R32", "rtm", {**form, "transfer_requested_date": "2025-03-25"},
                   "transfer_requested_date") == \
        "The transfer to Locality cannot have been requested before the consultation that proposed it."
    refused(case, "R32", "rtm", {**form, "transfer_requested_date": "2025-03-27"}, "transfer_requested_date")
    case.complete("R32", "rtm", {**form, "transfer_requested_date": "2025-03-26"})
    assert case.outcome == "remained_with_social_care_cin_plan"


def test_community_step_down_follows_the_consultation(response_case):
    case = response_case
    response.formal_request(case)
    case.at("2025-03-26T10:00:01+00:00")
    case.complete("R08", "ps_mgr", response.consultation("recommend_community_ehap"))
    community = {"community_setting": "St Mary's Primary", "community_lead_professional": "Head of pastoral care",
                 "community_consent": dict(response.CONSENT, scope="Community EHAP"),
                 "use_provisional_meeting_for_partner_step_down": False}
    assert refused(case, "R33", "sw", {**community, "step_down_date": "2025-03-25"}, "step_down_date") == \
        "The step down to the community setting cannot be before the consultation that recommended it."
    case.complete("R33", "sw", {**community, "step_down_date": "2025-03-26"})
    assert case.outcome == "stepped_down_to_community_ehap"


def test_ehfw_advised_before_the_change_was_reported_is_a_warning(response_case):
    case = response_case
    response.to_meeting(case)
    case.at("2025-04-08T16:00:00+01:00")
    case.complete("R11", "sw", response.held(family_agrees_plan=False))
    assert case.steps == ["R40"]
    done = case.complete("R40", "sw", {"ehfw_advised_date": "2025-04-07"})
    assert [w["code"] for w in done["warnings"]] == ["ehfw_advised_date_before_change_reported"]
    assert warnings_recorded(case, "R40") == ["ehfw_advised_date_before_change_reported"]
    assert case.steps == ["R41"]


# ---- stepup_cog --------------------------------------------------------------------------------------------------

def test_route_a_decision_transfer_and_closure_follow_each_other(api, cog_clock):
    case = cog.start(api, cog_clock, case_ref="EHM-D1")
    cog.raise_concern(case)
    cog.decide(case, "discuss_at_weekly_cog", "2025-04-17")
    case.at("2025-04-22T10:00:01+01:00")
    case.complete("U03", "cog_mgr", {"weekly_cog_date": "2025-04-22", "weekly_cog_record": "Escalating concerns."})
    escalation = {"escalation_decision": "escalate_to_csc", "decision_basis": "weekly_cog",
                  "escalation_rationale": "Agreed at the Weekly COG."}
    assert refused(case, "U02", "cog_mgr", {**escalation, "escalation_decision_date": "2025-04-17"},
                   "escalation_decision_date") == \
        "The decision follows the Weekly COG discussion: it cannot be dated before it."
    case.complete("U02", "cog_mgr", {**escalation, "escalation_decision_date": "2025-04-22"})
    cog.send_contact(case)
    case.at("2025-04-23T10:00:00+01:00")
    cog.feedback(case)
    case.at("2025-04-24T10:00:00+01:00")
    assert refused(case, "U11", "ssa", cog.checklist("2025-04-22"), "date_of_transfer") == \
        "The case cannot be transferred to LCS before the MASH Manager fed back 'CSC Accepted'."
    case.complete("U11", "ssa", cog.checklist("2025-04-23"))
    closure = {"episode_closed": True}
    assert refused(case, "U13", "keyworker", {**closure, "episode_closure_date": "2025-04-22"},
                   "episode_closure_date") == "The Early Help episode cannot be closed before the date of transfer to LCS."
    case.complete("U13", "keyworker", {**closure, "episode_closure_date": "2025-04-24"})
    assert case.outcome == "stepped_up_to_csc"


def test_route_b_email_decisions_and_closure_follow_each_other(api, cog_clock):
    case = cog.route_b(api, cog_clock, at="2025-04-08T11:00:00+01:00")
    cog.no_engagement(case, "2025-04-07")
    summary = {"summary_since_de_escalation": "4 attempts; no engagement."}
    assert refused(case, "U21", "cog_mgr", {**summary, "sa_email_date": "2025-04-06"}, "sa_email_date").startswith(
        "The e-mail to the SPOC manager reports what happened since de-escalation")
    case.complete("U21", "cog_mgr", {**summary, "sa_email_date": "2025-04-08"})
    decision = {"joint_decision": "weekly_cog_for_more_information", "cog_manager_agrees": False,
                "joint_decision_rationale": "More information needed."}
    assert refused(case, "U22", "spoc_mgr", {**decision, "joint_decision_date": "2025-04-07"},
                   "joint_decision_date") == \
        "The joint decision cannot be dated before the single assessment was e-mailed to the SPOC manager."
    cog.joint(case, "weekly_cog_for_more_information", "2025-04-08", agrees=False)
    case.at("2025-04-15T10:00:01+01:00")
    case.complete("U26", "cog_mgr", {"more_info_cog_date": "2025-04-15", "more_info_gathered": "School: no contact."})
    close = {"joint_decision": "close_no_consent", "cog_manager_agrees": True, "joint_decision_rationale": "No consent."}
    assert refused(case, "U22", "spoc_mgr", {**close, "joint_decision_date": "2025-04-14"}, "joint_decision_date") == \
        "The joint decision follows the Weekly COG discussion: it cannot be dated before it."
    cog.joint(case, "close_no_consent", "2025-04-15")
    assert refused(case, "U23", "keyworker", {"no_consent_closure_date": "2025-04-14"}, "no_consent_closure_date") == \
        "The episode cannot be closed before the joint decision to close it."
    case.complete("U23", "keyworker", {"no_consent_closure_date": "2025-04-15"})
    assert case.outcome == "closed_no_consent"


# ---- single_assessment -------------------------------------------------------------------------------------------

def test_call_visit_and_consent_follow_the_decision_and_the_arranged_visit(sa_case):
    case = sa_case
    sa.decide(case)  # 7 April
    sa.propose(case)
    case.at(sa.noon("2025-04-10"))
    assert refused(case, "A03", "sw", {"cog_team": "cog_east", "spoke_to_name": "Lee Hart",
                                       "spoke_to_role": "cog_manager", "call_date": "2025-04-06",
                                       "joint_visit_verbally_agreed": True, "proposed_joint_visit_at": sa.VISIT},
                   "call_date") == "The call to the COG team cannot be before the decision to de-escalate."
    sa.call_cog(case)
    sa.case_note(case)  # the joint visit is arranged for Mon 28 April
    sa.allocate_rep(case)
    case.at("2025-04-28T15:00:00+01:00")
    early = refused(case, "A07", "sw", sa.held(visit_date="2025-04-27", consent=dict(sa.CONSENT, date="2025-04-27")),
                    "visit_date")  # before the date the COG team was given notice of: the T15 override's reason
    assert early.startswith("The visit is recorded before the joint visit date the COG team was given notice of")
    assert refused(case, "A07", "sw", sa.held(consent=dict(sa.CONSENT, date="2025-04-25")), "consent.date") == \
        "Consent is gained at the joint home visit: its date cannot be before the visit."
    case.complete("A07", "sw", sa.held())
    assert case.steps == ["A08"]
