"""The benchmark at a tiny size: its copies are real cases that complete, and every figure is taken.

No timings are asserted; `make bench` prints them.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from bench.app import close, instance_count
from bench.measure import measure
from bench.raw import RawCycle
from bench.report import print_report
from bench.site import open_site

SIZE = 60


@pytest.mark.sqlite_only
def test_copies_complete_and_every_figure_is_taken(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    # open_site completes a copy of every template through the API and raises unless each one reaches the
    # steps its template reached, with worklist rows matching the blob before and after.
    site = open_site(f"sqlite:///{tmp_path / 'bench.db'}", SIZE, variants=1, completions=2, progress=False)
    try:
        assert instance_count(site.app) == SIZE
        results = measure([site], RawCycle(site.app, site.population.templates), times=2)
    finally:
        close(site.app)
    figures = results.sizes[0]
    assert results.raw.samples == figures.complete.samples == 2
    assert figures.idle_sweep.samples > 0 and figures.worklist_api.samples > 0
    print_report(results)
    assert "(c) idle timer sweep" in capsys.readouterr().out
