"""Moving running cases to a new version: a dry run per case, then the safe ones moved, each in its own
transaction, recorded in the case history; a case waiting at a removed step is refused with the reason."""
from __future__ import annotations

import copy

import pytest

from engine import migration
from engine.definitions import deploy, latest_definition
from engine.errors import Conflict, Invalid
from engine.models import Event, HumanTask, Instance, db
from tests.test_stepdown_locality import START, clock, to_allocation, to_review  # noqa: F401
from tests.versions import RENAMED_L16, stepdown_locality_v2
from tests.walk import Case


@pytest.fixture
def cases(api, clock):  # noqa: F811
    clarifying = Case(api, clock, "stepdown_locality", "MOS-2002", copy.deepcopy(START))
    to_review(clarifying)
    clarifying.complete("L06", "fp_pm", {"request_review_result": "clarification_needed",
                                         "clarification_questions": "Which school?"})
    reviewing = Case(api, clock, "stepdown_locality", "MOS-2003", copy.deepcopy(START))
    to_review(reviewing)
    allocating = Case(api, clock, "stepdown_locality", "MOS-2001", copy.deepcopy(START))
    to_allocation(allocating)  # moves the clock on, so it comes last
    return {"allocating": allocating, "clarifying": clarifying, "reviewing": reviewing}


@pytest.fixture
def v2(cases):
    definition, created = deploy(stepdown_locality_v2(), dict(latest_definition("stepdown_locality").forms),
                                 "analyst")
    db.session.commit()
    assert created and definition.version == 2
    return definition


def plans_by_case(version: int = 2) -> dict[str, migration.MovePlan]:
    return {plan.case_ref: plan for plan in migration.dry_run_all("stepdown_locality", version)}


def test_dry_run_says_which_cases_can_move_and_why_not(cases, v2):
    plans = plans_by_case()
    assert set(plans) == {"MOS-2001", "MOS-2002", "MOS-2003"}
    refused = plans["MOS-2002"]
    assert not refused.can_move
    assert refused.reasons == [("it is waiting at L07 'Answer the clarification questions', "
                                "which version 2 does not have")]
    allocating = plans["MOS-2001"]
    assert allocating.can_move and allocating.from_version == 1 and allocating.to_version == 2
    assert "L16 'Allocate a Family Support Worker'" in allocating.reset
    assert allocating.changed == [f"L16 'Allocate a Family Support Worker': renamed '{RENAMED_L16}'"]
    timer = next(d for d in allocating.due if d.bpmn_id == "T-L16")
    assert timer.before is not None and timer.after == timer.before
    assert plans["MOS-2003"].can_move and "L06 'Review the step down request'" in plans["MOS-2003"].waiting
    db.session.rollback()
    assert v2.id not in {i.definition_id for i in db.session.query(Instance)}  # a dry run writes nothing


def test_the_safe_cases_move_and_the_worker_sees_the_renamed_step(api, cases, v2):
    before = api.task_at(cases["allocating"].id, "L16", "fp_tm")
    moved = migration.move_all("stepdown_locality", 2, "analyst")
    assert sorted(plan.case_ref for plan in moved) == ["MOS-2001", "MOS-2003"]
    db.session.rollback()
    versions = {i.case_ref: i.definition_id for i in db.session.query(Instance)}
    assert versions["MOS-2001"] == versions["MOS-2003"] == v2.id != versions["MOS-2002"]
    after = api.task_at(cases["allocating"].id, "L16", "fp_tm")
    assert after["name"] == RENAMED_L16 and after["due_at"] == before["due_at"]
    assert after["task_id"] == before["task_id"]
    detail = api.instance(cases["allocating"].id)
    assert detail["version"] == 2
    moved_event = [h for h in detail["history"] if h["type"] == "case_moved"]
    assert moved_event[0]["actor"] == "analyst"
    assert moved_event[0]["detail"]["from_version"] == 1 and moved_event[0]["detail"]["to_version"] == 2
    assert [t["name"] for t in detail["waiting_timers"]] == ["20 working days passed"]
    # the moved case runs on: the allocation is completed on version 2
    cases["allocating"].complete("L16", "fp_tm", {"allocated_fsw": "fsw", "allocation_date": "2025-04-10"})
    assert "L21" in cases["allocating"].steps


def test_a_case_at_a_removed_step_is_refused_with_the_reason(cases, v2):
    with pytest.raises(Invalid) as refused:
        migration.move_case(cases["clarifying"].id, 2, "analyst")
    assert "waiting at L07 'Answer the clarification questions'" in refused.value.message
    db.session.rollback()
    instance = db.session.get(Instance, cases["clarifying"].id)
    assert instance.definition_id != v2.id
    assert db.session.query(Event).filter_by(instance_id=instance.id, type="case_moved").count() == 0


def test_a_completion_after_the_dry_run_is_a_conflict_and_nothing_moves(api, cases, v2):
    plan = plans_by_case()["MOS-2003"]
    cases["reviewing"].complete("L06", "fp_pm", {"request_review_result": "proceed_to_cin_review"})
    with pytest.raises(Conflict):
        migration.move_case(plan.instance_id, 2, "analyst", expected_revision=plan.revision)
    db.session.rollback()
    instance = db.session.get(Instance, plan.instance_id)
    assert instance.definition_id != v2.id
    open_rows = db.session.query(HumanTask).filter_by(instance_id=instance.id, state="open").all()
    assert [row.bpmn_id for row in open_rows] == ["L10"]


# ---- the page and the command ------------------------------------------------------------------------



def test_the_move_page_shows_the_dry_run_and_moves_the_chosen_case(signed_in, cases, v2):
    analyst = signed_in("analyst")
    page = analyst.get("/processes/stepdown_locality/move").get_data(as_text=True)
    assert "Move running cases to version 2" in page
    assert "waiting at L07 &#39;Answer the clarification questions&#39;, which version 2 does not have" in page
    plan = plans_by_case()["MOS-2003"]
    response = analyst.post("/processes/stepdown_locality/move",
                            data={"to": "2", "scope": "chosen", "case": f"{plan.instance_id}:{plan.revision}"})
    assert response.status_code == 302
    assert "1 case moved to version 2" in analyst.get(response.location).get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(Instance, plan.instance_id).definition_id == v2.id
    assert db.session.get(Instance, cases["allocating"].id).definition_id != v2.id


def test_the_move_page_refuses_nothing_chosen_and_a_stale_dry_run(signed_in, cases, v2):
    manager = signed_in("manager")
    empty = manager.post("/processes/stepdown_locality/move", data={"to": "2", "scope": "chosen"})
    assert empty.status_code == 400 and "Choose at least one case to move" in empty.get_data(as_text=True)
    plan = plans_by_case()["MOS-2003"]
    cases["reviewing"].complete("L06", "fp_pm", {"request_review_result": "proceed_to_cin_review"})
    stale = manager.post("/processes/stepdown_locality/move",
                         data={"to": "2", "scope": "chosen", "case": f"{plan.instance_id}:{plan.revision}"})
    assert stale.status_code == 409 and "changed since the dry run" in stale.get_data(as_text=True)
    bad = manager.post("/processes/stepdown_locality/move", data={"to": "two", "scope": "chosen"})
    assert bad.status_code == 400
    db.session.rollback()
    assert v2.id not in {i.definition_id for i in db.session.query(Instance)}


def test_workers_cannot_move_cases(signed_in, cases, v2):
    worker = signed_in("sw")
    assert worker.get("/processes/stepdown_locality/move").status_code == 403
    assert worker.post("/processes/stepdown_locality/move", data={"to": "2", "scope": "all"}).status_code == 403


def test_the_migrate_command_dry_runs_then_moves_one_case(app, cases, v2):
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["migrate", "stepdown_locality", "--to", "2", "--dry-run"])
    assert "MOS-2002 (v1 -> v2): cannot move: it is waiting at L07" in dry.output
    assert "MOS-2001 (v1 -> v2): can move" in dry.output and dry.exit_code == 1
    db.session.rollback()
    assert v2.id not in {i.definition_id for i in db.session.query(Instance)}
    one = runner.invoke(args=["migrate", "stepdown_locality", "--to", "2", "--case", "MOS-2001"])
    assert one.exit_code == 0 and "moved to version 2" in one.output
    db.session.rollback()
    assert {i.case_ref for i in db.session.query(Instance) if i.definition_id == v2.id} == {"MOS-2001"}
