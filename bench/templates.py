"""Template cases: the scripted walks driven through the real API, snapshotted at every step they wait at."""
from __future__ import annotations

import copy
from dataclasses import dataclass

import time_machine
from flask import Flask

from bench.cases import open_steps, open_task, rows_of, status_of
from bench.client import Api
from bench.walks import PROCESS, START, Act, Walk


@dataclass(frozen=True)
class Template:
    """A case waiting at `waiting`, with the act that moves it on and where that act takes it."""

    walk: str
    case_ref: str
    waiting: tuple[str, ...]
    act: Act
    after: tuple[str, ...]
    status_after: str
    rows: dict[str, list[dict]]

    @property
    def name(self) -> str:
        return f"{'+'.join(self.waiting)}: {self.act.step}"

    @property
    def today_data(self) -> dict:
        return self.act.today_data or self.act.data


def drive(app: Flask, api: Api, walk: Walk, case_ref: str) -> list[Template]:
    """Walk one case with the clock at each act's day; returns a template for each snapshotted act."""
    templates = []
    with time_machine.travel(walk.start_clock, tick=False) as clock:
        instance_id = api.start("sw", case_ref, copy.deepcopy(START), PROCESS)
        for act in walk.acts:
            if act.clock is not None:
                clock.move_to(act.clock)
            before = (open_steps(app, instance_id), rows_of(app, instance_id)) if act.snapshot else None
            perform(app, api, instance_id, act)
            if before is not None:
                templates.append(Template(walk.name, case_ref, before[0], act, open_steps(app, instance_id),
                                          status_of(app, instance_id), before[1]))
    return templates


def perform(app: Flask, api: Api, instance_id: int, act: Act) -> None:
    if act.event:
        api.event(instance_id, act.step, act.who, act.data)
    else:
        api.complete(open_task(app, instance_id, act.step), act.who, act.data)


def build(app: Flask, api: Api, walks: list[Walk]) -> list[Template]:
    templates: list[Template] = []
    for number, walk in enumerate(walks, start=1):
        templates += drive(app, api, walk, f"BENCH-T{number:03d}")
    return templates
