"""Every sequence flow of every process diagram is taken by some scenario test in this run.

It reads the flows recorded from each test's cases (conftest.record_flows), so it runs last and needs the
scenario modules in the same run; under a partial run (`pytest -k`, one file) it is skipped, as the README
says."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.diagram import sequence_flows

PROCESSES = Path(__file__).resolve().parent.parent / "processes"


@pytest.mark.parametrize("diagram", sorted(p.name for p in PROCESSES.glob("*.bpmn")))
def test_every_sequence_flow_is_taken(request, diagram):
    process_id = diagram.removesuffix(".bpmn")
    scenario = f"test_{process_id}.py"
    if not any(item.fspath.basename == scenario for item in request.session.items):
        pytest.skip(f"{scenario} is not part of this run")
    flows = sequence_flows((PROCESSES / diagram).read_text())
    missed = sorted(f"{flow} ({source} -> {target})" for flow, (source, target) in flows.items()
                    if flow not in request.config.stepwise_flows_taken.get(process_id, set()))
    assert not missed, f"{len(missed)} of {len(flows)} flows never taken:\n" + "\n".join(missed)
