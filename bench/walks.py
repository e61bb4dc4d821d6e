"""Scripted cases through stepdown_locality: the acts that take a case from step to step, with valid forms.

A walk is driven once per template through the API; every act it takes from a step is also the act that
completes a clone waiting at that step, so each act's form must be valid both then and today.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

PROCESS = "stepdown_locality"
START = {"hub": "north", "allocated_sw": "sw",
         "children": [{"name": "Sam Smith", "dob": "2015-06-01"}, {"name": "Kim Smith", "dob": "2019-02-11"}]}
CONSENT = {"given": True, "given_by_name": "Jo Smith", "given_by_relationship": "mother",
           "method": "in_person_written", "scope": "voluntary whole-family, multi-agency work with Families Plus"}
WITHDRAWAL = {"details": "Dad withdrew consent.", "withdrawn_by_name": "Jo Smith",
              "withdrawn_by_relationship": "mother", "method": "telephone"}
NOTICE_DAYS = 28  # more than the three weeks Families Plus ask for, so no short-notice override is needed


@dataclass(frozen=True)
class Act:
    """Complete a step (or raise an event) as a user; snapshot=False for the shared start of a branch."""

    step: str
    who: str
    data: dict
    event: bool = False
    snapshot: bool = True
    # A form that must differ when a clone is completed today (a CIN review date must be in the future).
    today_data: dict | None = None
    clock: datetime | None = None


@dataclass(frozen=True)
class Walk:
    name: str
    start_clock: datetime
    acts: list[Act] = field(default_factory=list)


def request(cin_date: date) -> dict:
    form = {"fp_team": "north_5_18", "piece_of_work": "Routines and school attendance",
            "piece_of_work_measure": "Attendance above 90% for 6 weeks", "piece_of_work_timescale": "12 weeks",
            "worry_statement": "Sam misses school when mum is unwell.", "wellbeing_goal": "Sam attends every day.",
            "safety_plan_evidence": "Safety plan held for 6 months.", "outstanding_cin_plan_work": False,
            "cin_review_date": cin_date.isoformat(), "cin_review_time": "10:30",
            "cin_review_venue": "Kingswood Civic Centre"}
    return {"step_down_request": form}


def cin_review(held: date, decision: str = "step_down_agreed") -> dict:
    form = {"cin_review_held_date": held.isoformat(), "fp_pm_attended": True,
            "appropriate_on_latest_information": True, "worry_statement_shared": True,
            "wellbeing_goal_shared": True, "child_views": "Sam wants help.",
            "consent": dict(CONSENT, date=held.isoformat()), "cin_review_decision": decision}
    if decision == "step_down_not_agreed":
        form["not_agreed_reason"] = "Risk is still present."
    return form


def at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def to_review(cin_date: date, today: date, snapshot: bool) -> list[Act]:
    return [
        Act("L01", "sw_tm", {"identification_route": "monthly_step_down_meeting",
                             "yps_involvement_to_consider": False}, snapshot=snapshot),
        Act("L03", "sw", request(cin_date), snapshot=snapshot,
            today_data=request(today + timedelta(days=NOTICE_DAYS))),
    ]


def through_review(cin_date: date, today: date, snapshot: bool) -> list[Act]:
    return [
        *to_review(cin_date, today, snapshot),
        Act("L06", "fp_pm", {"request_review_result": "proceed_to_cin_review"}, snapshot=snapshot),
        Act("L10", "fp_tm", {"attendance_decision": "attend", "attending_pm": "fp_pm"}, snapshot=snapshot),
    ]


def through_acceptance(cin_date: date, today: date, snapshot: bool) -> list[Act]:
    held = at(cin_date, 15)
    return [
        *through_review(cin_date, today, snapshot),
        Act("L12", "fp_pm", cin_review(cin_date), snapshot=snapshot, clock=held),
        Act("L13", "fp_pm", {"green_tick_date": cin_date.isoformat()}, snapshot=snapshot),
        Act("L16", "fp_tm", {"allocated_fsw": "fsw", "allocation_date": cin_date.isoformat()}, snapshot=snapshot),
    ]


def main_walk(cin_date: date, today: date) -> Walk:
    """The agreed, allocated step down; cin_date is also the day of the review, green tick and handover."""
    day = cin_date.isoformat()
    return Walk(f"main {day}", at(cin_date - timedelta(days=NOTICE_DAYS), 9), [
        *through_acceptance(cin_date, today, snapshot=True),
        Act("L19", "sw", {"records_prepared_date": day}),
        Act("L20", "sw_tm", {"file_qa_result": "meets_minimum_standards"}),
        Act("L21", "fsw", {"handover_outcome": "completed", "handover_visit_date": day,
                           "sw_attended": True, "fsw_attended": True}),
        Act("L22", "sw", {"cin_closure_date": day}),
    ])


def branch_walks(cin_date: date, today: date) -> list[Walk]:
    """The side steps: clarification, disagreement, not agreed, and a change after allocation."""
    start = at(cin_date - timedelta(days=NOTICE_DAYS), 9)
    review = at(cin_date, 15)
    return [
        Walk("clarification", start, [
            *to_review(cin_date, today, snapshot=False),
            Act("L06", "fp_pm", {"request_review_result": "clarification_needed",
                                 "clarification_questions": "Which school?"}),
            Act("L07", "sw", {"clarification_response": "Kingswood Primary."}),
        ]),
        Walk("disagreement", start, [
            *to_review(cin_date, today, snapshot=False),
            Act("L06", "fp_pm", {"request_review_result": "professional_disagreement",
                                 "disagreement_summary": "Level of need."}),
            Act("L08", "fp_tm", {"tm_resolution": "agreed_proceed", "tm_resolution_rationale": "Discussed."}),
        ]),
        Walk("not agreed", start, [
            *through_review(cin_date, today, snapshot=False),
            Act("L12", "fp_pm", cin_review(cin_date, "step_down_not_agreed"), clock=review),
            Act("L30", "sw_tm", {"not_agreed_next_step": "continue_cin_plan", "not_agreed_rationale": "CIN plan."}),
        ]),
        Walk("consent withdrawn", start, [
            *through_acceptance(cin_date, today, snapshot=False),
            Act("consent_withdrawn", "sw", WITHDRAWAL, event=True, snapshot=False),
            Act("L40", "sw", {"fp_informed_date": cin_date.isoformat()}),
            Act("L41", "sw_tm", {"change_decision": "continue_cin_plan", "change_rationale": "Decided."}),
        ]),
    ]


def walks(today: date, variants: int) -> list[Walk]:
    """Main walks a week apart, so the allocation timers of their clones fall on different days ahead."""
    days = [today - timedelta(days=1 + 7 * v) for v in range(variants)]
    return [*(main_walk(day, today) for day in days), *branch_walks(days[0], today)]
