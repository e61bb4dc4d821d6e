"""Timing: wall-clock samples of a callable, summarised by median and 90th percentile."""
from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Stats:
    median: float
    p90: float
    samples: int

    @classmethod
    def of(cls, seconds: list[float]) -> Stats:
        ordered = sorted(seconds)
        p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
        return cls(statistics.median(ordered), p90, len(ordered))


@contextmanager
def settled() -> Iterator[None]:
    """Keep everything alive now out of the collector's sight while sampling: a full collection over the
    app's long-lived heap costs far more than a cycle, and would land at random inside samples."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def timed(fn: Callable[[], object]) -> float:
    # A collection left over from the previous sample must not land inside this one.
    gc.collect()
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def interleaved(samplers: dict[str, Callable[[], float]], times: int, warmup: int = 3, budget: float = 60.0,
                least: int = 20) -> dict[str, list[float]]:
    """Up to `times` rounds of one sample from each sampler in turn, so a busy moment on the machine falls on
    all of them alike. Stops after `budget` seconds once `least` rounds are in: a figure that grows with the
    instance count must not make a large size take hours to report."""
    for _ in range(warmup):
        for sample in samplers.values():
            sample()
    samples: dict[str, list[float]] = {name: [] for name in samplers}
    started, rounds = time.perf_counter(), 0
    while rounds < times and (rounds < least or time.perf_counter() - started < budget):
        for name, sample in samplers.items():
            samples[name].append(sample())
        rounds += 1
    return samples
