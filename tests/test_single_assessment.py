"""Every path of spec §4 (single_assessment), walked through the JSON API with the clock moved."""
from __future__ import annotations

import copy
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from engine.models import Event, Instance, db
from engine.runtime import known_facts
from tests.walk import Case

CHILDREN = [{"name": "Sam Smith", "dob": "2012-06-01"}, {"name": "Kim Smith", "dob": "2019-02-11"}]
START = {"sa_ref": "SA-2025-0417", "allocated_sw": "sw", "family_postcode": "BS15 1AA", "children": CHILDREN}
MONDAY = "2025-04-07T09:00:00+01:00"  # BST; Good Friday 18 and Easter Monday 21 April are bank holidays
VISIT = "2025-04-28T10:00:00+01:00"  # the 10th working day after Thu 10 April
CONSENT = {"given": True, "given_by_name": "Jo Smith", "given_by_relationship": "mother",
           "method": "in_person_written", "date": "2025-04-28",
           "scope": "work with Early Help services (COG) and sharing the Single Assessment with them"}
WITHDRAWAL = {"withdrawn_by_name": "Jo Smith", "withdrawn_by_relationship": "mother", "method": "telephone"}
TF = ["tf_child_health_issues", "tf_adult_health_issues", "tf_young_carer", "tf_domestic_abuse",
      "tf_offending_antisocial"]
CHECKLIST = ["sa_completed_on_system", "chronology_started_and_transferred_to_ecaf", "parent_phone_numbers_correct",
             "genogram_completed"]


@pytest.fixture
def clock():
    with time_machine.travel(MONDAY, tick=False) as traveller:
        yield traveller


def start(api, clock, case_ref: str = "LCS-2001", **changes) -> Case:
    return Case(api, clock, "single_assessment", case_ref, {**copy.deepcopy(START), **changes})


@pytest.fixture
def case(api, clock):
    return start(api, clock)


def snapshot(case: Case) -> tuple:
    db.session.rollback()
    instance = db.session.get(Instance, case.id)
    events = db.session.query(Event).filter(Event.instance_id == case.id, Event.type != "case_viewed").count()
    return instance.revision, instance.serialized, events


# ---- the steps, as each worker fills them in ------------------------------------------------------------

def noon(day: str) -> str:
    """Midday of a UK day as an instant with its offset (BST or GMT)."""
    return datetime.fromisoformat(f"{day}T12:00:00").replace(tzinfo=ZoneInfo("Europe/London")).isoformat()


def decide(case: Case, agreed: bool = True, on: str = "2025-04-07") -> None:
    form = {"de_escalation_agreed": agreed, "de_escalation_decision_date": on,
            "de_escalation_rationale": "Risk reduced; the family wants help with routines."}
    case.complete("A01", "saat_tm", {**form, **({"service_level": "targeted"} if agreed else {})})


def propose(case: Case, response: str = "agreeable", on: str = "2025-04-08") -> None:
    case.at(noon(on))
    case.complete("A02", "sw", {"proposed_to_family_date": on, "family_initial_response": response})


def call_cog(case: Case, visit_at: str | None = VISIT, on: str = "2025-04-10", **changes) -> dict:
    case.at(noon(on))
    form = {"cog_team": "cog_east", "spoke_to_name": "Lee Hart", "spoke_to_role": "cog_manager",
            "call_date": on, "joint_visit_verbally_agreed": visit_at is not None}
    if visit_at:
        form["proposed_joint_visit_at"] = visit_at
    return case.complete("A03", "sw", {**form, **changes})


def case_note(case: Case, visit_at: str = VISIT, who: str = "sw", **changes) -> dict:
    form = {"sa_step_down_details": "Single Assessment done; step down to Targeted Services agreed.",
            "joint_visit_at": visit_at}
    return case.complete("A04", who, {**form, **changes})


def allocate_rep(case: Case, can_attend: bool = True, sent: str = "2025-04-10") -> None:
    case.complete("A05", "spoc_bso", {"visit_note_sent_date": sent})
    case.complete("A06", "cog_mgr", {"cog_rep": "cog_rep", "cog_rep_role": "ehsw", "cog_rep_can_attend": can_attend})


def to_visit(case: Case) -> None:
    decide(case)
    propose(case)
    call_cog(case)
    case_note(case)
    allocate_rep(case)


def held(**changes) -> dict:
    form = {"joint_visit_outcome": "held", "visit_date": "2025-04-28", "draft_sa_and_plan_taken": True,
            "consent": dict(CONSENT), "new_risks_present": False, "plan_agreed": True,
            "agreed_plan": "Morning routine support; school attendance plan.", "written_agreement_completed": True,
            "contingency_plan": "Re-referral to CSC if attendance drops below 80%.", "child_views": "Sam wants help."}
    return {**form, **changes}


def visit(case: Case, **changes) -> dict:
    case.at("2025-04-28T15:00:00+01:00")
    return case.complete("A07", "sw", held(**changes))


def accept(case: Case, summary: str = "COG Accepted.") -> None:
    case.complete("A08", "cog_rep", {"cog_decision": "cog_accepted", "cog_accepted_summary": summary})


def assessment(case: Case, **changes) -> dict:
    form = {"plan_from_joint_visit": "Morning routine support; school attendance plan.",
            **{name: True for name in CHECKLIST}, **{name: False for name in TF},
            "cse_screening": [{"child_id": child["id"], "completed": True} for child in case.data["children"]]}
    return {**form, **changes}


def authorise(case: Case) -> None:
    case.complete("A11", "saat_tm", {"management_decision_case_note": "Agreed: step down to Targeted Services.",
                                     "sa_authorisation": "authorise",
                                     "info_selected_to_step_down": ["single_assessment", "plan", "genogram"]})


def hand_over(case: Case, on: str = "2025-04-29") -> None:
    case.complete("A12", "cm_tm", {"lcs_closure_decision": "closed", "lcs_closure_date": on})
    case.complete("A14", "eh_spoc", {"cog_tray": "cog_east", "allocated_to_tray_date": on})
    case.complete("A15", "cog_mgr", {"eh_worker": "keyworker", "eh_allocation_date": on,
                                     "service_level_on_allocation": "targeted"})


def shown(case: Case, bpmn_id: str, who: str = "sw") -> dict:
    task = case.api.task_at(case.id, bpmn_id)
    return case.api.get(f"/tasks/{task['task_id']}", who)["shown"]


def prefill(case: Case, bpmn_id: str, who: str = "sw") -> dict:
    task = case.api.task_at(case.id, bpmn_id)
    return case.api.get(f"/tasks/{task['task_id']}", who)["prefill"]


def alternative(case: Case, outcome: str, **extra) -> dict:
    return case.complete("A09", "sw", {"alternative_outcome": outcome, "alternative_rationale": "Discussed.",
                                       **extra})


# ---- the paths ----------------------------------------------------------------------------------------------

def test_lanes_are_the_specs_role_ids(api):
    from engine.definitions import latest_definition, parsed_definition
    parsed = parsed_definition(latest_definition("single_assessment"))
    specs = {**parsed.spec.task_specs, **parsed.subprocess_specs["sa_body"].task_specs}
    lanes = {s.bpmn_id: s.lane for s in specs.values() if type(s).__name__ == "UserTask"}
    assert lanes == {"A01": "saat_tm", "A02": "sw", "A03": "sw", "A04": "sw", "A05": "spoc_bso", "A06": "cog_mgr",
                     "A07": "sw", "A08": "cog_rep", "A10": "sw", "A11": "saat_tm", "A12": "cm_tm",
                     "A14": "eh_spoc", "A15": "cog_mgr", "A09": "sw"}


def test_not_de_escalated_and_no_interrupt_before_the_window(case):
    assert case.steps == ["A01"]
    case.event("consent_withdrawn", expect=409, **WITHDRAWAL)
    decide(case, agreed=False)
    assert case.outcome == "not_de_escalated"


def test_short_notice_reason_is_prefilled_when_the_date_was_agreed_by_phone(case):
    decide(case)
    propose(case, "undecided")
    assert case.data["cog_team_lookup"] == {"team": "cog_east", "found": True}
    assert prefill(case, "A03")["cog_team"] == "cog_east"
    call_cog(case, visit_at="2025-04-25T10:00:00+01:00")
    filled = prefill(case, "A04")
    assert filled["joint_visit_at"] == "2025-04-25T10:00:00+01:00"
    assert filled["short_notice_reason"] == "date verbally agreed with the COG team on 2025-04-10"
    assert shown(case, "A04")["earliest_joint_visit_date"] == "2025-04-28"
    assert "short_notice_reason" in case.errors("A04", "sw", {"sa_step_down_details": "x",
                                                              "joint_visit_at": filled["joint_visit_at"]})
    done = case_note(case, filled["joint_visit_at"], short_notice_reason=filled["short_notice_reason"])
    assert done["overrides"] == [{"rule": "T15", "reason": "date verbally agreed with the COG team on 2025-04-10"}]
    assert case.data["joint_visit_notice_adequate"] is False
    completed = [e.detail for e in case.history("task_completed") if e.bpmn_id == "A04"]
    assert completed[0]["override"]["rule"] == "T15"


@pytest.mark.parametrize("visit_at,enough", [
    ("2025-04-28T10:00:00+01:00", True),   # Mon: 10 working days after Thu 10 April, over Easter
    ("2025-04-25T16:00:00+01:00", False),  # Fri: the 9th working day
    ("2025-04-28T00:30:00+01:00", True),   # 00:30 BST on Mon 28 April, given in UTC
])
def test_ten_working_days_notice_across_easter(case, visit_at, enough):
    decide(case)
    propose(case)
    call_cog(case, visit_at=None)
    if enough:
        case_note(case, visit_at)
        assert case.steps == ["A05"]
    else:
        assert "short_notice_reason" in case.errors("A04", "sw", {"sa_step_down_details": "x",
                                                                  "joint_visit_at": visit_at})


@pytest.mark.parametrize("visit_at,enough", [("2027-01-12T10:00:00+00:00", True),
                                             ("2027-01-11T10:00:00+00:00", False)])
def test_ten_working_days_notice_across_christmas(api, clock, visit_at, enough):
    clock.move_to("2026-12-21T09:00:00+00:00")
    case = start(api, clock, "LCS-XMAS")
    decide(case, on="2026-12-21")
    propose(case, on="2026-12-22")
    call_cog(case, visit_at=None, on="2026-12-24")
    assert prefill(case, "A04").get("short_notice_reason") is None
    form = {"sa_step_down_details": "Details.", "joint_visit_at": visit_at}
    if enough:
        case.complete("A04", "sw", form)
        assert case.data["earliest_joint_visit_date"] == "2027-01-12"
    else:
        assert "short_notice_reason" in case.errors("A04", "sw", form)


def test_stepped_down_with_a_return_to_the_social_worker(case):
    to_visit(case)
    assert case.steps == ["A07"]
    assert case.api.task_at(case.id, "A07")["assignee"] == "sw"
    warned = visit(case, draft_sa_and_plan_taken=False)
    assert [w["code"] for w in warned["warnings"]] == ["draft_sa_and_plan_taken_false"]
    assert case.api.task_at(case.id, "A08")["assignee"] == "cog_rep"
    accept(case, "COG Accepted; Lee Hart to allocate.")
    assert prefill(case, "A10")["plan_from_joint_visit"] == "Morning routine support; school attendance plan."
    case.complete("A10", "sw", assessment(case))
    case.complete("A11", "saat_tm", {"management_decision_case_note": "Genogram missing.",
                                     "sa_authorisation": "return_to_sw", "sa_return_reason": "Add the genogram."})
    assert "sa_return_response" in case.errors("A10", "sw", assessment(case))
    case.complete("A10", "sw", assessment(case, sa_return_response="Genogram added."))
    case.at("2025-04-29T09:30:00+01:00")
    assert "info_selected_to_step_down" in case.errors("A11", "saat_tm", {
        "management_decision_case_note": "Agreed.", "sa_authorisation": "authorise"})
    authorise(case)
    assert case.steps == ["A12", "A14"]
    case.event("new_safeguarding_concern", expect=409)
    hand_over(case)
    assert case.outcome == "stepped_down_to_early_help_allocated"
    assert case.notified("sa_step_down_allocated") == ["keyworker"]
    assert [e.detail["system"] for e in case.history("case_closed")] == ["lcs"]
    assert case.history("record_transferred")[0].detail["information"] == ["single_assessment", "plan", "genogram"]


def test_lcs_closure_holds_nothing_up_and_the_facts_are_left_for_a_step_up(case):
    to_visit(case)
    visit(case)
    accept(case)
    case.complete("A10", "sw", assessment(case))
    case.at("2025-04-29T09:30:00+01:00")
    authorise(case)
    case.complete("A14", "eh_spoc", {"cog_tray": "cog_east", "allocated_to_tray_date": "2025-04-29"})
    case.complete("A15", "cog_mgr", {"eh_worker": "keyworker", "eh_allocation_date": "2025-04-29",
                                     "service_level_on_allocation": "targeted"})
    assert case.steps == ["A12"]
    assert case.notified("sa_step_down_allocated") == ["keyworker"]
    case.at("2025-04-30T09:00:00+01:00")
    case.complete("A12", "saat_tm", {"lcs_closure_decision": "closed", "lcs_closure_date": "2025-04-30"})
    data = case.data
    assert (data["de_escalation_date"], data["sa_ref"]) == ("2025-04-29", "SA-2025-0417")
    assert known_facts("LCS-2001") == {"de_escalation_date": "2025-04-29", "sa_ref": "SA-2025-0417"}


def test_family_declines_the_proposal_and_the_case_closes(case):
    decide(case)
    propose(case, "declined")
    assert case.steps == ["A09"]
    assert case.data["sa_alternative_reason"] == "family_declined_proposal"
    alternative(case, "close_nfa")
    assert case.notified("sa_step_down_stopped") == ["cog_mgr"]
    assert case.outcome == "closed_alternative_outcome"
    assert len(case.history("case_closed")) == 1


def test_representative_cannot_attend_then_the_visit_is_rebooked_then_no_engagement(case):
    decide(case)
    propose(case)
    call_cog(case)
    case_note(case)
    allocate_rep(case, can_attend=False)
    assert case.steps == ["A04"]
    assert "joint_visit_at" in case.errors("A04", "sw", {"sa_step_down_details": "x", "joint_visit_at": VISIT})
    case.at("2025-04-14T09:00:00+01:00")
    case_note(case, "2025-04-29T14:00:00+01:00", short_notice_reason="The COG manager offered this date.")
    allocate_rep(case, sent="2025-04-14")
    case.at("2025-04-29T16:00:00+01:00")
    case.complete("A07", "sw", {"joint_visit_outcome": "rebook", "rebook_reason": "Mum was in hospital."})
    assert case.steps == ["A04"]
    assert prefill(case, "A04").get("joint_visit_at") is None
    case_note(case, "2025-05-15T10:00:00+01:00", who="saat_tm")
    allocate_rep(case, sent="2025-04-29")
    case.at("2025-05-15T15:00:00+01:00")
    refused = case.errors("A07", "sw", {"joint_visit_outcome": "family_not_engaging"})
    assert "visit_non_engagement_summary" in refused
    case.complete("A07", "sw", {"joint_visit_outcome": "family_not_engaging",
                                "visit_non_engagement_summary": "Nobody answered; three calls unanswered."})
    assert case.data["sa_alternative_reason"] == "no_engagement"
    alternative(case, "continue_single_assessment_in_csc")
    assert case.notified("sa_step_down_stopped") == ["cog_mgr", "cog_rep"]
    assert case.outcome == "remained_with_social_care"
    assert [e.bpmn_id for e in case.history("task_completed")].count("A04") == 3


def test_new_risks_at_the_visit_cannot_resume_the_step_down(case):
    to_visit(case)
    visit(case, new_risks_present=True, new_risks_details="Mum's ex-partner is back in the home.")
    assert case.data["sa_alternative_reason"] == "new_risks"
    assert "alternative_outcome" in case.errors("A09", "sw", {"alternative_outcome": "resume_step_down",
                                                              "alternative_rationale": "x", "family_now_agrees": True})
    alternative(case, "escalate_statutory")
    assert case.outcome == "remained_with_social_care"


def test_no_consent_at_the_visit_then_resumed_with_the_cog_team_prefilled(case):
    to_visit(case)
    visit(case, consent={"given": False}, plan_agreed=False)
    assert case.data["sa_alternative_reason"] == "no_consent"
    refused = case.errors("A09", "sw", {"alternative_outcome": "resume_step_down", "alternative_rationale": "x"})
    assert "family_now_agrees" in refused
    case.at("2025-05-06T10:00:00+01:00")
    alternative(case, "resume_step_down", family_now_agrees=True)
    assert case.steps == ["A03"]
    assert prefill(case, "A03")["cog_team"] == "cog_east"
    case.complete("A03", "sw", {"cog_team": "cog_east", "spoke_to_name": "Lee Hart", "spoke_to_role": "ehsw",
                                "call_date": "2025-05-06", "joint_visit_verbally_agreed": False})
    assert prefill(case, "A04").get("joint_visit_at") is None
    case_note(case, "2025-05-21T10:00:00+01:00")
    allocate_rep(case, sent="2025-05-06")
    case.at("2025-05-21T15:00:00+01:00")
    case.complete("A07", "sw", held(visit_date="2025-05-21", consent=dict(CONSENT, date="2025-05-21")))
    accept(case)
    case.complete("A10", "sw", assessment(case))
    authorise(case)
    hand_over(case, on="2025-05-21")
    assert case.outcome == "stepped_down_to_early_help_allocated"
    assert [e.bpmn_id for e in case.history("task_completed")].count("A02") == 1


def test_consent_withdrawn_after_allocation_keeps_the_case_data(case):
    to_visit(case)
    assert "withdrawn_by_name" in case.event("consent_withdrawn", expect=400)["fields"]
    case.event("consent_withdrawn", **WITHDRAWAL, details="Mum phoned to withdraw consent.")
    assert case.steps == ["A09"]
    assert (case.data["cog_team"], case.data["cog_rep"]) == ("cog_east", "cog_rep")
    assert case.data["sa_alternative_reason"] == "consent_withdrawn"
    case.event("new_safeguarding_concern", expect=409)
    alternative(case, "resume_step_down", family_now_agrees=True)
    assert case.notified("sa_step_down_stopped") == ["cog_mgr", "cog_rep"]
    assert prefill(case, "A03")["cog_team"] == "cog_east"


def test_new_safeguarding_concern_at_the_authorisation(case):
    to_visit(case)
    visit(case)
    accept(case)
    case.complete("A10", "sw", assessment(case))
    case.event("new_safeguarding_concern", details="Police notification overnight.")
    assert case.steps == ["A09"]
    assert case.data["change_report"]["type"] == "new_safeguarding_concern"
    alternative(case, "universal_services_signposting")
    assert case.outcome == "closed_alternative_outcome"


@pytest.mark.parametrize("dob,required", [("2015-04-28", True), ("2015-04-29", False)])
def test_cse_screening_for_a_child_who_turns_ten(api, clock, dob, required):
    case = start(api, clock, children=[{"name": "Ash Smith", "dob": dob}])
    to_visit(case)
    visit(case)
    accept(case)
    form = assessment(case, cse_screening=[])
    if required:
        assert "cse_screening" in case.errors("A10", "sw", form)
    else:
        case.complete("A10", "sw", form)
        assert case.steps == ["A11"]


def test_incomplete_checklist_troubled_families_and_consent_are_refused(case):
    to_visit(case)
    before = snapshot(case)
    refused = case.errors("A07", "sw", held(consent={"given": True, "given_by_name": "Jo Smith"}))
    assert {"consent.given_by_relationship", "consent.method", "consent.date", "consent.scope"} <= set(refused)
    assert "written_agreement_completed" in case.errors("A07", "sw", held(written_agreement_completed=False))
    assert snapshot(case) == before
    visit(case)
    accept(case)
    before = snapshot(case)
    form = assessment(case, genogram_completed=False, tf_domestic_abuse=True)
    del form["tf_young_carer"]
    refused = case.errors("A10", "sw", form)
    assert {"genogram_completed", "tf_young_carer", "tf_domestic_abuse_detail"} <= set(refused)
    assert snapshot(case) == before
    assert case.steps == ["A10"]


def test_bad_start_data_is_refused(api, clock):
    bad = {**copy.deepcopy(START), "family_postcode": "Kingswood", "sa_ref": ""}
    answer = api.post("/instances", "sw", {"process": "single_assessment", "case_ref": "LCS-9", "data": bad},
                      expect=400)
    assert {"family_postcode", "sa_ref"} <= set(answer["fields"])


def test_postcode_outside_every_cog_team_needs_a_team_chosen(api, clock):
    case = start(api, clock, family_postcode="BS99 9ZZ")
    decide(case)
    propose(case)
    assert case.data["cog_team_lookup"] == {"team": None, "found": False}
    assert prefill(case, "A03").get("cog_team") is None
    assert "cog_team" in case.errors("A03", "sw", {"spoke_to_name": "Lee Hart", "spoke_to_role": "ehsw",
                                                   "call_date": "2025-04-07", "joint_visit_verbally_agreed": False})


# ---- seed 002 where the first build departed from it ------------------------------------------------------

def test_a_visit_recorded_before_the_notified_date_needs_a_reason(case):
    """The COG team was given notice (case note Thu 10 April) of a visit on Mon 28 April."""
    to_visit(case)
    case.at("2025-04-28T15:00:00+01:00")
    before = snapshot(case)
    assert "visit_date" in case.errors("A07", "sw", held(visit_date="2025-04-09"))
    refused = case.errors("A07", "sw", held(visit_date="2025-04-25"))
    assert set(refused) == {"visit_date", "visit_brought_forward_reason"}
    assert "given notice of" in refused["visit_brought_forward_reason"]
    assert snapshot(case) == before and case.steps == ["A07"]
    reason = "Mum asked for Friday; Lee Hart (COG) agreed and attended."
    done = case.complete("A07", "sw", held(visit_date="2025-04-25", consent=dict(CONSENT, date="2025-04-25"),
                                           visit_brought_forward_reason=reason))
    assert done["overrides"] == [{"rule": "T15", "reason": reason}]
    assert case.steps == ["A08"]
    completed = [e.detail for e in case.history("task_completed") if e.bpmn_id == "A07"]
    assert completed[0]["override"] == {"rule": "T15", "reason": reason}


def test_a_visit_on_or_after_the_notified_date_needs_no_reason(case):
    to_visit(case)
    case.at("2025-04-29T15:00:00+01:00")
    done = case.complete("A07", "sw", held(visit_date="2025-04-29", consent=dict(CONSENT, date="2025-04-29")))
    assert done["overrides"] == [] and case.steps == ["A08"]


def test_cog_does_not_accept_then_the_social_worker_explores_an_alternative(case):
    to_visit(case)
    visit(case)
    assert case.api.task_at(case.id, "A08")["assignee"] == "cog_rep"
    before = snapshot(case)
    assert "cog_decision" in case.errors("A08", "cog_rep", {"cog_accepted_summary": "COG Accepted."})
    refused = case.errors("A08", "cog_rep", {"cog_decision": "cog_not_accepted"})
    assert set(refused) == {"cog_not_accepted_reason"}
    assert snapshot(case) == before and case.steps == ["A08"]
    case.complete("A08", "cog_rep", {"cog_decision": "cog_not_accepted",
                                     "cog_not_accepted_reason": "Needs a specialist service, not Targeted."})
    assert case.steps == ["A09"]
    assert case.api.task_at(case.id, "A09")["assignee"] == "sw"
    assert case.data["sa_alternative_reason"] == "cog_not_accepted"
    refused = case.errors("A09", "sw", {"alternative_outcome": "resume_step_down", "alternative_rationale": "x",
                                        "family_now_agrees": True})
    assert "alternative_outcome" in refused
    alternative(case, "universal_services_signposting")
    assert case.notified("sa_step_down_stopped") == ["cog_mgr", "cog_rep"]
    assert case.outcome == "closed_alternative_outcome"
    assert case.history("record_transferred") == []


def test_the_cm_tm_records_that_lcs_closure_is_not_appropriate_yet_and_the_step_down_finishes(case):
    to_visit(case)
    visit(case)
    accept(case)
    case.complete("A10", "sw", assessment(case))
    case.at("2025-04-29T09:30:00+01:00")
    authorise(case)
    assert [t["bpmn_id"] for t in case.api.tasks("cm_tm", instance=case.id)] == ["A12"]
    case.complete("A14", "eh_spoc", {"cog_tray": "cog_east", "allocated_to_tray_date": "2025-04-29"})
    case.complete("A15", "cog_mgr", {"eh_worker": "keyworker", "eh_allocation_date": "2025-04-29",
                                     "service_level_on_allocation": "targeted"})
    assert case.steps == ["A12"]
    before = snapshot(case)
    case.complete("A12", "sw", {"lcs_closure_decision": "not_appropriate_yet",
                                "lcs_not_closed_reason": "x"}, expect=403)
    refused = case.errors("A12", "cm_tm", {"lcs_closure_decision": "not_appropriate_yet"})
    assert set(refused) == {"lcs_not_closed_reason"}
    assert "lcs_closure_date" in case.errors("A12", "cm_tm", {"lcs_closure_decision": "closed"})
    assert snapshot(case) == before
    reason = "The sibling's child protection plan is still open on LCS."
    case.complete("A12", "cm_tm", {"lcs_closure_decision": "not_appropriate_yet", "lcs_not_closed_reason": reason})
    assert case.outcome == "stepped_down_to_early_help_allocated"
    assert (case.data["lcs_closure_decision"], case.data["lcs_not_closed_reason"]) == ("not_appropriate_yet", reason)
    assert case.history("case_closed") == []
    assert case.notified("sa_step_down_allocated") == ["keyworker"]
