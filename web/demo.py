"""Demo cases for a first look: a spread of cases over the four processes, some overdue, made by the engine's
own runtime functions (start, complete, the timer sweep) with the clock moved back, so every row is one the
engine wrote: worklist, history, deadlines and breaches."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from engine import runtime
from engine.access import Actor
from engine.models import HumanTask, Instance, db, utcnow
from engine.timers import run_due

LONDON = ZoneInfo("Europe/London")
PREFIX = "DEMO-"
LOCALITY = [("MOS-101", "north", "Sam Taylor", "2015-06-01"), ("MOS-102", "south", "Ruby Evans", "2017-01-23"),
            ("MOS-103", "north", "Leo Hughes", "2012-11-05"), ("MOS-104", "south", "Maya Patel", "2016-03-14"),
            ("MOS-105", "north", "Noah Price", "2014-08-30"), ("MOS-106", "south", "Isla Morgan", "2018-05-19"),
            ("MOS-107", "north", "Oscar Bell", "2013-02-07"), ("MOS-108", "south", "Freya Khan", "2011-12-12")]
OTHERS = {
    "stepdown_response": [("ICS-201", "Ash Jones", "2013-09-14"), ("ICS-202", "Ellie Ward", "2016-10-02"),
                          ("ICS-203", "Harvey Cole", "2012-04-21")],
    "stepup_cog": [("EHM-301", "Poppy Lewis", "2015-07-08"), ("EHM-302", "Jack Reid", "2010-01-29"),
                   ("EHM-303", "Amara Okafor", "2017-09-03")],
    "single_assessment": [("LCS-401", "Zoë O'Brien", "2014-05-16"), ("LCS-402", "Theo Grant", "2019-02-11"),
                          ("LCS-403", "Lily Shaw", "2013-06-25")],
}


def person(role: str) -> Actor:
    return Actor(f"demo_{role}", frozenset({role}))


def at(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, time(hour), LONDON)


def a_monday_weeks_ago(weeks: int) -> date:
    day = utcnow().astimezone(LONDON).date() - timedelta(weeks=weeks)
    return day - timedelta(days=day.weekday())


@contextmanager
def clock_at(when: datetime) -> Iterator:
    # time-machine comes with the test extras `make run` installs; the demo is for a first look, not production.
    import time_machine
    with time_machine.travel(when, tick=False) as traveller:
        yield traveller


def complete(instance: Instance, bpmn_id: str, role: str, data: dict) -> None:
    task_id = db.session.execute(select(HumanTask.id).where(
        HumanTask.instance_id == instance.id, HumanTask.bpmn_id == bpmn_id, HumanTask.state == "open")).scalar_one()
    runtime.complete(task_id, data, person(role))


def move(clock, when: datetime) -> None:
    """The clock moves on and the timer sweep runs, as the worker would."""
    clock.move_to(when)
    run_due()


def child(name: str, dob: str) -> list[dict]:
    return [{"name": name, "dob": dob}]


def request(cin: date) -> dict:
    return {"step_down_request": {
        "fp_team": "north_5_18", "piece_of_work": "Routines and school attendance",
        "piece_of_work_measure": "Attendance above 90% for 6 weeks", "piece_of_work_timescale": "12 weeks",
        "worry_statement": "The child misses school when their parent is unwell.",
        "wellbeing_goal": "The child attends school every day.", "safety_plan_evidence": "Safety plan held for 6 months.",
        "outstanding_cin_plan_work": False, "cin_review_date": cin.isoformat(), "cin_review_time": "10:30",
        "cin_review_venue": "Kingswood Civic Centre"}}


def cin_review(held: date) -> dict:
    consent = {"given": True, "given_by_name": "Jo Parent", "given_by_relationship": "mother",
               "method": "in_person_written", "date": held.isoformat(),
               "scope": "voluntary whole-family, multi-agency work with Families Plus"}
    return {"cin_review_held_date": held.isoformat(), "fp_pm_attended": True,
            "appropriate_on_latest_information": True, "worry_statement_shared": True, "wellbeing_goal_shared": True,
            "child_views": "Wants help with mornings.", "consent": consent, "cin_review_decision": "step_down_agreed"}


def locality(clock, n: int, ref: str, hub: str, name: str, dob: str, first: date) -> None:
    """Cases 0-2 wait at L01, 3-4 at L03, 5 at L06; 6-7 are green-ticked weeks ago and now wait at L19 and
    at L16, the FSW allocation overdue."""
    started = first + timedelta(weeks=(0 if n >= 6 else 4 + n // 2), days=n % 3)
    move(clock, at(started))
    instance = runtime.start_instance("stepdown_locality", PREFIX + ref,
                                      {"hub": hub, "allocated_sw": "demo_sw", "children": child(name, dob)},
                                      person("sw"))
    if n < 3:
        return
    complete(instance, "L01", "sw_tm", {"identification_route": "monthly_step_down_meeting"})
    if n < 5:
        return
    cin = started + timedelta(days=24)
    complete(instance, "L03", "sw", request(cin))
    if n < 6:
        return
    complete(instance, "L06", "fp_pm", {"request_review_result": "proceed_to_cin_review"})
    complete(instance, "L10", "fp_tm", {"attendance_decision": "attend", "attending_pm": "demo_fp_pm"})
    move(clock, at(cin, 15))
    complete(instance, "L12", "fp_pm", cin_review(cin))
    complete(instance, "L13", "fp_pm", {"green_tick_date": cin.isoformat()})


def start_others(clock, first: date) -> None:
    starts = {
        "stepdown_response": lambda name, dob: ("sw", {"allocated_sw": "demo_sw", "children": child(name, dob)}),
        "stepup_cog": lambda name, dob: ("keyworker", {"keyworker": "demo_keyworker",
                                                       "trigger_route": "keyworker_concern",
                                                       "children": child(name, dob)}),
        "single_assessment": lambda name, dob: ("sw", {"sa_ref": "SA-" + name.split()[0].upper(),
                                                       "allocated_sw": "demo_sw", "family_postcode": "BS15 1AA",
                                                       "children": child(name, dob)}),
    }
    for week, (process_id, cases) in enumerate(OTHERS.items()):
        for n, (ref, name, dob) in enumerate(cases):
            move(clock, at(first + timedelta(weeks=7 + week, days=n)))
            role, data = starts[process_id](name, dob)
            runtime.start_instance(process_id, PREFIX + ref, data, person(role))


def seeded() -> bool:
    return db.session.execute(select(Instance.id).where(Instance.case_ref.like(PREFIX + "%")).limit(1)).first() \
        is not None


def seed_cases() -> int:
    """Seed the demo cases once (a second run adds none); returns how many were started."""
    if seeded():
        return 0
    first = a_monday_weeks_ago(10)
    with clock_at(at(first)) as clock:
        # The oldest cases first, so the clock only moves forward.
        for n in (6, 7, 0, 1, 2, 3, 4, 5):
            locality(clock, n, *LOCALITY[n], first=first)
        start_others(clock, first)
    run_due()  # back at today: the deadlines that ran out meanwhile are recorded as breaches
    return len(LOCALITY) + sum(len(cases) for cases in OTHERS.values())
