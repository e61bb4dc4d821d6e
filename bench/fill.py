"""Filling the database: template cases driven through the API, then bulk copies of them up to a size."""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from flask import Flask

from bench.app import instance_count
from bench.cases import check_consistent, open_steps, open_task, status_of
from bench.client import Api
from bench.clone import Pattern, insert_copies
from bench.errors import BenchError
from bench.templates import Template

BATCH = 500


@dataclass
class Population:
    """The templates, spread evenly over the copies, and the copies not yet completed by the bench."""

    templates: list[Template]
    patterns: list[Pattern] = field(init=False)
    fresh: list[deque[int]] = field(init=False)
    copies: int = 0

    def __post_init__(self) -> None:
        self.patterns = [Pattern(t.rows, t.case_ref) for t in self.templates]
        self.fresh = [deque() for _ in self.templates]

    def take(self, index: int) -> int:
        if not self.fresh[index]:
            raise BenchError(f"no fresh copy left at {self.templates[index].name}; use a larger size")
        return self.fresh[index].popleft()


def grow(app: Flask, population: Population, size: int, progress: bool = True) -> float:
    """Add copies until the database holds `size` instances; returns the seconds it took."""
    started = time.perf_counter()
    missing = size - instance_count(app)
    with app.app_context():
        while missing > 0:
            batch = [population.copies + n for n in range(min(BATCH, missing))]
            picks = [n % len(population.templates) for n in batch]
            copies = [population.patterns[pick].render(f"BENCH-C{n:07d}") for pick, n in zip(picks, batch)]
            for pick, instance_id in zip(picks, insert_copies(copies), strict=True):
                population.fresh[pick].append(instance_id)
            population.copies += len(batch)
            missing -= len(batch)
            if progress and population.copies % 20_000 < BATCH and population.copies > BATCH:
                print(f"  … {population.copies:,} copies", flush=True)
    return time.perf_counter() - started


def verify(app: Flask, api: Api, population: Population) -> int:
    """Complete one fresh copy of every template through the API and check it moved where the template did."""
    for index, template in enumerate(population.templates):
        instance_id = population.take(index)
        check_consistent(app, instance_id)
        api.complete(open_task(app, instance_id, template.act.step), template.act.who, template.today_data)
        reached = open_steps(app, instance_id), status_of(app, instance_id)
        if reached != (template.after, template.status_after):
            raise BenchError(f"a copy of {template.name} reached {reached}, "
                             f"its template {(template.after, template.status_after)}")
        check_consistent(app, instance_id)
    return len(population.templates)
