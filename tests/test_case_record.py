"""The case record tells the truth: every value a step sets is in the case data the moment that step is saved,
deadlines hold whatever the order of events, and every instant the API gives is in one style."""
from __future__ import annotations

import copy
from datetime import date

import pytest
import time_machine

from engine import reports, settings
from engine.models import Event, Instance, db
from tests import test_single_assessment as sa
from tests import test_stepdown_locality as loc
from tests import test_stepdown_response as resp
from tests import test_stepup_cog as cog
from tests.walk import Case


def locality(api, clock) -> Case:
    return Case(api, clock, "stepdown_locality", "MOS-7001", copy.deepcopy(loc.START))


def response(api, clock) -> Case:
    return Case(api, clock, "stepdown_response", "ICS-7001", copy.deepcopy(resp.START))


def step(case: Case, bpmn_id: str) -> dict:
    return next(s for s in case.detail["current_steps"] if s["bpmn_id"] == bpmn_id)


def task(case: Case, bpmn_id: str, who: str) -> dict:
    return case.api.get(f"/tasks/{case.api.task_at(case.id, bpmn_id)['task_id']}", who)


# ---- a deadline already passed when its task opens ----------------------------------------------------------

def test_a_green_tick_recorded_late_leaves_the_allocation_overdue_from_its_breach(api):
    """CIN review and green tick on 10 April, recorded on 20 May: the 20 working days ran out at 00:00 on
    14 May (BST), before L16 opened. L16 is due then, overdue, breached and counted as missed."""
    with time_machine.travel(loc.MONDAY, tick=False) as clock:
        case = locality(api, clock)
        loc.to_attendance(case)
        case.complete("L10", "fp_tm", {"attendance_decision": "attend", "attending_pm": "fp_pm"})
        case.at("2025-05-20T09:00:00+01:00")
        case.complete("L12", "fp_pm", loc.cin_review())
        case.complete("L13", "fp_pm", {"green_tick_date": "2025-04-10"})
        allocation = step(case, "L16")
        assert allocation["due_at"] == "2025-05-14T00:00:00+01:00" and allocation["overdue"] is True
        assert [t["bpmn_id"] for t in api.tasks("fp_tm", overdue=1)] == ["L16"]
        assert case.data["allocation_breached"] is True
        assert case.detail["flags"]["T1"] == [{"timer": "T-L16", "due": "2025-05-13",
                                               "breach_at": "2025-05-14T00:00:00+01:00",
                                               "recorded_at": "2025-05-20T09:00:00+01:00", "task": "L16"}]
        breach = case.history("deadline_breached")[0].detail
        assert (breach["due"], breach["breach_at"]) == ("2025-05-13", "2025-05-14T00:00:00+01:00")
        fired = case.history("timer_fired")[-1].detail
        assert fired["armed_after_due"] is True and fired["lateness_seconds"] == 0.0
        assert case.notified("allocation_breached") == ["fp_tm", "sw_tm"]
        period = reports.Period(date(2025, 5, 1), date(2025, 5, 31))
        t1 = next(c for c in reports.compliance("stepdown_locality", period) if c.measure.timescale == "T1")
        assert (t1.met, t1.missed, t1.pending) == (0, 1, 0)
        assert reports.timer_lateness(period, "stepdown_locality").count == 1
        case.at("2025-05-21T10:00:00+01:00")
        assert step(case, "L16")["due_at"] == "2025-05-14T00:00:00+01:00"  # a later save keeps it


# ---- what a boundary branch or a finished parallel branch sets ---------------------------------------------

def test_a_breach_flag_is_in_the_case_data_at_once(api):
    with time_machine.travel(loc.MONDAY, tick=False) as clock:
        case = locality(api, clock)
        loc.to_allocation(case)
        assert case.data.get("allocation_breached") is not True
        case.at("2025-05-14T00:00:01+01:00")
        assert case.data["allocation_breached"] is True
        case.at("2025-05-15T10:00:00+01:00")
        case.complete("L16", "fp_tm", {"allocated_fsw": "fsw", "allocation_date": "2025-05-15",
                                       "allocation_late_reason": "Two workers on sick leave."})
        assert case.data["allocation_breached"] is True  # a later step's stale copy does not undo it


def test_the_mash_feedback_breach_flag_is_true_before_the_feedback(api):
    with time_machine.travel("2025-03-27T09:00:00+00:00", tick=False) as clock:
        case = cog.start(api, clock, case_ref="EHM-7001")
        cog.raise_concern(case)
        cog.escalate(case, "2025-03-27")
        case.at("2025-03-28T14:00:00+00:00")
        cog.send_contact(case)
        assert case.data["mash_feedback_breached"] is False
        case.at("2025-03-31T14:00:01+01:00")
        assert case.data["mash_feedback_breached"] is True and "U08" in case.steps


def test_the_meeting_reminder_and_the_grace_are_both_kept(api):
    with time_machine.travel(resp.MONDAY, tick=False) as clock:
        case = response(api, clock)
        resp.formal_request(case, consultation="2025-04-02", meeting_at="2025-04-14T14:00:00+01:00")
        case.at("2025-04-02T10:00:01+01:00")
        case.complete("R08", "ps_mgr", resp.consultation())
        case.complete("R10", "ps_mgr", resp.EHFW_ASSIGNED)
        case.at("2025-04-17T00:00:01+01:00")
        assert case.data["meeting_window_breached"] is True
        assert step(case, "R11")["due_at"] == "2025-04-17T00:00:00+01:00"
        case.at("2025-04-23T00:00:01+01:00")
        assert [(f["timer"], f["due"]) for f in case.detail["flags"]["T6"]] == [
            ("T-R11", "2025-04-16"), ("T-R11g", "2025-04-22")]


def test_a_finished_parallel_branch_is_visible_before_the_join(api):
    with time_machine.travel("2025-04-01T09:00:00+01:00", tick=False) as clock:
        case = response(api, clock)
        resp.formal_request(case, consultation="2025-04-02", meeting_at="2025-04-15T14:00:00+01:00")
        case.at("2025-04-02T10:00:01+01:00")
        case.complete("R08", "ps_mgr", resp.consultation())
        case.complete("R10", "ps_mgr", resp.EHFW_ASSIGNED)
        case.at("2025-04-15T16:00:00+01:00")
        case.complete("R11", "sw", resp.held("2025-04-15"))
        case.complete("R14", "sw", {})
        case.at("2025-04-17T16:00:00+01:00")
        case.complete("R15", "sd_tray", resp.TRAY_OK)
        case.at("2025-04-23T16:00:01+01:00")
        assert case.data["contact_breached"] is True
        case.at("2025-04-23T16:45:00+01:00")
        case.complete("R18", "ehfw", {"contact_outcome": "contact_made", "contact_at": "2025-04-23T16:30:00+01:00"})
        assert "R24" in case.steps
        assert case.data["contact_within_48h"] is False


# ---- prefill and values derived from today -------------------------------------------------------------------

def test_a_loop_back_offers_the_next_consultation_not_last_weeks(api):
    with time_machine.travel(resp.MONDAY, tick=False) as clock:
        case = response(api, clock)
        resp.propose(case)
        resp.prepare(case, "2025-03-26", document=None)
        case.at("2025-03-26T10:00:01+00:00")
        case.complete("R08", "ps_mgr", resp.consultation("more_information_needed", agreed_timeframe=None,
                                                           information_requested="School reports."))
        case.at("2025-03-31T09:00:00+01:00")
        case.complete("R09", "sw", {"information_gathered": "School and health visitor reports."})
        assert case.steps == ["R02"]
        assert task(case, "R02", "sw")["prefill"]["consultation_date"] == "2025-04-02"


def to_case_note(case: Case) -> None:
    sa.decide(case)
    sa.propose(case)
    sa.call_cog(case, visit_at=None)


def test_the_earliest_visit_date_is_todays_when_shown_and_when_submitted(api):
    """Shown on Thu 10 April (earliest Mon 28 April: Good Friday and Easter Monday), submitted on Fri 11:
    the earliest is then Tue 29 April, and the message names it."""
    with time_machine.travel(sa.MONDAY, tick=False) as clock:
        case = sa.start(api, clock, case_ref="LCS-7001")
        to_case_note(case)
        assert task(case, "A04", "sw")["shown"]["earliest_joint_visit_date"] == "2025-04-28"
        case.at(sa.noon("2025-04-11"))
        assert task(case, "A04", "sw")["shown"]["earliest_joint_visit_date"] == "2025-04-29"
        errors = case.errors("A04", "sw", {"sa_step_down_details": "Stepping down.",
                                            "joint_visit_at": "2025-04-28T10:00:00+01:00"})
        message = ("The COG team needs 10 working days' notice: the visit must be on or after Tuesday 29 April 2025,"
                   " or give the reason for the short notice.")
        assert errors == {"joint_visit_at": message, "short_notice_reason": message}
        case.complete("A04", "sw", {"sa_step_down_details": "Stepping down.",
                                    "joint_visit_at": "2025-04-29T10:00:00+01:00"})
        assert case.data["joint_visit_notice_adequate"] is True


# ---- settings the diagrams obey --------------------------------------------------------------------------------

def test_the_grace_period_and_the_window_come_from_the_settings(api):
    settings.configure({"meeting_recording_grace_wd": 3, "timescales": {"T6": {"min_n": 5}}})
    with time_machine.travel(resp.MONDAY, tick=False) as clock:
        case = response(api, clock)
        resp.propose(case)
        resp.prepare(case, "2025-04-02")
        done = resp.book(case, "2025-04-08T10:00:00+01:00")  # day 6: in a window that opens on day 5
        assert done["overrides"] == []
        case.complete("R06", "sw", {"step_down_form": resp.FORM, "consent": resp.CONSENT})
        case.at("2025-04-02T10:00:01+01:00")
        case.complete("R08", "ps_mgr", resp.consultation())
        case.complete("R10", "ps_mgr", resp.EHFW_ASSIGNED)
        timers = {t["bpmn_id"]: t["due_at"] for t in case.detail["waiting_timers"]}
        assert timers["T-R11g"] == "2025-04-24T00:00:00+01:00"  # 3 working days after Wed 16: Thu 17, Tue 22, Wed 23


def test_the_allocation_deadline_comes_from_the_settings(api):
    settings.configure({"timescales": {"T1": {"n": 10}}})
    with time_machine.travel(loc.MONDAY, tick=False) as clock:
        case = locality(api, clock)
        loc.to_allocation(case)
        assert step(case, "L16")["due_at"] == "2025-04-29T00:00:00+01:00"  # 10 working days from Thu 10 April


# ---- rounds, shown values, one time format -------------------------------------------------------------------

def test_every_clarification_round_is_kept_and_shown(api):
    with time_machine.travel(loc.MONDAY, tick=False) as clock:
        case = locality(api, clock)
        loc.to_review(case)
        for round_ in (1, 2):
            case.complete("L06", "fp_pm", {"request_review_result": "clarification_needed",
                                           "clarification_questions": f"Question {round_}"})
            assert task(case, "L07", "sw")["shown"]["clarification_questions"] == f"Question {round_}"
            case.complete("L07", "sw", {"clarification_response": f"Answer {round_}"})
        rounds = [(r["round"], r["questions"], r["response"]) for r in case.data["clarification_rounds"]]
        assert rounds == [(1, "Question 1", "Answer 1"), (2, "Question 2", "Answer 2")]
        shown = task(case, "L06", "fp_pm")["shown"]["clarification_rounds"]
        assert [r["response"] for r in shown] == ["Answer 1", "Answer 2"]


def test_every_instant_the_api_gives_is_europe_london_with_its_offset(api):
    with time_machine.travel(loc.MONDAY, tick=False) as clock:
        case = locality(api, clock)
        loc.to_allocation(case)
        detail = case.detail
        assert detail["created_at"] == "2025-03-03T09:00:00+00:00"
        assert detail["waiting_timers"][0]["due_at"] == "2025-05-14T00:00:00+01:00"
        assert detail["history"][-1]["at"].endswith("+01:00")  # 10 April, BST
        assert step(case, "L16")["waiting_since"] == "2025-04-10T15:00:00+01:00"


# ---- change reports ---------------------------------------------------------------------------------------------

def test_a_change_report_with_an_unknown_key_is_refused_and_changes_nothing(api):
    with time_machine.travel(loc.MONDAY, tick=False) as clock:
        case = locality(api, clock)
        loc.to_review(case)
        before = db.session.get(Instance, case.id).revision
        body = {"event": "new_safeguarding_concern", "payload": {"details": "Police call-out.", "severity": "high"}}
        refused = api.post(f"/instances/{case.id}/events", "sw", body, expect=400)
        assert refused["fields"] == {"severity": "is not a field of this change report"}
        db.session.rollback()
        assert db.session.get(Instance, case.id).revision == before and case.steps == ["L06"]


def test_a_change_report_on_a_finished_case_is_a_conflict_whatever_its_payload(api):
    with time_machine.travel(loc.MONDAY, tick=False) as clock:
        case = locality(api, clock)
        loc.to_review(case)
        case.event("consent_withdrawn", **resp.WITHDRAWAL)
        case.complete("L40", "sw", {"fp_informed_date": "2025-03-03"})
        case.complete("L41", "sw_tm", {"change_decision": "close_to_social_care", "change_rationale": "Decided."})
        assert case.detail["status"] == "completed"
        conflict = api.post(f"/instances/{case.id}/events", "sw", {"event": "consent_withdrawn", "payload": {}},
                            expect=409)
        assert "completed" in conflict["error"]
        assert db.session.query(Event).filter_by(instance_id=case.id, type="event_raised").count() == 1


@pytest.fixture(autouse=True)
def _settings_back():
    yield
    settings.reset_settings()
