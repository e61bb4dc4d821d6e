"""`stepwise demo --cases`: a newcomer's first look has cases in every process, some overdue, all written by
the engine itself (worklist rows, history, breaches), and a second run adds none."""
from __future__ import annotations

from sqlalchemy import func, select

from engine.models import Event, HumanTask, Instance, db, utcnow


def test_demo_cases_spread_over_the_four_processes_some_overdue(app, deployed):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "--cases"])
    assert result.exit_code == 0, result.output
    assert "Demo cases: 17 started" in result.output
    db.session.rollback()
    per_process = dict(db.session.execute(select(Instance.process_id, func.count()).group_by(Instance.process_id)).all())
    assert per_process == {"stepdown_locality": 8, "stepdown_response": 3, "stepup_cog": 3, "single_assessment": 3}
    waiting = {bpmn_id for (bpmn_id,) in db.session.execute(
        select(HumanTask.bpmn_id).where(HumanTask.process_id == "stepdown_locality", HumanTask.state == "open"))}
    assert {"L01", "L03", "L06", "L16", "L19"} <= waiting
    overdue = db.session.execute(select(HumanTask.case_ref).where(
        HumanTask.state == "open", HumanTask.due_at < utcnow())).scalars().all()
    assert sorted(overdue) == ["DEMO-MOS-107", "DEMO-MOS-108"]
    breaches = db.session.execute(select(Event).where(Event.type == "deadline_breached")).scalars().all()
    assert len(breaches) == 2  # the engine's own timer sweep recorded them
    assert db.session.execute(select(func.count()).select_from(HumanTask).where(
        HumanTask.state == "open", HumanTask.process_id != "stepdown_locality")).scalar_one() >= 9
    again = runner.invoke(args=["demo", "--cases"])
    assert "Demo cases: already there" in again.output
    assert db.session.execute(select(func.count()).select_from(Instance)).scalar_one() == 17
