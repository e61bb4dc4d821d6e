"""No diagram or form can stall or kill a worker: every script, condition, default, computed value and rule
runs under a budget, sizes are checked before they are built, patterns run in linear time, and a broken
form or a looping breach script is refused or set aside with its element named."""
from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from click.testing import CliRunner
from flask import g

from engine import forms
from engine.budget import ScriptLimitError
from engine.definitions import DefinitionError, deploy
from engine.models import Event, Instance, db
from engine.scripting import RestrictedEnvironment, check_source
from engine.settings import configure
from engine.timers import run_due
from tests.conftest import Api

FIXTURES = Path(__file__).parent / "fixtures"
MINI = FIXTURES / "mini.bpmn"
FRIDAY = datetime(2024, 12, 20, 10, tzinfo=UTC)
AFTER_DUE = datetime(2025, 1, 23, 0, 0, 1, tzinfo=UTC)
LOOP = "while True: pass"


@pytest.fixture
def api(app, people) -> Api:
    @app.before_request
    def fresh_user() -> None:
        g.pop("_login_user", None)

    configure({"scripts": {"max_seconds": 0.5}})
    return Api(app.test_client(), people)


def mini_forms(process: str = "mini") -> dict:
    found = {p.name: json.loads(p.read_text()) for p in (FIXTURES / "forms").glob("mini-*.json")}
    found[f"{process}-start.json"] = found.pop("mini-start.json")
    return found


def variant(process: str, old: str = "", new: str = "") -> bytes:
    xml = MINI.read_text().replace('id="mini"', f'id="{process}"').replace('processRef="mini"', f'processRef="{process}"')
    assert old in xml
    return xml.replace(old, new).encode()


def run(source: str) -> dict:
    context: dict = {}
    RestrictedEnvironment().execute(source, context)
    return context


# ---- scripts -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("source, reason", [
    (LOOP, "steps"),
    ("n = 10\nx = n ** n ** 8", "bits"),
    ("n = 10 ** 10\nx = 'x' * n", "items"),
    ("s = 'ab'\nwhile True:\n    s = s + s", "items"),
    ("xs = [0]\nwhile True:\n    xs.extend(xs)", "items"),
    ("x = sum(map(abs, range(10 ** 12)))", "items"),
    ("t = 'a' * 1000\nx = t.replace('', t)", "items"),
    ("x = [[0] * 1000000 for i in range(100000)]", "MB"),
    ("try:\n    while True: pass\nexcept Exception:\n    pass\nwhile True: pass", "steps"),
])
def test_a_runaway_script_is_stopped_quickly_with_the_reason(app, source, reason):
    configure({"scripts": {"max_lines": 200_000, "max_memory_mb": 128}})
    started = time.monotonic()
    with pytest.raises(ScriptLimitError, match=reason):
        run(source)
    assert time.monotonic() - started < 3
    assert run("x = 6 * 7")["x"] == 42  # and the next script runs as before


def test_a_script_is_stopped_by_time_as_well_as_by_steps(app):
    configure({"scripts": {"max_seconds": 0.2, "max_lines": 10 ** 9}})
    started = time.monotonic()
    with pytest.raises(ScriptLimitError, match="0.2 seconds"):
        run(LOOP)
    assert time.monotonic() - started < 1


def test_ordinary_scripts_and_helpers_run_under_the_budget(app):
    done = run("due = add_working_days('2025-01-02', 20)\nsquares = [i * i for i in range(1000)]\n"
               "label = 'case ' + str(len(squares)) + f' {2 ** 10:>6}'")
    assert done["due"] == "2025-01-30"
    assert done["squares"][-1] == 998001
    assert done["label"] == "case 1000   1024"


@pytest.mark.parametrize("source, message", [
    ("10 ** 10 ** 8", "bits"),
    ("'x' * 10 ** 10", "items"),
    ("f'{1:>99999}'", "width"),
    ("f'{1:>{n}}'", "width"),
    ("[*xs, *xs]", "Unpacking"),
])
def test_a_constant_bomb_is_refused_at_compile_time(source, message):
    errors = check_source(source, "eval")
    assert errors and message in errors[0]


@pytest.mark.parametrize("source, message", [
    ("try:\n    x = 1\nfinally:\n    y = 2", "finally"),
    ("try:\n    x = 1\nexcept:\n    y = 2", "bare except"),
    ("x = '{x:>99999999}'.format_map({'x': 1})", None),
])
def test_what_would_let_a_script_outrun_its_budget_is_refused(app, source, message):
    if message:
        assert any(message in e for e in check_source(source, "exec"))
    else:
        with pytest.raises(ScriptLimitError, match="format_map"):
            run(source)


def test_a_looping_diagram_is_refused_at_deploy_when_its_constants_are_too_big(app):
    xml = variant("mini_big", "a_breached = True", "a_breached = 'x' * 10 ** 10")
    with pytest.raises(DefinitionError, match="breach_notify: .*items"):
        deploy(xml, mini_forms("mini_big"), "ana")


# ---- forms ---------------------------------------------------------------------------------------------

def test_a_looping_default_names_the_field_and_the_worker_stays_up(api, people):
    looping = mini_forms()
    looping["mini-a.json"]["properties"]["note"]["x-default"] = "[0 for i in range(10 ** 6) for j in range(10 ** 6)]"
    deploy(variant("mini"), looping, "ana")
    db.session.commit()
    started = api.post("/instances", "sw", {"process": "mini", "case_ref": "L-1", "data": {"allocated_sw": "sw"}},
                       expect=201)
    task_id = started["current_steps"][0]["task_id"]
    refused = api.get(f"/tasks/{task_id}", "sw", expect=422)
    assert "default of note" in refused["error"] and "stopped" in refused["error"]
    assert api.get("/instances?case_ref=L-1", "sw")["instances"][0]["status"] == "running"


def test_a_looping_rule_refuses_the_submission_and_saves_nothing(api, people):
    looping = mini_forms()
    looping["mini-a.json"]["x-rules"][0]["when"] = "len([0 for i in range(10 ** 6) for j in range(10 ** 6)]) > 0"
    deploy(variant("mini"), looping, "ana")
    db.session.commit()
    started = api.post("/instances", "sw", {"process": "mini", "case_ref": "L-2", "data": {"allocated_sw": "sw"}},
                       expect=201)
    before = db.session.get(Instance, started["id"]).revision
    refused = api.post(f"/tasks/{started['current_steps'][0]['task_id']}/complete", "sw",
                       {"data": {"answer": "yes", "answered_on": "2024-12-01", "note": "n"}}, expect=422)
    assert "rule on answered_on" in refused["error"]
    db.session.rollback()
    assert db.session.get(Instance, started["id"]).revision == before


def test_a_catastrophic_pattern_is_matched_in_linear_time():
    schema = {"type": "object", "properties": {"code": {"type": "string", "pattern": "^(a|a)*$", "title": "Code"}}}
    started = time.monotonic()
    errors = forms.schema_errors(schema, {"code": "a" * 5000 + "b"})
    assert time.monotonic() - started < 0.5
    assert "code" in errors
    assert forms.schema_errors(schema, {"code": "aaaa"}) == {}


@pytest.mark.parametrize("change, message", [
    (lambda f: f["properties"]["note"].update(pattern="^(a)\\1$"), "/properties/note/pattern: the pattern"),
    (lambda f: f["properties"]["note"].update(type=12), "not a valid JSON Schema at /properties/note/type"),
    (lambda f: f.update(patternProperties={"^x": {}}), "patternProperties is not supported"),
    (lambda f: f["properties"].update(deep=nested(200)), "nested more than 32 levels"),
])
def test_a_broken_form_is_refused_at_deploy_with_a_message(app, change, message):
    broken = mini_forms()
    change(broken["mini-a.json"])
    with pytest.raises(DefinitionError, match=message):
        deploy(variant("mini"), broken, "ana")


def nested(levels: int) -> dict:
    node: dict = {"type": "string"}
    for _ in range(levels):
        node = {"type": "object", "properties": {"x": node}}
    return node


def test_stepwise_lint_reports_a_broken_form_without_a_traceback(app, tmp_path):
    (tmp_path / "forms").mkdir()
    (tmp_path / "mini.bpmn").write_bytes(variant("mini"))
    for name, schema in mini_forms().items():
        (tmp_path / "forms" / name).write_text(json.dumps(schema))
    (tmp_path / "forms" / "mini-a.json").write_text("[" * 100_000 + "]" * 100_000)
    result = CliRunner().invoke(app.cli, ["lint", str(tmp_path)], catch_exceptions=False)
    assert result.exit_code == 1
    assert "mini-a.json is nested too deeply" in result.output
    assert "Traceback" not in result.output
    (tmp_path / "forms" / "mini-a.json").write_text(json.dumps({"type": 12}))
    result = CliRunner().invoke(app.cli, ["lint", str(tmp_path)], catch_exceptions=False)
    assert "not a valid JSON Schema" in result.output and "Traceback" not in result.output


# ---- the timer sweep -----------------------------------------------------------------------------------

def test_a_looping_breach_script_sets_its_case_aside_and_other_timers_still_fire(api, people):
    deploy(variant("mini"), mini_forms(), "ana")
    deploy(variant("mini_loop", "a_breached = True", LOOP), mini_forms("mini_loop"), "ana")
    db.session.commit()
    with time_machine.travel(FRIDAY, tick=False):
        looping = api.post("/instances", "sw", {"process": "mini_loop", "case_ref": "C-LOOP",
                                                "data": {"allocated_sw": "sw"}}, expect=201)["id"]
        healthy = api.post("/instances", "sw", {"process": "mini", "case_ref": "C-OK",
                                                "data": {"allocated_sw": "sw"}}, expect=201)["id"]
    with time_machine.travel(AFTER_DUE, tick=True):
        started = time.monotonic()
        assert run_due() == 1
        assert time.monotonic() - started < 5
        assert run_due() == 0  # the set-aside case is not met again
    db.session.rollback()
    failed = db.session.get(Instance, looping)
    assert failed.status == "error" and failed.next_timer_at is None
    reason = db.session.query(Event).filter_by(instance_id=looping, type="step_failed").one().detail["reason"]
    assert reason.startswith("breach_notify was stopped") and "steps" in reason
    assert db.session.get(Instance, healthy).status == "running"
    assert db.session.query(Event).filter_by(instance_id=healthy, type="deadline_breached").count() == 1
    assert "Stopped by an error" in history_page(api, looping)


def history_page(api: Api, instance_id: int) -> str:
    client = api.client
    client.post("/login", data={"username": "manager", "password": "pw-manager"})
    return client.get(f"/instances/{instance_id}").get_data(as_text=True)


def test_a_timer_firing_while_a_worker_acts_refuses_the_action_with_the_element(api, people):
    deploy(variant("mini_loop", "a_breached = True", LOOP), mini_forms("mini_loop"), "ana")
    db.session.commit()
    with time_machine.travel(FRIDAY, tick=False):
        started = api.post("/instances", "sw", {"process": "mini_loop", "case_ref": "C-L2",
                                                "data": {"allocated_sw": "sw"}}, expect=201)
    with time_machine.travel(AFTER_DUE + timedelta(hours=9), tick=True):
        refused = api.post(f"/tasks/{started['current_steps'][0]['task_id']}/complete", "sw",
                           {"data": {"answer": "yes", "answered_on": "2025-01-23", "note": "n"}}, expect=422)
    assert refused["error"].startswith("breach_notify was stopped")
