"""Walking one case through its process by the JSON API, as the workers of each lane would."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import time_machine

from engine.models import Event, Notification, db
from engine.timers import run_due


class Case:
    def __init__(self, api, clock: time_machine.Coordinates, process: str, case_ref: str, data: dict,
                 who: str = "sw") -> None:
        self.api, self.clock = api, clock
        started = api.post("/instances", who, {"process": process, "case_ref": case_ref, "data": data}, expect=201)
        self.id = started["id"]

    def at(self, when: str) -> Case:
        """Move the clock (an ISO instant with its offset) and let the timer sweep run, as the worker would."""
        self.clock.move_to(datetime.fromisoformat(when))
        run_due()
        db.session.rollback()
        return self

    def complete(self, bpmn_id: str, who: str, data: dict, expect: int = 200) -> dict:
        return self.api.complete(self.id, bpmn_id, who, data, expect=expect)

    def errors(self, bpmn_id: str, who: str, data: dict) -> dict:
        return self.complete(bpmn_id, who, data, expect=400)["fields"]

    def event(self, name: str, who: str = "sw", expect: int = 200, **payload: Any) -> dict:
        body = {"event": name, "payload": {"details": "Reported by the school.", **payload}}
        return self.api.post(f"/instances/{self.id}/events", who, body, expect=expect)

    @property
    def detail(self) -> dict:
        return self.api.instance(self.id)

    @property
    def steps(self) -> list[str]:
        return self.api.open_steps(self.id)

    @property
    def data(self) -> dict:
        return self.detail["data"]

    @property
    def outcome(self) -> str | None:
        detail = self.detail
        assert detail["status"] == "completed", f"still running at {self.steps}"
        return detail["outcome"]

    def notified(self, template: str) -> list[str]:
        db.session.rollback()
        rows = db.session.query(Notification).filter_by(instance_id=self.id, template=template)
        return sorted(n.recipient for n in rows)

    def history(self, type_: str) -> list[Event]:
        db.session.rollback()
        return db.session.query(Event).filter_by(instance_id=self.id, type=type_).order_by(Event.id).all()
