"""The timer sweep: it touches only due instances, fires each timer once, and the worker fires on time."""
from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import time_machine

from engine import store
from engine.definitions import deploy_file
from engine.models import Event, Instance, Notification, db
from engine.timers import TimerWorker, run_due

MINI = Path(__file__).parent / "fixtures" / "mini.bpmn"
FRIDAY = datetime(2024, 12, 20, 10, tzinfo=UTC)
DUE = datetime(2025, 1, 23, 0, 0, tzinfo=UTC)  # 00:00 London after Wed 22 Jan, the 20th working day


def start(api, ref: str) -> int:
    return api.post("/instances", "sw", {"process": "mini", "case_ref": ref, "data": {"allocated_sw": "sw"}},
                    expect=201)["id"]


def test_deadline_is_computed_across_christmas_and_new_year(api):
    deploy_file(MINI, "ana")
    db.session.commit()
    with time_machine.travel(FRIDAY, tick=False):
        instance_id = start(api, "C-1")
    detail = api.instance(instance_id)
    assert detail["waiting_timers"][0]["due_at"] == DUE.isoformat()
    assert detail["current_steps"][0]["due_at"] == DUE.isoformat()
    assert db.session.get(Instance, instance_id).next_timer_at == DUE


def test_sweep_fires_only_what_is_due_and_only_once(api, people):
    deploy_file(MINI, "ana")
    db.session.commit()
    with time_machine.travel(FRIDAY, tick=False):
        ids = [start(api, f"C-{n}") for n in range(3)]
    with time_machine.travel(DUE, tick=False):
        assert run_due() == 0  # the engine fires strictly after the instant; on time is not late
        assert api.tasks("sw", overdue=1) == []
    with time_machine.travel(DUE + timedelta(seconds=1), tick=False):
        revisions = {i: db.session.get(Instance, i).revision for i in ids}
        assert run_due() == 3
        assert run_due() == 0
        db.session.rollback()
        assert all(db.session.get(Instance, i).revision == revisions[i] + 1 for i in ids)
        overdue = api.tasks("sw", overdue=1)
    assert len(overdue) == 3 and all(t["overdue"] for t in overdue)
    for instance_id in ids:
        breaches = db.session.query(Event).filter_by(instance_id=instance_id, type="deadline_breached").all()
        assert [(b.detail["timescale"], b.detail["task"]) for b in breaches] == [("T1", "A")]
        assert db.session.get(Instance, instance_id).flags["T1"] == [{
            "timer": "T-A", "due": "2025-01-22", "breach_at": "2025-01-23T00:00:00+00:00",
            "recorded_at": "2025-01-23T00:00:01+00:00", "task": "A"}]
    assert db.session.query(Notification).filter_by(recipient="sw_tm").count() == 3


def test_idle_sweep_reads_nothing_it_does_not_need(api):
    deploy_file(MINI, "ana")
    db.session.commit()
    with time_machine.travel(FRIDAY, tick=False):
        instance_id = start(api, "C-1")
        before = db.session.get(Instance, instance_id).revision
        assert run_due() == 0
        db.session.rollback()
        assert db.session.get(Instance, instance_id).revision == before


def test_a_users_action_sees_a_breach_that_is_due(api):
    """Nobody swept, but the breach fires before the user's completion is applied."""
    deploy_file(MINI, "ana")
    db.session.commit()
    with time_machine.travel(FRIDAY, tick=False):
        instance_id = start(api, "C-1")
    with time_machine.travel(DUE + timedelta(hours=9), tick=False):
        api.complete(instance_id, "A", "sw", {"answer": "yes", "answered_on": "2025-01-23", "note": "n"})
    types = [h["type"] for h in api.instance(instance_id)["history"]]
    assert types.index("deadline_breached") < types.index("task_completed")


def test_cli_run_once_fires_due_timers(app, api):
    deploy_file(MINI, "ana")
    db.session.commit()
    with time_machine.travel(FRIDAY, tick=False):
        instance_id = start(api, "C-1")
    with time_machine.travel(DUE + timedelta(minutes=1), tick=False):
        result = app.test_cli_runner().invoke(args=["timers", "run-once"])
    assert "advanced 1 instance" in result.output
    db.session.rollback()
    assert db.session.get(Instance, instance_id).flags["T1"]


def test_worker_thread_fires_a_timer_within_a_second(app, api):
    deploy_file(MINI, "ana")
    db.session.commit()
    instance_id = start(api, "C-1")
    instance = db.session.get(Instance, instance_id)
    soon = datetime.now(UTC) + timedelta(seconds=1)
    move_timer(instance, soon)
    worker = TimerWorker(app, max_wait=0.2)
    worker.start_thread()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not fired(instance_id):
            time.sleep(0.05)
    finally:
        worker.stop()
    event = fired(instance_id)
    assert event is not None
    assert 0 <= event.detail["lateness_seconds"] <= 1.0


def fired(instance_id: int) -> Event | None:
    db.session.rollback()
    return db.session.query(Event).filter_by(instance_id=instance_id, type="timer_fired").one_or_none()


def move_timer(instance: Instance, when: datetime) -> None:
    """Bring the waiting deadline forward, as a changed deadline would, through the engine's own save."""
    loaded = store.load(instance, None)
    for task in loaded.workflow.get_tasks():
        if task.task_spec.bpmn_id == "T-A" and "event_value" in task.internal_data:
            task.internal_data["event_value"] = when.isoformat()
    store.save(loaded)


def test_two_workers_sweeping_at_once_fire_each_timer_once(app, api):
    deploy_file(MINI, "ana")
    db.session.commit()
    with time_machine.travel(FRIDAY, tick=False):
        ids = [start(api, f"C-{n}") for n in range(12)]
    with time_machine.travel(DUE + timedelta(seconds=5), tick=False):
        sweeps = [threading.Thread(target=sweep_in_own_context, args=(app,)) for _ in range(2)]
        for sweep in sweeps:
            sweep.start()
        for sweep in sweeps:
            sweep.join()
    db.session.rollback()
    for instance_id in ids:
        assert db.session.query(Event).filter_by(instance_id=instance_id, type="timer_fired").count() == 1
        assert db.session.query(Event).filter_by(instance_id=instance_id, type="deadline_breached").count() == 1
    assert db.session.query(Notification).filter_by(recipient="sw_tm").count() == len(ids)


def sweep_in_own_context(app) -> None:
    with app.app_context():
        run_due()
        db.session.remove()
