"""Script helpers (ISO strings only), reserved names and the restricted script environment."""
from datetime import date, datetime

import pytest
import time_machine
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine

from engine import scripting as s
from engine.calendar import CalendarError
from engine.settings import configure, reset_settings


@pytest.fixture(autouse=True)
def _default_settings():
    reset_settings()
    yield
    reset_settings()


# ----------------------------------------------------------------------------- clock

@time_machine.travel("2025-06-05T13:00:00+00:00", tick=False)
def test_now_is_a_london_instant_to_the_second():
    assert s.now() == "2025-06-05T14:00:00+01:00"
    assert s.today() == "2025-06-05"


@time_machine.travel("2025-01-15T12:00:30.750000+00:00", tick=False)
def test_now_in_winter_drops_fractions_of_a_second():
    assert s.now() == "2025-01-15T12:00:30+00:00"


@time_machine.travel("2025-06-04T23:30:00+00:00", tick=False)
def test_today_is_the_london_day_after_utc_midnight_in_summer():
    assert s.today() == "2025-06-05"
    assert s.now() == "2025-06-05T00:30:00+01:00"


def test_the_clock_moves_with_time_machine():
    with time_machine.travel("2025-12-31T23:59:59+00:00", tick=False) as traveller:
        assert s.today() == "2025-12-31"
        traveller.shift(1)
        assert s.today() == "2026-01-01"


# ----------------------------------------------------------------------------- dates

@pytest.mark.parametrize("instant, day", [
    ("2025-06-04T23:30:00Z", "2025-06-05"),
    ("2025-06-05T00:30:00+01:00", "2025-06-05"),
    ("2025-01-15T23:30:00-05:00", "2025-01-16"),
    ("2025-06-05", "2025-06-05"),
])
def test_date_of(instant, day):
    assert s.date_of(instant) == day


def test_add_days_and_days_between():
    assert s.add_days("2025-02-27", 2) == "2025-03-01"
    assert s.add_days("2025-03-01", -1) == "2025-02-28"
    assert s.days_between("2025-06-01", "2025-06-22") == 21
    assert s.days_between("2025-06-22", "2025-06-01") == -21


@pytest.mark.parametrize("start, n, result", [
    ("2025-12-31", -3, "2025-09-30"),
    ("2024-11-30", 3, "2025-02-28"),
    ("2025-05-31", -1, "2025-04-30"),
])
def test_add_months(start, n, result):
    assert s.add_months(start, n) == result


def test_is_working_day():
    assert s.is_working_day("2025-12-24") is True
    assert s.is_working_day("2025-12-25") is False
    assert s.is_working_day("2025-04-18") is False


@pytest.mark.parametrize("start, n, due", [
    ("2024-12-20", 20, "2025-01-22"),
    ("2026-12-18", 20, "2027-01-20"),
    ("2026-12-24", 10, "2027-01-12"),
    ("2027-03-25", 3, "2027-04-01"),
    ("2025-04-17", 3, "2025-04-24"),
])
def test_add_working_days(start, n, due):
    assert s.add_working_days(start, n) == due


def test_add_working_days_day1_option():
    configure({"calendar": {"count_from": "day1"}})
    assert s.add_working_days("2024-12-20", 20) == "2025-01-21"


def test_notice_rule_allows_the_nth_working_day_itself():
    # D11: the visit may fall on the 10th working day after the notice.
    earliest = s.add_working_days("2026-12-24", 10)
    assert s.on_or_before(earliest, "2027-01-12")
    assert not s.on_or_before(earliest, "2027-01-11")


def test_date_deadline_offsets():
    assert s.date_deadline("2025-01-22") == "2025-01-23T00:00:00+00:00"
    assert s.date_deadline("2025-05-15") == "2025-05-16T00:00:00+01:00"


def test_add_hours_is_elapsed_time():
    assert s.add_hours("2025-03-28T10:00:00+00:00", 48) == "2025-03-30T11:00:00+01:00"
    assert s.add_hours("2025-03-28T10:00:00Z", 48) == "2025-03-30T11:00:00+01:00"
    assert s.add_hours("2025-06-05T14:00:00+01:00", 1.5) == "2025-06-05T15:30:00+01:00"


@pytest.mark.parametrize("start, result", [
    ("2025-06-06T16:00:00+01:00", "2025-06-10T16:00:00+01:00"),
    ("2025-05-02T16:00:00+01:00", "2025-05-07T16:00:00+01:00"),
    ("2025-03-28T16:00:00Z", "2025-04-01T16:00:00+01:00"),
    ("2025-10-24T16:00:00+01:00", "2025-10-28T16:00:00+00:00"),
])
def test_add_working_hours(start, result):
    assert s.add_working_hours(start, 48) == result


# ----------------------------------------------------------------------------- timescales

@pytest.mark.parametrize("tid, start, due", [
    ("T1", "2024-12-20", "2025-01-22"),
    ("T2", "2025-06-01", "2025-06-22"),
    ("T7", "2025-04-17", "2025-04-24"),
    ("T13", "2025-06-01", "2025-06-29"),
    ("T15", "2026-12-24", "2027-01-12"),
    ("T19", "2025-06-01", "2025-07-13"),
    ("T23", "2027-03-25", "2027-04-19"),
    ("T25", "2024-11-30", "2025-02-28"),
    ("T1", "2024-12-20T09:00:00+00:00", "2025-01-22"),
    ("T7", "2025-04-16T23:30:00Z", "2025-04-24"),  # 00:30 BST on the 17th
])
def test_due_date(tid, start, due):
    assert s.due_date(tid, start) == due


def test_due_date_in_calendar_days_when_configured():
    configure({"timescales": {"T7": {"unit": "calendar_days"}}})
    assert s.due_date("T7", "2025-04-17") == "2025-04-20"


def test_due_date_refuses_hours_and_unknown_timescales():
    with pytest.raises(ValueError, match="breach_at"):
        s.due_date("T8", "2025-06-06")
    with pytest.raises(ValueError, match="unknown timescale"):
        s.due_date("T99", "2025-06-06")


def test_breach_at_for_day_timescales_is_the_date_deadline():
    assert s.breach_at("T1", "2024-12-20") == "2025-01-23T00:00:00+00:00"
    assert s.breach_at("T7", "2025-05-12") == "2025-05-16T00:00:00+01:00"
    assert s.breach_at("T1", "2024-12-20T16:45:00+00:00") == "2025-01-23T00:00:00+00:00"


def test_breach_at_for_working_hours():
    assert s.breach_at("T8", "2025-06-06T16:00:00+01:00") == "2025-06-10T16:00:00+01:00"
    assert s.breach_at("T11", "2025-06-06T16:00:00+01:00") == "2025-06-09T16:00:00+01:00"
    assert s.breach_at("T18", "2025-05-02T16:00:00+01:00") == "2025-05-06T16:00:00+01:00"


def test_breach_at_for_elapsed_hours_when_configured():
    configure({"timescales": {"T8": {"unit": "elapsed_hours"}}})
    assert s.breach_at("T8", "2025-03-28T10:00:00+00:00") == "2025-03-30T11:00:00+01:00"


def test_breach_at_in_hours_needs_an_instant():
    with pytest.raises(ValueError, match="instant"):
        s.breach_at("T8", "2025-06-06")


# ----------------------------------------------------------------------------- comparisons

def test_on_or_before_dates_and_instants():
    assert s.on_or_before("2025-06-05", "2025-06-05")
    assert not s.on_or_before("2025-06-06", "2025-06-05")
    assert s.on_or_before("2025-06-05T14:00:00+01:00", "2025-06-05T13:00:00Z")  # the same instant
    assert not s.on_or_before("2025-06-05T14:00:01+01:00", "2025-06-05T13:00:00+00:00")
    assert s.on_or_before("2025-06-05T23:30:00-02:00", "2025-06-06T02:30:00+01:00")


def test_on_or_before_refuses_a_date_against_an_instant():
    with pytest.raises(ValueError, match="two dates or two instants"):
        s.on_or_before("2025-06-05", "2025-06-05T14:00:00+01:00")


# ----------------------------------------------------------------------------- meetings

def test_meeting_helpers():
    assert s.next_meeting_date("response_ps_consultation", "2024-12-23") == "2024-12-27"
    assert s.next_meeting_date("weekly_cog", "2025-06-04") == "2025-06-10"
    assert s.meeting_start_at("weekly_cog", "2025-06-10") == "2025-06-10T10:00:00+01:00"
    assert s.meeting_start_at("weekly_cog", "2025-01-07") == "2025-01-07T10:00:00+00:00"
    after = s.next_meeting_start_after("response_ps_consultation", "2025-06-04T09:00:00Z")
    assert after == "2025-06-11T10:00:00+01:00"
    moved = s.next_meeting_start_after("weekly_cog", "2027-12-25T12:00:00Z")
    assert moved == "2027-12-29T10:00:00+00:00"


# ----------------------------------------------------------------------------- people and documents

@pytest.mark.parametrize("dob, on, age", [
    ("2015-06-05", "2025-06-05", 10),
    ("2015-06-05", "2025-06-04", 9),
    ("2016-02-29", "2025-02-28", 8),
    ("2016-02-29", "2025-03-01", 9),
    ("2016-02-29", "2024-02-29", 8),
])
def test_age_on(dob, on, age):
    assert s.age_on(dob, on) == age


@pytest.mark.parametrize("document, document_date, current", [
    ("cf_assessment", "2025-03-15", True),  # the first day of the window counts
    ("cf_assessment", "2025-03-14", False),
    ("eha", "2025-03-15", True),
    ("eha", "2025-03-14", False),
    ("cin_plan", "2025-05-15", True),
    ("cin_plan", "2025-05-14", False),
    ("cf_assessment", "2025-06-15", True),  # the consultation day itself
    ("cf_assessment", "2025-06-20", True),  # updated after the consultation (R04)
])
def test_is_current_boundaries(document, document_date, current):
    assert s.is_current(document, document_date, "2025-06-15") is current


def test_is_current_uses_clamped_months():
    assert s.is_current("cin_plan", "2025-04-30", "2025-05-31") is True
    assert s.is_current("cin_plan", "2025-04-29", "2025-05-31") is False
    assert s.is_current("cf_assessment", "2025-09-30", "2025-12-31") is True
    assert s.is_current("cf_assessment", "2025-09-29", "2025-12-31") is False


def test_is_current_without_a_document_is_false_and_unknown_documents_raise():
    assert s.is_current(None, None, "2025-06-15") is False
    assert s.is_current("cf_assessment", None, "2025-06-15") is False
    with pytest.raises(ValueError, match="unknown step-down document"):
        s.is_current("care_plan", "2025-06-01", "2025-06-15")


# ----------------------------------------------------------------------------- argument types

def test_helpers_return_only_strings_numbers_and_bools():
    with time_machine.travel("2025-06-05T13:00:00Z", tick=False):
        results = [
            s.now(), s.today(), s.date_of("2025-06-05T13:00:00Z"), s.add_days("2025-06-05", 1),
            s.add_months("2025-06-05", 1), s.add_working_days("2025-06-05", 1), s.date_deadline("2025-06-05"),
            s.add_hours("2025-06-05T13:00:00Z", 1), s.add_working_hours("2025-06-05T13:00:00Z", 1),
            s.due_date("T1", "2025-06-05"), s.breach_at("T8", "2025-06-05T13:00:00Z"),
            s.next_meeting_date("weekly_cog", "2025-06-05"), s.meeting_start_at("weekly_cog", "2025-06-10"),
            s.next_meeting_start_after("weekly_cog", "2025-06-05T13:00:00Z"),
        ]
    assert all(type(r) is str for r in results)
    assert type(s.days_between("2025-06-05", "2025-06-06")) is int
    assert type(s.age_on("2015-06-05", "2025-06-05")) is int
    assert type(s.is_working_day("2025-06-05")) is bool


def test_date_objects_and_naive_instants_are_refused():
    with pytest.raises(TypeError):
        s.add_days(date(2025, 6, 5), 1)
    with pytest.raises(TypeError):
        s.add_hours(datetime(2025, 6, 5, 14), 1)
    with pytest.raises(ValueError, match="offset"):
        s.add_hours("2025-06-05T14:00:00", 1)
    with pytest.raises(TypeError):
        s.add_days("2025-06-05", 1.5)


def test_helpers_fail_closed_outside_the_calendar_years():
    with pytest.raises(CalendarError):
        s.add_working_days("2040-12-20", 20)
    with pytest.raises(CalendarError):
        s.due_date("T1", "2019-12-20")


# ----------------------------------------------------------------------------- reserved names

SPEC_HELPERS = {
    "now", "today", "date_of", "add_days", "add_months", "days_between", "is_working_day", "add_working_days",
    "date_deadline", "add_hours", "add_working_hours", "due_date", "breach_at", "on_or_before",
    "next_meeting_date", "meeting_start_at", "next_meeting_start_after", "age_on", "is_current",
}
# Beyond the specification's list: a timescale's lower edge, a setting by name, and dates in words for messages.
STEPWISE_HELPERS = {"window_opens", "setting", "long_date", "long_time"}


def test_script_helpers_are_exactly_the_specified_ones():
    assert set(s.SCRIPT_HELPERS) == SPEC_HELPERS | STEPWISE_HELPERS
    assert all(callable(fn) for fn in s.SCRIPT_HELPERS.values())


@pytest.mark.parametrize("name", sorted(SPEC_HELPERS | {
    "date", "datetime", "time", "timedelta", "timezone", "json", "len", "min", "max", "sum", "any", "all",
    "sorted", "list", "dict", "str", "int", "bool", "type", "id", "input", "open", "print", "typename",
    "data_objects", "range", "enumerate", "zip",
}))
def test_reserved_names(name):
    assert name in s.RESERVED_NAMES
    assert s.is_reserved(name)


@pytest.mark.parametrize("name", ["_private", "__builtins__", "spiff__close_case_result"])
def test_reserved_prefixes(name):
    assert s.is_reserved(name)


@pytest.mark.parametrize("name", ["consultation_date", "outcome", "allocated_fsw", "spiff_note", "dated"])
def test_ordinary_names_are_not_reserved(name):
    assert not s.is_reserved(name)


# ----------------------------------------------------------------------------- restricted environment

NORMAL_SCRIPT = """
total = 0
for i, x in enumerate(items):
    total += x
total -= 1
total *= 2
names = []
names += ["b"]
record["label"] = f"{len(items)} items, total {total}"
record["nested"] = {"k": [v for v in items if v > 1]}
squares = {v: v * v for v in items}
a, (b, c) = 1, (2, 3)
ordered = sorted(items, key=lambda v: -v)
biggest = max(items)
due = add_working_days("2024-12-20", 20)
deadline = breach_at("T1", "2024-12-20")
label = "ok" if all(isinstance(v, int) for v in items) else "bad"
text = ", ".join(str(v) for v in range(3)).upper()
options = dict(**{"x": 1})
"""


@pytest.fixture
def env():
    return s.RestrictedEnvironment()


def test_a_normal_script_runs(env):
    context = {"items": [3, 1, 2], "record": {}}
    assert env.execute(NORMAL_SCRIPT, context) is True
    assert context["total"] == 10
    assert context["names"] == ["b"]
    assert context["record"] == {"label": "3 items, total 10", "nested": {"k": [3, 2]}}
    assert context["squares"] == {3: 9, 1: 1, 2: 4}
    assert (context["a"], context["b"], context["c"]) == (1, 2, 3)
    assert context["ordered"] == [3, 2, 1]
    assert context["biggest"] == 3
    assert context["due"] == "2025-01-22"
    assert context["deadline"] == "2025-01-23T00:00:00+00:00"
    assert context["label"] == "ok"
    assert context["text"] == "0, 1, 2"
    assert context["options"] == {"x": 1}


def test_execute_leaves_only_data_behind(env):
    context = {"items": [1]}
    env.execute("double = lambda v: v * 2\nresult = double(4)\nhelper = now", context)
    assert set(context) == {"items", "result"}
    assert context["result"] == 8


def test_a_script_cannot_change_the_builtins_of_later_scripts(env):
    context = {"items": [1, 2]}
    env.execute("result = len(items)", context)
    before = dict(s.SAFE_BUILTINS)
    env.execute("x = 1", context)
    assert s.SAFE_BUILTINS == before
    assert "__builtins__" not in context


@time_machine.travel("2025-06-05T13:00:00Z", tick=False)
def test_evaluate_sees_data_helpers_and_external_context(env):
    context = {"consultation_date": "2025-06-01"}
    external = {"allocated_fsw": "fsw1"}
    assert env.evaluate("today() == '2025-06-05'", context) is True
    assert env.evaluate("days_between(consultation_date, today())", context) == 4
    assert env.evaluate("allocated_fsw == 'fsw1'", context, external) is True
    assert env.evaluate("\n   consultation_date < '2025-07-01'\n  ", context) is True
    assert set(context) == {"consultation_date"}


@pytest.mark.parametrize("source", [
    "import os",
    "from os import path",
    "open('/etc/hostname')",
    "x = ().__class__",
    "x = ().__class__.__base__.__subclasses__()",
    "x = __import__('os')",
    "x = getattr(items, 'append')",
    "print('hello')",
    "class A:\n    pass",
    "_hidden = 1",
    "x = eval('1')",
    "x = globals()",
    "x = type(items)",
    "x = (v for v in items).gi_frame.f_back",
])
def test_dangerous_scripts_are_refused_before_they_run(env, source):
    context = {"items": [1]}
    with pytest.raises(s.ScriptCompileError) as caught:
        env.execute(source, context)
    assert caught.value.errors and str(caught.value)
    assert isinstance(caught.value.lineno, int)
    assert s.check_source(source, "exec")
    assert context == {"items": [1]}


@pytest.mark.parametrize("expression", [
    "__import__('os').getpid()",
    "().__class__",
    "open('/etc/hostname').read()",
    "getattr(items, 'pop')()",
])
def test_dangerous_expressions_are_refused(env, expression):
    with pytest.raises(s.ScriptCompileError):
        env.evaluate(expression, {"items": [1]})
    assert s.check_source(expression, "eval")


def test_str_format_is_refused_at_run_time(env):
    with pytest.raises(NotImplementedError):
        env.execute("x = '{}'.format(1)", {})


def test_compile_errors_name_the_problem_and_line():
    err = s.ScriptCompileError(("Line 2: Imports are not allowed.",), "x = 1\nimport os\n")
    assert err.lineno == 2
    assert "Imports are not allowed" in str(err)
    assert s.ScriptCompileError(("Line 9: oops",), "x = 1").lineno == 0
    assert s.ScriptCompileError(("no line",), "x = 1").lineno == 0


def test_check_source():
    assert s.check_source("x = add_days(consultation_date, 14)", "exec") == []
    assert s.check_source("on_or_before(a, b) and not flag", "eval") == []
    assert s.check_source("x = 1\nimport os", "exec") == ["Line 2: Imports are not allowed."]
    assert any("SyntaxError" in e for e in s.check_source("x = (", "exec"))
    assert s.check_source("x = 1", "eval")  # a statement is not an expression
    with pytest.raises(ValueError):
        s.check_source("x", "single")


@pytest.mark.parametrize("key", ["now", "due_date", "is_current", "len", "sorted"])
def test_task_data_that_shadows_a_helper_or_builtin_is_refused(env, key):
    with pytest.raises(ValueError, match="overwrites a predefined function"):
        env.execute("x = 1", {key: "2025-06-05"})


def test_extra_globals_are_available_and_protected():
    env = s.RestrictedEnvironment({"team_of": lambda user: f"team-{user}"})
    context = {"user": "sam"}
    env.execute("team = team_of(user)", context)
    assert context == {"user": "sam", "team": "team-sam"}
    with pytest.raises(ValueError):
        env.execute("x = 1", {"team_of": "x"})


# ----------------------------------------------------------------------------- inside SpiffWorkflow

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="D" targetNamespace="t">
  <bpmn:process id="P" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="compute" scriptFormat="python">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>allocation_due = due_date("T1", green_tick_date)
allocation_breach_at = breach_at("T1", green_tick_date)
count = 0
for x in range(3):
    count += 1</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:exclusiveGateway id="gw" default="f_late"><bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f_ok</bpmn:outgoing><bpmn:outgoing>f_late</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="compute"/>
    <bpmn:sequenceFlow id="f2" sourceRef="compute" targetRef="gw"/>
    <bpmn:sequenceFlow id="f_ok" sourceRef="gw" targetRef="set_ok">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">on_or_before(allocation_due, "2025-01-22") and count == 3</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_late" sourceRef="gw" targetRef="set_late"/>
    <bpmn:scriptTask id="set_ok"><bpmn:incoming>f_ok</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:script>outcome = "on_time"</bpmn:script></bpmn:scriptTask>
    <bpmn:scriptTask id="set_late"><bpmn:incoming>f_late</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
      <bpmn:script>outcome = "late"</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end_ok"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end_late"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="set_ok" targetRef="end_ok"/>
    <bpmn:sequenceFlow id="f4" sourceRef="set_late" targetRef="end_late"/>
  </bpmn:process>
</bpmn:definitions>
"""


def run_workflow(bpmn: str, data: dict) -> BpmnWorkflow:
    parser = BpmnParser()
    parser.add_bpmn_str(bpmn.encode())
    engine = PythonScriptEngine(environment=s.RestrictedEnvironment())
    workflow = BpmnWorkflow(parser.get_spec("P"), parser.get_subprocess_specs("P"), script_engine=engine)
    workflow.task_tree.data.update(data)
    workflow.do_engine_steps()
    return workflow


def test_a_workflow_runs_under_the_restricted_environment():
    workflow = run_workflow(BPMN, {"green_tick_date": "2024-12-20"})
    assert workflow.is_completed()
    assert workflow.data["outcome"] == "on_time"
    assert workflow.data["allocation_breach_at"] == "2025-01-23T00:00:00+00:00"
    assert "due_date" not in workflow.data and "__builtins__" not in workflow.data


def test_a_refused_script_is_reported_with_its_line():
    bad = BPMN.replace("count = 0\n", "count = 0\nimport os\n")
    with pytest.raises(WorkflowTaskException) as caught:
        run_workflow(bad, {"green_tick_date": "2024-12-20"})
    assert caught.value.line_number == 4
    assert caught.value.error_line == "import os"
    assert "Imports are not allowed" in str(caught.value)


def test_a_run_time_error_is_reported_with_its_line():
    bad = BPMN.replace("count = 0\n", "count = 0\nboom = 1 / 0\n")
    with pytest.raises(WorkflowTaskException) as caught:
        run_workflow(bad, {"green_tick_date": "2024-12-20"})
    assert caught.value.line_number == 4
    assert "ZeroDivisionError" in str(caught.value)


def test_a_refused_gateway_expression_fails_the_gateway():
    bad = BPMN.replace('on_or_before(allocation_due, "2025-01-22")', "().__class__")
    with pytest.raises(WorkflowTaskException) as caught:
        run_workflow(bad, {"green_tick_date": "2024-12-20"})
    assert caught.value.error_type == "ScriptCompileError"


def test_task_data_named_like_a_helper_stops_the_workflow():
    with pytest.raises(WorkflowTaskException, match="overwrites a predefined function"):
        run_workflow(BPMN, {"green_tick_date": "2024-12-20", "today": "2025-01-01"})


def test_window_opens_setting_and_dates_in_words():
    configure({"meeting_recording_grace_wd": 3})
    assert s.window_opens("T6", "2025-04-02") == "2025-04-09"
    assert s.setting("meeting_recording_grace_wd") == 3
    assert s.long_date("2025-04-29") == "Tuesday 29 April 2025"
    assert s.long_time("2025-04-29T09:00:00+00:00") == "Tuesday 29 April 2025 at 10:00"
    with pytest.raises(KeyError):
        s.setting("calendar")
    with pytest.raises(ValueError, match="no lower edge"):
        s.window_opens("T1", "2025-04-02")
    reset_settings()
