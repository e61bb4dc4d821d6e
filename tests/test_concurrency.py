"""Two people submit the same task at the same moment: exactly one wins, the other gets a 409."""
from __future__ import annotations

import threading
from pathlib import Path

from engine.definitions import deploy_file
from engine.models import Event, HumanTask, db

MINI = Path(__file__).parent / "fixtures" / "mini.bpmn"
TRIALS = 200


def race(app, token: str, task_id: str) -> list[int]:
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def submit() -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post(f"/api/v1/tasks/{task_id}/complete",
                               json={"data": {"answer": "yes", "answered_on": "2024-12-01", "note": "n"}},
                               headers={"Authorization": f"Bearer {token}"})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(statuses)


def test_exactly_one_of_two_simultaneous_completions_wins(app, api, people):
    deploy_file(MINI, "ana")
    db.session.commit()
    outcomes = []
    for trial in range(TRIALS):
        started = api.post("/instances", "sw", {"process": "mini", "case_ref": f"R-{trial}",
                                                "data": {"allocated_sw": "sw"}}, expect=201)
        task_id = started["current_steps"][0]["task_id"]
        outcomes.append(race(app, people["sw"].token, task_id))
        db.session.rollback()  # a new snapshot: see what the racing requests committed
        row = db.session.get(HumanTask, task_id)
        assert row.state == "completed" and row.completed_by == "sw"
        completions = db.session.query(Event).filter_by(task_id=task_id, type="task_completed").count()
        assert completions == 1
    assert outcomes == [[200, 409]] * TRIALS
