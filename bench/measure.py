"""The figures: (a) completing a task by the API, (b) one role's worklist, (c) an idle timer sweep, at
every size, beside the raw SpiffWorkflow cycle over the same mix of steps.

Every size has its own database, and the sizes are sampled in turn, round after round: a busy moment on
the machine then falls on every size and on the baseline alike, instead of on whichever was measured last.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask

from bench.cases import open_task
from bench.client import Api
from bench.errors import BenchError
from bench.plans import explain
from bench.raw import RawCycle
from bench.site import Site
from bench.timing import Stats, interleaved, settled, timed
from engine.access import Actor
from engine.models import User, db
from engine.timers import TimerWorker, run_due
from engine.worklist import Filters, page

ROLE = "fp_pm"
# Reads are cheap and their medians noisier than a completion's, so they get more samples.
READS = 5
READ_FIGURES = ("worklist_api", "worklist_query", "worklist_every_lane", "idle_sweep", "idle_worker")


@dataclass(frozen=True)
class Figures:
    size: int
    complete: Stats
    worklist_api: Stats
    worklist_query: Stats
    worklist_every_lane: Stats  # the same role's worklist with no lane chosen, as the worklist page opens
    idle_sweep: Stats
    idle_worker: Stats  # the worker's whole idle loop: the sweep, the outbox and the wait for the next timer
    by_step: dict[str, float]  # template name -> median seconds of the API completion
    plans: dict[str, list[str]]


@dataclass(frozen=True)
class Results:
    raw: Stats
    raw_spec_free: Stats
    raw_by_step: dict[str, float]
    sizes: list[Figures]
    load: tuple[float, float]  # the machine's 1-minute load average before and after


def measure(sites: list[Site], raw: RawCycle, times: int) -> Results:
    load_before = os.getloadavg()[0]
    templates = sites[0].population.templates
    steps = [n % len(templates) for n in range(times)]
    with settled():
        writes = sample_writes(sites, raw, steps)
        reads = interleaved({f"{site.size} {figure}": sampler
                             for site in sites for figure, sampler in read_samplers(site).items()}, READS * times)
    names = [templates[index].name for index in steps]
    return Results(
        raw=Stats.of(writes["raw"]), raw_spec_free=Stats.of(writes["spec_free"]),
        raw_by_step=by_step(names, writes["raw"]),
        sizes=[figures(site, writes[str(site.size)], reads, names) for site in sites],
        load=(load_before, os.getloadavg()[0]),
    )


def sample_writes(sites: list[Site], raw: RawCycle, steps: list[int]) -> dict[str, list[float]]:
    """The raw cycles and a fresh copy's completion at every size, step by step in turn."""
    for index in steps[:3]:  # a code path's first run (imports, caches) is not what is measured
        raw.with_spec(index)()
        raw.spec_free(index)()
    writes: dict[str, list[float]] = {"raw": [], "spec_free": [], **{str(site.size): [] for site in sites}}
    for index in steps:
        writes["raw"].append(timed(raw.with_spec(index)))
        writes["spec_free"].append(timed(raw.spec_free(index)))
        for site in sites:
            writes[str(site.size)].append(complete_fresh(site, index))
    return writes


def figures(site: Site, completions: list[float], reads: dict[str, list[float]], names: list[str]) -> Figures:
    read = {figure: Stats.of(reads[f"{site.size} {figure}"]) for figure in READ_FIGURES}
    return Figures(size=site.size, complete=Stats.of(completions), **read,
                   by_step=by_step(names, completions), plans=explain(site.app, ROLE))


def read_samplers(site: Site) -> dict[str, Callable[[], float]]:
    return {
        "worklist_api": lambda: timed(lambda: worklist_by_api(site.api, ROLE)),
        "worklist_every_lane": lambda: timed(lambda: worklist_by_api(site.api, None)),
        "worklist_query": in_context(site.app, worklist_query(site.app)),
        "idle_sweep": in_context(site.app, idle_sweep),
        "idle_worker": in_context(site.app, TimerWorker(site.app).sweep_once),
    }


def in_context(app: Flask, fn: Callable[[], object]) -> Callable[[], float]:
    """A sampler that times fn inside an app context, as the worker and each request have one."""
    def sample() -> float:
        with app.app_context():
            return timed(fn)
    return sample


def complete_fresh(site: Site, index: int) -> float:
    template = site.population.templates[index]
    task_id = open_task(site.app, site.population.take(index), template.act.step)
    return timed(lambda: site.api.complete(task_id, template.act.who, template.today_data))


def worklist_by_api(api: Api, lane: str | None) -> None:
    if not api.worklist(ROLE, lane):
        raise BenchError(f"the {ROLE} worklist is empty")


def worklist_query(app: Flask) -> Callable[[], None]:
    """engine.worklist.page for the role, as the API calls it; the read transaction ends with it."""
    with app.app_context():
        actor = Actor.of(db.session.execute(db.select(User).filter_by(username=ROLE)).scalar_one())
        db.session.rollback()

    def query() -> None:
        page(db.session, actor, Filters(lane=ROLE))
        db.session.rollback()

    return query


def idle_sweep() -> None:
    if run_due():
        raise BenchError("a timer was due, so the sweep was not idle")


def by_step(names: list[str], samples: list[float]) -> dict[str, float]:
    grouped: dict[str, list[float]] = {}
    for name, seconds in zip(names, samples, strict=True):
        grouped.setdefault(name, []).append(seconds)
    return {name: Stats.of(found).median for name, found in grouped.items()}
