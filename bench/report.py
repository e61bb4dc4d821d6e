"""The printed tables: each figure in ms and as a ratio to the raw cycle, with growth against the targets."""
from __future__ import annotations

import os

from bench.measure import ROLE, Figures, Results
from bench.timing import Stats

COMPLETE_TARGET = 5.0  # (a) at most this many raw cycles
GROWTH_TARGET = 1.3  # (b) and (c) from the smallest size to each larger one


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def print_report(results: Results) -> None:
    raw, free = results.raw, results.raw_spec_free
    print()
    print(f"raw SpiffWorkflow cycle (deserialize, complete one task, serialize; spec embedded): "
          f"median {ms(raw.median)} ms, p90 {ms(raw.p90)} ms, n {raw.samples}")
    print(f"  the same with the app's spec-free serializer, for information: median {ms(free.median)} ms")
    print(f"  load average {results.load[0]:.2f} before, {results.load[1]:.2f} after, on {os.cpu_count()} CPUs")
    print()
    header = (f"{'figure':<30}{'instances':>10}{'median ms':>11}{'p90 ms':>9}{'n':>5}{'× raw':>8}{'growth':>8}"
              "  target")
    print(header)
    print("-" * (len(header) + 22))
    base = results.sizes[0]
    for r in results.sizes:
        row(results, r, "(a) complete a task, API", r.complete, None)
        row(results, r, "    … × spec-free raw, info", r.complete, None, against=free)
        row(results, r, f"(b) worklist {ROLE}, API", r.worklist_api, base.worklist_api)
        row(results, r, "(b) worklist query", r.worklist_query, base.worklist_query)
        row(results, r, "    every lane, API, info", r.worklist_every_lane, base.worklist_every_lane, judged=False)
        row(results, r, "(c) idle timer sweep", r.idle_sweep, base.idle_sweep)
        row(results, r, "    idle worker loop, info", r.idle_worker, base.idle_worker, judged=False)
    print()
    print_steps(results)
    print()
    for r in (results.sizes[0], results.sizes[-1]) if len(results.sizes) > 1 else results.sizes:
        print_plans(r)


def row(results: Results, r: Figures, label: str, stats: Stats, base: Stats | None, judged: bool = True,
        against: Stats | None = None) -> None:
    ratio = stats.median / (against or results.raw).median
    if against is not None:
        target, growth = "(not a target)", "-"
    elif base is None:
        target, growth = f"≤ {COMPLETE_TARGET:g}× raw  {verdict(ratio <= COMPLETE_TARGET)}", "-"
    elif stats is base:
        target, growth = "(baseline)", "1.00"
    else:
        factor = stats.median / base.median
        target = f"≤ {GROWTH_TARGET:g}× growth  {verdict(factor <= GROWTH_TARGET)}" if judged else "(not a target)"
        growth = f"{factor:.2f}"
    print(f"{label:<30}{r.size:>10,}{ms(stats.median):>11}{ms(stats.p90):>9}{stats.samples:>5}{ratio:>8.2f}"
          f"{growth:>8}  {target}")


def print_steps(results: Results) -> None:
    sizes = results.sizes
    print("(a) by step, median ms: raw cycle, then the API at each size")
    print(f"{'waiting at: completing':<28}{'raw':>9}" + "".join(f"{r.size:>12,}" for r in sizes) + f"{'× raw':>8}")
    for name, raw in sorted(results.raw_by_step.items()):
        api = [r.by_step[name] for r in sizes]
        print(f"{name:<28}{ms(raw):>9}" + "".join(f"{ms(a):>12}" for a in api) + f"{api[-1] / raw:>8.2f}")


def print_plans(r: Figures) -> None:
    for name, lines in r.plans.items():
        print(f"{name} plan at {r.size:,} instances:")
        for line in lines:
            print(f"    {line}")
