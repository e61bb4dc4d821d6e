"""Every path of spec §3 (stepup_cog), both routes, walked through the JSON API with the clock moved."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
import time_machine

from engine.models import Instance, Notification, db
from tests.walk import Case

CHILDREN = [{"name": "Alex Jones", "dob": "2012-09-14"}, {"name": "Ruby Jones", "dob": "2016-03-02"}]
START = {"keyworker": "keyworker", "trigger_route": "keyworker_concern", "children": CHILDREN}
ROUTE_B = {"trigger_route": "sa_non_engagement", "de_escalation_date": "2025-04-01", "sa_ref": "SA-7781"}
MAUNDY_THURSDAY = "2025-04-17T09:00:00+01:00"
SINGLE_ASSESSMENT = Path(__file__).resolve().parent.parent / "processes" / "single_assessment.bpmn"
WITHDRAWAL = {"withdrawn_by_name": "Sam Jones", "withdrawn_by_relationship": "father", "method": "telephone"}


@pytest.fixture
def clock():
    with time_machine.travel(MAUNDY_THURSDAY, tick=False) as traveller:
        yield traveller


def start(api, clock, case_ref: str = "EHM-2001", who: str = "keyworker", **data) -> Case:
    return Case(api, clock, "stepup_cog", case_ref, {**copy.deepcopy(START), **data}, who=who)


@pytest.fixture
def case(api, clock):
    return start(api, clock)


def raise_concern(case: Case, urgent: bool = False, consent: str = "given") -> None:
    form = {"concerns_summary": "Alex is missing school and was found out late twice.",
            "what_has_changed": "Mum's new partner has moved in.", "urgent_safeguarding_concern": urgent,
            "family_consent_to_referral": consent}
    if consent != "given":
        form["consent_note"] = "Mum will not discuss a referral."
    case.complete("U01", "keyworker", form)


def decide(case: Case, decision: str, on: str, **extra) -> dict:
    form = {"escalation_decision": decision, "escalation_decision_date": on, "escalation_rationale": "Discussed.",
            **extra}
    return case.complete("U02", "cog_mgr", form)


def escalate(case: Case, on: str, **extra) -> None:
    decide(case, "escalate_to_csc", on, decision_basis="discussion_with_cm_tm", cm_tm_name="Pat Lee", **extra)


def send_contact(case: Case, eha: str | None = None, star: str | None = None) -> None:
    dates = {"eha_completed_date": eha, "outcomes_star_completed_date": star}
    case.complete("U05", "cog_bso", {"key_agencies_up_to_date": True, **{k: v for k, v in dates.items() if v}})
    case.complete("U06", "keyworker", contact_form(case))


def contact_form(case: Case, prefix: str = "", **changes) -> dict:
    ids = [child["id"] for child in case.data["children"]]
    form = {"family_working_used": True, "siblings_included": ids, "source_type": "cog",
            "contact_reason": "Escalating concerns after the Weekly COG.", "step_up_details": "See the COG record."}
    return {f"{prefix}{key}": value for key, value in {**form, **changes}.items() if value is not None}


def feedback(case: Case, verdict: str = "csc_accepted") -> None:
    case.complete("U08", "mash_mgr", {"mash_feedback": verdict, "mash_feedback_rationale": "Threshold discussed."})


def checklist(transfer: str, eha: bool = False, star: bool = False, **changes) -> dict:
    return {"date_of_transfer": transfer, "transfer_comments": "Accepted by MASH.", "contact_record": True,
            "mash_assessment": True, "cse_screening_tool": True, "most_recent_plan": True, "eha_included": eha,
            "outcomes_star_included": star, "weekly_cog_discussion_included": False,
            "management_decision_case_note_included": True, **changes}


def due(case: Case, bpmn_id: str) -> str:
    return next(s["due_at"] for s in case.detail["current_steps"] if s["bpmn_id"] == bpmn_id)


def revision(case: Case) -> int:
    db.session.rollback()
    return db.session.get(Instance, case.id).revision


def test_lanes_and_assignees_are_the_specs(api):
    from engine.definitions import latest_definition, parsed_definition
    specs = parsed_definition(latest_definition("stepup_cog")).spec.task_specs.values()
    users = {s.bpmn_id: s for s in specs if type(s).__name__ == "UserTask"}
    assert {i: s.lane for i, s in users.items()} == {
        "U01": "keyworker", "U02": "cog_mgr", "U03": "cog_mgr", "U05": "cog_bso", "U06": "keyworker",
        "U08": "mash_mgr", "U10": "cog_mgr", "U11": "ssa", "U13": "keyworker", "U20": "cog_mgr", "U21": "cog_mgr",
        "U22": "spoc_mgr", "U23": "keyworker", "U24": "cog_mgr", "U26": "cog_mgr"}
    assignees = {i: s.extensions["properties"].get("assignee") for i, s in users.items()}
    assert {i for i, a in assignees.items() if a} == {"U01", "U06", "U13", "U23"}
    assert set(assignees.values()) == {"keyworker", None}


# ---- route A: the key worker's concern ------------------------------------------------------------------

def test_route_a_stepped_up_with_feedback_in_time_across_easter(case):
    """The family refused consent (recorded, not blocking); the EHA of 23 Jan is exactly 3 months old on 23 April
    and must go to LCS, the Outcomes Star of 22 Jan is older and goes with a warning."""
    raise_concern(case, consent="refused")
    escalate(case, "2025-04-17")
    case.at("2025-04-17T15:00:00+01:00")
    send_contact(case, eha="2025-01-23", star="2025-01-22")
    assert case.steps == ["U08"]
    contact = case.history("contact_created")[0].detail
    assert contact["contact_method"] == "Weekly COG Discussion" and contact["source"] == "cog"
    assert due(case, "U08") == "2025-04-22T15:00:00+01:00"  # Good Friday, the weekend and Easter Monday skipped
    case.at("2025-04-22T15:00:00+01:00")  # at the deadline itself: on time
    feedback(case)
    assert case.history("deadline_breached") == [] and case.data["feedback_within_24h"] is True
    assert case.notified("mash_feedback_csc_accepted") == ["cog_mgr"]
    assert case.notified("mash_feedback_csc_rejected") == []
    case.at("2025-04-23T10:00:00+01:00")
    done = case.complete("U11", "ssa", checklist("2025-04-23", eha=True, star=True))
    assert [w["code"] for w in done["warnings"]] == ["outcomes_star_included_older_than_3_months"]
    transferred = case.history("record_transferred")[0].detail
    assert transferred["to_system"] == "lcs" and "early_help_assessment" in transferred["forms_included"]
    case.complete("U13", "keyworker", {"episode_closed": True, "episode_closure_date": "2025-04-23"})
    assert case.outcome == "stepped_up_to_csc"
    assert case.data["mash_feedback_breached"] is False
    case.event("consent_withdrawn", who="keyworker", expect=409, **WITHDRAWAL)


def test_mash_feedback_breach_across_the_clock_change(api, clock):
    """Contact finalised Fri 28 March 14:00 GMT: 24 working hours end Mon 31 March 14:00 BST."""
    clock.move_to("2025-03-27T10:00:00+00:00")
    case = start(api, clock)
    raise_concern(case, consent="not_sought")
    escalate(case, "2025-03-27")
    case.at("2025-03-28T14:00:00+00:00")
    send_contact(case)
    assert case.detail["waiting_timers"][0]["due_at"] == "2025-03-31T14:00:00+01:00"
    case.at("2025-03-31T14:00:00+01:00")
    assert case.history("deadline_breached") == []
    case.at("2025-03-31T14:00:01+01:00")
    breach = case.history("deadline_breached")
    assert [(e.detail["timescale"], e.detail["task"]) for e in breach] == [("T11", "U08")]
    assert case.notified("mash_feedback_overdue") == ["cog_mgr", "mash_mgr"]
    assert [(f["due"], f["breach_at"]) for f in case.detail["flags"]["T11"]] == [
        ("2025-03-31T14:00:00+01:00", "2025-03-31T14:00:00+01:00")]
    assert [t["bpmn_id"] for t in api.tasks("mash_mgr", overdue=1)] == ["U08"]
    case.at("2025-04-01T09:00:00+01:00")
    feedback(case, "csc_rejected")
    assert case.data["feedback_within_24h"] is False and case.data["mash_feedback_breached"] is True
    assert case.notified("mash_feedback_csc_rejected") == ["cog_mgr"]
    assert case.notified("mash_feedback_csc_accepted") == []
    case.complete("U10", "cog_mgr", {"rejection_next_step": "continue_early_help", "rejection_rationale": "TAC."})
    assert case.notified("csc_rejected_remains_with_early_help") == ["keyworker"]
    assert case.outcome == "remained_with_early_help_csc_rejected"
    assert len(case.notified("mash_feedback_overdue")) == 2  # once each, never again


def test_weekly_cog_on_a_bank_holiday_then_not_escalated(api, clock):
    """Decided on Thu 23 Dec 2027 to wait for the Weekly COG: Tue 28 Dec is a bank holiday, so Wed 29 Dec 10:00."""
    clock.move_to("2027-12-23T11:00:00+00:00")
    case = start(api, clock, case_ref="EHM-2027")
    raise_concern(case, urgent=True)
    warned = decide(case, "discuss_at_weekly_cog", "2027-12-23")
    assert [w["code"] for w in warned["warnings"]] == ["escalation_decision_weekly_cog_while_urgent"]
    assert case.steps == [] and case.data["weekly_cog_start_at"] == "2027-12-29T10:00:00+00:00"
    case.event("new_safeguarding_concern", who="keyworker", expect=409)
    case.at("2027-12-28T10:00:01+00:00")
    assert case.steps == []
    case.at("2027-12-29T10:00:01+00:00")
    assert case.steps == ["U03"]
    early = case.errors("U03", "cog_mgr", {"weekly_cog_date": "2027-12-28", "weekly_cog_record": "Discussed."})
    assert "weekly_cog_date" in early
    case.complete("U03", "cog_mgr", {"weekly_cog_date": "2027-12-29", "weekly_cog_record": "Support plan holds."})
    assert case.steps == ["U02"] and case.data["escalation_decision"] is None
    decide(case, "do_not_escalate", "2027-12-29")
    assert case.notified("step_up_not_escalated") == ["keyworker"]
    assert case.outcome == "remained_with_early_help"


def test_rejected_then_re_referred_creates_a_second_contact(case):
    raise_concern(case)
    escalate(case, "2025-04-17")
    send_contact(case)
    feedback(case, "csc_rejected")
    case.complete("U10", "cog_mgr", {"rejection_next_step": "re_refer_with_more_information",
                                     "rejection_rationale": "The school has new information."})
    assert case.steps == ["U02"]
    case.at("2025-04-23T09:30:00+01:00")
    decide(case, "escalate_to_csc", "2025-04-23", decision_basis="weekly_cog")
    send_contact(case)
    contacts = [e.detail["contact_id"] for e in case.history("contact_created")]
    assert len(contacts) == 2 and contacts[0] != contacts[1]
    assert due(case, "U08") == "2025-04-24T09:30:00+01:00"
    feedback(case)
    case.complete("U11", "ssa", checklist("2025-04-23"))
    refused = case.errors("U13", "keyworker", {"episode_closed": False})
    assert "episode_not_closed_reason" in refused
    case.complete("U13", "keyworker", {"episode_closed": False, "episode_not_closed_reason": "Sibling stays open."})
    assert case.outcome == "stepped_up_to_csc"


@pytest.mark.parametrize("eha,included,refused,warning", [
    ("2025-02-28", False, True, None),       # 30 May - 3 months = 28 Feb (clamped): in the window, required
    ("2025-02-28", True, False, None),
    ("2025-02-27", True, False, "eha_included_older_than_3_months"),
    ("2025-02-27", False, False, None),
    (None, True, True, None),                # no EHA to include
])
def test_eha_look_back_from_the_date_of_transfer(api, clock, eha, included, refused, warning):
    clock.move_to("2025-05-28T10:00:00+01:00")
    case = start(api, clock)
    raise_concern(case)
    escalate(case, "2025-05-28")
    send_contact(case, eha=eha)
    feedback(case)
    case.at("2025-05-30T10:00:00+01:00")
    before = revision(case)
    if refused:
        assert "eha_included" in case.errors("U11", "ssa", checklist("2025-05-30", eha=included))
        assert revision(case) == before and case.steps == ["U11"]
    else:
        done = case.complete("U11", "ssa", checklist("2025-05-30", eha=included))
        assert [w["code"] for w in done["warnings"]] == ([warning] if warning else [])


def test_checklist_and_contact_must_be_complete(case):
    raise_concern(case)
    escalate(case, "2025-04-17")
    refused = case.errors("U05", "cog_bso", {"key_agencies_up_to_date": False})
    assert "key_agencies_up_to_date" in refused
    case.complete("U05", "keyworker", {"key_agencies_up_to_date": True, "outcomes_star_completed_date": "2025-03-01"})
    before = revision(case)
    assert "siblings_included" in case.errors("U06", "keyworker", contact_form(case, siblings_included=["x1"]))
    assert "siblings_included" in case.errors("U06", "keyworker", contact_form(case, siblings_included=None))
    assert revision(case) == before and case.history("contact_created") == []
    case.complete("U06", "keyworker", contact_form(case, family_working_used=False, siblings_included=None))
    feedback(case)
    refused = case.errors("U11", "ssa", checklist("2025-04-17", contact_record=False, star=False))
    assert set(refused) == {"contact_record"}
    refused = case.errors("U11", "ssa", checklist("2025-04-17"))
    assert set(refused) == {"outcomes_star_included"}
    assert revision(case) == before + 2 and case.steps == ["U11"]


# ---- route B: after a Single Assessment de-escalation ----------------------------------------------------

def route_b(api, clock, at: str = "2025-04-30T10:00:00+01:00") -> Case:
    clock.move_to(at)
    return start(api, clock, case_ref="LCS-3003", who="cog_mgr", **ROUTE_B)


def no_engagement(case: Case, on: str = "2025-04-29") -> None:
    case.complete("U20", "cog_mgr", {"trigger_reason": "no_engagement", "contact_attempts": 4, "event_date": on})


def joint(case: Case, decision: str, on: str, agrees: bool = True, expect: int = 200) -> dict:
    form = {"joint_decision": decision, "cog_manager_agrees": agrees, "joint_decision_rationale": "Agreed.",
            "joint_decision_date": on}
    return case.complete("U22", "spoc_mgr", form, expect=expect)


@pytest.mark.parametrize("event_date,within", [
    ("2025-04-01", True),    # on the day of the de-escalation
    ("2025-04-29", True),    # day 28
    ("2025-04-30", False),   # day 29: the standard route
    ("2025-03-31", False),   # before the de-escalation
])
def test_four_week_window_from_the_de_escalation(api, clock, event_date, within):
    case = route_b(api, clock)
    no_engagement(case, event_date)
    assert case.data["within_four_weeks"] is within
    if within:
        assert case.steps == ["U21"]
    else:
        assert case.steps == ["U01"] and case.data["trigger_route"] == "keyworker_concern"
        assert case.notified("sa_step_up_window_passed") == ["cog_mgr"]
        raise_concern(case)
        decide(case, "do_not_escalate", "2025-04-30")
        assert case.outcome == "remained_with_early_help"


def test_route_b_consent_withdrawn_joint_decision_to_close(api, clock):
    case = route_b(api, clock)
    case.complete("U20", "cog_mgr", {"trigger_reason": "consent_withdrawn_support_refused", "event_date": "2025-04-28",
                                     "consent_withdrawn_date": "2025-04-28", "withdrawn_by": "Mum"})
    task = case.api.task_at(case.id, "U21")
    prefill = case.api.get(f"/tasks/{task['task_id']}", "cog_mgr")["prefill"]
    assert prefill["summary_since_de_escalation"] == "Mum withdrew consent on 2025-04-28 and refused support."
    case.complete("U21", "cog_mgr", {"sa_email_date": "2025-04-30",
                                     "summary_since_de_escalation": prefill["summary_since_de_escalation"]})
    refused = joint(case, "close_no_consent", "2025-04-30", agrees=False, expect=400)
    assert "joint_decision" in refused["fields"]
    joint(case, "close_no_consent", "2025-04-30")
    case.event("consent_withdrawn", who="cog_mgr", expect=409, **WITHDRAWAL)
    case.complete("U23", "keyworker", {"no_consent_closure_date": "2025-04-30"})
    assert case.outcome == "closed_no_consent"


def test_route_b_weekly_cog_then_immediate_escalation(api, clock):
    case = route_b(api, clock, at="2025-04-08T11:00:00+01:00")
    no_engagement(case, "2025-04-07")
    case.complete("U21", "cog_mgr", {"sa_email_date": "2025-04-08",
                                     "summary_since_de_escalation": "4 attempts; no engagement."})
    joint(case, "weekly_cog_for_more_information", "2025-04-08", agrees=False)
    assert case.detail["waiting_timers"][0]["due_at"] == "2025-04-15T10:00:00+01:00"  # next Tuesday 10:00 BST
    case.at("2025-04-15T10:00:01+01:00")
    case.complete("U26", "cog_mgr", {"more_info_cog_date": "2025-04-15", "more_info_gathered": "School: no contact."})
    assert case.steps == ["U22"]
    joint(case, "immediate_escalation_to_sa_team", "2025-04-15")
    assert "sa_siblings_included" in case.errors("U24", "cog_mgr", contact_form(case, "sa_", siblings_included=["z"]))
    case.complete("U24", "cog_mgr", contact_form(case, "sa_"))
    contact = case.history("contact_created")[0].detail
    assert contact["sa_ref"] == "SA-7781" and contact["request"] == "request for Single Assessment team to review"
    assert case.outcome == "escalated_to_single_assessment_team"
    assert case.history("deadline_breached") == [] and case.detail["waiting_timers"] == []


def test_start_data_is_checked_and_nothing_is_created(api, clock):
    bad = {**START, "trigger_route": "sa_non_engagement"}
    answer = api.post("/instances", "cog_mgr", {"process": "stepup_cog", "case_ref": "LCS-1", "data": bad},
                      expect=400)
    assert set(answer["fields"]) == {"de_escalation_date", "sa_ref"}
    future = {**bad, "de_escalation_date": "2025-05-01", "sa_ref": "SA-1"}
    answer = api.post("/instances", "cog_mgr", {"process": "stepup_cog", "case_ref": "LCS-1", "data": future},
                      expect=400)
    assert set(answer["fields"]) == {"de_escalation_date"}
    db.session.rollback()
    assert db.session.query(Instance).filter_by(process_id="stepup_cog").count() == 0


@pytest.mark.skipif(not SINGLE_ASSESSMENT.exists(), reason="processes/single_assessment.bpmn is not built yet")
def test_route_b_takes_the_de_escalation_left_by_the_single_assessment(api, clock):
    """The Single Assessment authorised on Tue 29 April leaves de_escalation_date and sa_ref on the case."""
    sa = pytest.importorskip("tests.test_single_assessment")
    stepped_down_from_single_assessment(api, clock, "LCS-5005")
    clock.move_to("2025-05-27T10:00:00+01:00")
    case = start(api, clock, case_ref="LCS-5005", who="cog_mgr", trigger_route="sa_non_engagement")
    assert (case.data["de_escalation_date"], case.data["sa_ref"]) == ("2025-04-29", sa.START["sa_ref"])
    no_engagement(case, "2025-05-27")  # day 28 after the de-escalation
    assert case.steps == ["U21"]


def stepped_down_from_single_assessment(api, clock, case_ref: str) -> Case:
    """A Single Assessment of Sam and Kim Smith authorised on Tue 29 April and handed over to Early Help."""
    sa = pytest.importorskip("tests.test_single_assessment")
    clock.move_to(sa.MONDAY)
    earlier = sa.start(api, clock, case_ref=case_ref)
    sa.to_visit(earlier)
    sa.visit(earlier)
    sa.accept(earlier)
    earlier.complete("A10", "sw", sa.assessment(earlier))
    earlier.at("2025-04-29T09:30:00+01:00")
    sa.authorise(earlier)
    sa.hand_over(earlier)
    assert earlier.outcome == "stepped_down_to_early_help_allocated"
    return earlier


@pytest.mark.skipif(not SINGLE_ASSESSMENT.exists(), reason="processes/single_assessment.bpmn is not built yet")
def test_route_b_finds_the_de_escalation_under_another_systems_reference_by_the_child(api, clock):
    """The Single Assessment ran under LCS-1; the step up is started in EHM as EHM-9 for the same child. The
    name is typed differently (case, spacing, an accent) but with the same date of birth, so it is linked;
    a child id carried from the Single Assessment links whatever the name; another family is not linked."""
    earlier = stepped_down_from_single_assessment(api, clock, "LCS-1")
    clock.move_to("2025-05-27T10:00:00+01:00")
    sam = {"name": "  SAM  smíth ", "dob": "2012-06-01"}
    case = start(api, clock, case_ref="EHM-9", who="cog_mgr", trigger_route="sa_non_engagement", children=[sam])
    assert (case.data["de_escalation_date"], case.data["sa_ref"]) == ("2025-04-29", "SA-2025-0417")
    no_engagement(case, "2025-05-27")
    assert case.steps == ["U21"]
    carried = {"id": earlier.data["children"][1]["id"], "name": "Kimberley Smith", "dob": "2019-02-11"}
    by_id = start(api, clock, case_ref="EHM-10", who="cog_mgr", trigger_route="sa_non_engagement",
                  children=[carried])
    assert by_id.data["de_escalation_date"] == "2025-04-29"
    assert by_id.data["children"][0]["id"] == carried["id"]
    other_family = {"process": "stepup_cog", "case_ref": "EHM-11",
                    "data": {**START, "trigger_route": "sa_non_engagement", "children": [{**sam, "dob": "2012-06-02"}]}}
    answer = api.post("/instances", "cog_mgr", other_family, expect=400)
    assert set(answer["fields"]) == {"de_escalation_date", "sa_ref"}
    linked = api.get("/instances?case_ref=EHM-9&family=1", "manager")["instances"]
    assert [(i["case_ref"], i["process"], i["linked_by"]) for i in linked] == [
        ("LCS-1", "single_assessment", ["name_dob"]), ("EHM-9", "stepup_cog", ["case_ref"])]
    assert [i["case_ref"] for i in api.get("/instances?case_ref=EHM-9", "manager")["instances"]] == ["EHM-9"]
    assert api.get("/instances?family=1", "manager", expect=400)["fields"] == {"case_ref": "required with family=1"}


def test_a_blank_or_overlong_child_id_is_refused_and_nothing_is_created(api, clock):
    children = [{"id": " ", "name": "Alex Jones", "dob": "2012-09-14"}, {"id": "x" * 65, "name": "R" * 201,
                                                                           "dob": "2016-03-02"}]
    answer = api.post("/instances", "keyworker", {"process": "stepup_cog", "case_ref": "EHM-1",
                                                  "data": {**START, "children": children}}, expect=400)
    assert set(answer["fields"]) == {"children.0.id", "children.1.id", "children.1.name"}
    assert "non-blank" in answer["fields"]["children.0.id"]
    db.session.rollback()
    assert db.session.query(Instance).count() == 0


def test_no_interrupt_is_caught_anywhere(case):
    """stepup_cog waits for neither signal (spec 3.6): 409, and the case is unchanged."""
    before = revision(case)
    for name, payload in (("consent_withdrawn", WITHDRAWAL), ("new_safeguarding_concern", {})):
        answer = case.event(name, who="keyworker", expect=409, **payload)
        assert f"not waiting for {name}" in answer["error"]
    raise_concern(case)
    escalate(case, "2025-04-17")
    send_contact(case)
    case.event("new_safeguarding_concern", who="keyworker", expect=409)
    assert revision(case) == before + 4 and case.steps == ["U08"] and case.history("event_raised") == []


def test_the_cog_manager_hears_csc_rejected_then_csc_accepted(case):
    """002: the MASH Manager feeds back to the COG Manager via 'CSC Accepted' or 'CSC Rejected', whichever it is."""
    raise_concern(case)
    escalate(case, "2025-04-17")
    send_contact(case)
    feedback(case, "csc_rejected")
    assert case.notified("mash_feedback_csc_rejected") == ["cog_mgr"]
    case.complete("U10", "cog_mgr", {"rejection_next_step": "re_refer_with_more_information",
                                     "rejection_rationale": "The school has new information."})
    case.at("2025-04-23T09:30:00+01:00")
    decide(case, "escalate_to_csc", "2025-04-23", decision_basis="weekly_cog")
    send_contact(case)
    assert case.notified("mash_feedback_csc_accepted") == []
    case.at("2025-04-23T16:00:00+01:00")
    feedback(case, "csc_accepted")
    assert case.data["feedback_within_24h"] is True
    assert case.steps == ["U11"]
    db.session.rollback()
    rows = [n for n in db.session.query(Notification).filter_by(instance_id=case.id, recipient="cog_mgr")
            .order_by(Notification.id) if n.template.startswith("mash_feedback_csc")]
    sent = [(n.template, n.subject) for n in rows]
    assert sent == [("mash_feedback_csc_rejected", "MASH feedback: CSC Rejected — case EHM-2001"),
                    ("mash_feedback_csc_accepted", "MASH feedback: CSC Accepted — case EHM-2001")]
    assert "Case note type: CSC Accepted" in rows[-1].body
