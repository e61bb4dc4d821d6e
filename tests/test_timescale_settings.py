"""No figure of the timescale register is written into a diagram or a form: every count is read from the
settings (due_date, breach_at, window_opens, setting), so a council changes a setting, not a diagram. The
scenario tests in tests/test_case_record.py change T1, T6's lower edge and the grace period and see the diagrams
obey."""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from engine.definitions import parse_xml
from engine.lint import expressions, scripts
from engine.settings import default_settings

PROCESSES = Path(__file__).resolve().parent.parent / "processes"
COUNTING = {"add_days", "add_working_days", "add_months", "add_hours", "add_working_hours"}
READS_TIMESCALE = {"due_date", "breach_at", "window_opens"}


def sources() -> list[tuple[str, str, str]]:
    """(where, source, mode) for every script and expression of every diagram and form."""
    found = []
    for diagram in sorted(PROCESSES.glob("*.bpmn")):
        root = parse_xml(diagram.read_bytes()).getroot()
        found += [(f"{diagram.name} {eid}", src, "exec") for eid, src in scripts(root)]
        found += [(f"{diagram.name} {eid}", src, "eval") for eid, src in expressions(root)]
    for form in sorted((PROCESSES / "forms").glob("*.json")):
        schema = json.loads(form.read_text())
        found += [(f"{form.name} rule on {r.get('field')}", r["when"], "eval") for r in schema.get("x-rules", [])]
        found += [(f"{form.name} {name}", prop["x-default"], "eval")
                  for name, prop in schema.get("properties", {}).items() if "x-default" in prop]
        found += [(f"{form.name} {name}", src, "eval") for name, src in schema.get("x-computed", {}).items()]
    return found


def calls(source: str, mode: str) -> list[ast.Call]:
    tree = ast.parse(source, mode=mode)
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)]


def is_figure(node: ast.AST) -> bool:
    value = node.operand.value if isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant) \
        else getattr(node, "value", None)
    return isinstance(node, ast.Constant | ast.UnaryOp) and isinstance(value, int | float) and abs(value) > 1


def test_no_day_or_hour_count_is_written_into_a_diagram():
    found = sources()
    written = [f"{where}: {ast.unparse(call)}" for where, source, mode in found for call in calls(source, mode)
               if call.func.id in COUNTING and len(call.args) > 1 and is_figure(call.args[1])]
    assert len(found) > 400 and not written, "counts to read from a timescale instead:\n" + "\n".join(written)


def test_every_timescale_a_diagram_reads_is_a_setting():
    named = set()
    for _, source, mode in sources():
        for call in calls(source, mode):
            if call.func.id in READS_TIMESCALE and call.args and isinstance(call.args[0], ast.Constant):
                named.add(call.args[0].value)
    assert named and named <= set(default_settings()["timescales"])
    assert {"T1", "T6", "T7", "T8", "T11", "T15"} <= named
    assert all(re.fullmatch(r"T\d+", t) for t in named)
