"""Every sequence flow of every process diagram is taken by some scenario test in this run, and every name a
diagram's scripts set is seen in some case's record (the case data the API and the pages read).

It reads the flows recorded from each test's cases (conftest.record_flows), so it runs last and needs the
scenario modules in the same run; under a partial run (`pytest -k`, one file) it is skipped, as the README
says."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.diagram import script_set_names, sequence_flows

PROCESSES = Path(__file__).resolve().parent.parent / "processes"


DIAGRAMS = sorted(p.name for p in PROCESSES.glob("*.bpmn"))


def process_in_run(request, diagram: str) -> str:
    process_id = diagram.removesuffix(".bpmn")
    scenario = f"test_{process_id}.py"
    if not any(item.fspath.basename == scenario for item in request.session.items):
        pytest.skip(f"{scenario} is not part of this run")
    return process_id


@pytest.mark.parametrize("diagram", DIAGRAMS)
def test_every_sequence_flow_is_taken(request, diagram):
    process_id = process_in_run(request, diagram)
    flows = sequence_flows((PROCESSES / diagram).read_text())
    missed = sorted(f"{flow} ({source} -> {target})" for flow, (source, target) in flows.items()
                    if flow not in request.config.stepwise_flows_taken.get(process_id, set()))
    assert not missed, f"{len(missed)} of {len(flows)} flows never taken:\n" + "\n".join(missed)


@pytest.mark.parametrize("diagram", DIAGRAMS)
def test_every_name_a_script_sets_is_in_some_case_record(request, diagram):
    process_id = process_in_run(request, diagram)
    setters = script_set_names((PROCESSES / diagram).read_text())
    seen = getattr(request.config, "stepwise_names_seen", {}).get(process_id, set())
    hidden = sorted(f"{name} (set by {', '.join(sorted(ids))})" for name, ids in setters.items() if name not in seen)
    assert not hidden, f"{len(hidden)} of {len(setters)} script-set names never reached the case data:\n" + \
        "\n".join(hidden)
