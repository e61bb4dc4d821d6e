"""How tasks and instances look to the API and the pages: plain dicts, one shape for both."""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine import serialization
from engine.access import Actor
from engine.calendar import local_iso
from engine.definitions import ParsedDefinition, parsed_definition
from engine.diagram import flow_ids, with_lane_titles
from engine.models import Definition, Event, HumanTask, Instance, db, utcnow
from engine.transactions import write_operation
from engine.workflow import WaitingTimer, awaited_signals, taken_pairs, waiting_timers
from web.templating import NOT_ANSWERED, due, humanize, london, show


def iso(value: datetime | None) -> str | None:
    return local_iso(value)


def task_json(task: HumanTask) -> dict[str, Any]:
    now = utcnow()
    return {
        "task_id": task.id, "instance_id": task.instance_id, "process": task.process_id,
        "case_ref": task.case_ref, "bpmn_id": task.bpmn_id, "name": task.name, "lane": task.lane,
        "assignee": task.assignee, "claimed_by": task.claimed_by, "state": task.state,
        "waiting_since": iso(task.created_at), "due_at": iso(task.due_at),
        "overdue": bool(task.state == "open" and task.due_at and task.due_at < now),
        "completed_by": task.completed_by, "completed_at": iso(task.completed_at),
    }


def instance_summary(instance: Instance) -> dict[str, Any]:
    return {"id": instance.id, "process": instance.process_id, "case_ref": instance.case_ref,
            "status": instance.status, "outcome": instance.outcome, "created_at": iso(instance.created_at),
            "updated_at": iso(instance.updated_at), "flags": instance.flags or {}}


def history(instance: Instance) -> list[dict[str, Any]]:
    rows = db.session.execute(db.select(Event).filter_by(instance_id=instance.id).order_by(Event.id)).scalars()
    return [{"at": iso(e.at), "type": e.type, "actor": e.actor, "bpmn_id": e.bpmn_id, "task_id": e.task_id,
             "detail": e.detail} for e in rows]


def current_steps(instance: Instance) -> list[dict[str, Any]]:
    rows = db.session.execute(
        db.select(HumanTask).filter_by(instance_id=instance.id, state="open").order_by(HumanTask.created_at)
    ).scalars()
    return [task_json(t) for t in rows]


@write_operation
def record_case_view(instance_id: int, username: str) -> None:
    """Who looked at which child's record, and when, is part of the audit trail. Written as a write
    operation: on SQLite, a read transaction that turns into a write fails at once if another writer
    committed in between, where a write begun as one waits its turn."""
    db.session.add(Event(instance_id=instance_id, at=utcnow(), type="case_viewed", actor=username))


def instance_detail(instance: Instance, actor: Actor, record_view: bool = False) -> dict[str, Any]:
    if record_view:
        record_case_view(instance.id, actor.username)
    definition = db.session.get(Definition, instance.definition_id)
    workflow = serialization.loads(instance.serialized, parsed_definition(definition))
    return {
        **instance_summary(instance), "version": definition.version,
        "current_steps": current_steps(instance),
        "waiting_timers": [{"bpmn_id": t.bpmn_id, "name": t.name, "due_at": iso(t.due_at), "guards": t.guards,
                            "timescale": t.timescale} for t in waiting_timers(workflow)],
        "accepts_events": awaited_signals(workflow) if instance.status == "running" else [],
        "data": dict(instance.case_data or {}),
        "history": history(instance),
    }


# ---- the instance diagram ----------------------------------------------------------------------------

EVENT_LABELS = {
    "instance_started": "Case started", "task_claimed": "Claimed", "task_released": "Released",
    "task_reassigned": "Reassigned", "task_completed": "Completed", "timer_fired": "Timer fired",
    "deadline_breached": "Deadline breached", "event_raised": "Change reported",
    "notification_queued": "Notification sent", "service_called": "System step ran", "case_closed": "Case closed",
    "case_viewed": "Case opened", "step_failed": "Stopped by an error",
}


def diagram_state(instance: Instance) -> dict[str, Any]:
    """What the instance page draws on the diagram: its current, overdue and completed steps, the sequence
    flows taken, the waiting timers, and each step's history. One workflow is deserialized for it."""
    definition = db.session.get(Definition, instance.definition_id)
    parsed = parsed_definition(definition)
    workflow = serialization.loads(instance.serialized, parsed)
    steps = current_steps(instance)
    return {
        "process": instance.process_id, "status": instance.status, "xml": with_lane_titles(definition.bpmn_xml),
        "current": sorted({s["bpmn_id"] for s in steps}),
        "overdue": sorted({s["bpmn_id"] for s in steps if s["overdue"]}),
        "completed": completed_steps(workflow),
        "flows": sorted(flow_ids(definition.bpmn_xml, taken_pairs(workflow))),
        "timers": [timer_json(t) for t in waiting_timers(workflow)],
        "steps": step_history(instance, step_forms(definition, parsed)),
    }


def completed_steps(workflow: BpmnWorkflow) -> list[str]:
    return sorted({t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.COMPLETED)
                   if t.task_spec.bpmn_id})


def step_forms(definition: Definition, parsed: ParsedDefinition) -> dict[str, dict]:
    """Each user task's form schema by BPMN id, so recorded data is shown with the form's own words."""
    forms = {}
    for spec in all_specs(parsed):
        name = ((getattr(spec, "extensions", None) or {}).get("properties") or {}).get("formJsonSchemaFilename")
        if spec.bpmn_id and name in (definition.forms or {}):
            forms[spec.bpmn_id] = definition.forms[name]
    return forms


def timer_json(timer: WaitingTimer) -> dict[str, Any]:
    return {"bpmn_id": timer.bpmn_id, "name": timer.name, "due_at": iso(timer.due_at),
            "label": f"Due {due(timer.due_at)}", "timescale": timer.timescale, "guards": timer.guards}


def step_history(instance: Instance, forms: dict[str, dict]) -> dict[str, list[dict[str, Any]]]:
    """Each step's events, oldest first: who did what, when, with what data. A service step's own events
    name only its task, so they are placed by the service call that shares that task."""
    rows = db.session.execute(db.select(Event).filter_by(instance_id=instance.id).order_by(Event.id)).scalars().all()
    steps_of_tasks = {e.task_id: e.bpmn_id for e in rows if e.task_id and e.bpmn_id}
    steps: dict[str, list[dict[str, Any]]] = {}
    for event in rows:
        bpmn_id = event.bpmn_id or steps_of_tasks.get(event.task_id or "")
        if bpmn_id and event.type in EVENT_LABELS:
            steps.setdefault(bpmn_id, []).append(event_json(event, forms.get(bpmn_id, {})))
    return steps


def event_json(event: Event, form: dict) -> dict[str, Any]:
    return {"type": event.type, "what": EVENT_LABELS[event.type], "who": event.actor or "system",
            "at": iso(event.at), "when": london(event.at), "facts": event_facts(event.type, event.detail or {}, form)}


def event_facts(kind: str, detail: dict[str, Any], form: dict) -> list[list[str]]:
    """The event's detail as label/value pairs a person reads: the submitted form for a completed step."""
    if kind == "task_completed":
        facts = form_facts(detail.get("data") or {}, form)
        if detail.get("warnings"):
            facts.append(["Warnings accepted", ", ".join(detail["warnings"])])
        if detail.get("override"):
            facts.append(["Override", f"{detail['override'].get('rule')}: {detail['override'].get('reason')}"])
        return facts
    if kind in ("task_claimed", "task_reassigned"):
        return [["Now with", show(detail.get("claimed_by"))]]
    if kind in ("timer_fired", "deadline_breached"):
        return timer_facts(detail)
    return [[label(k), show(v)] for k, v in detail.items() if v not in (None, "", [], {})]


def timer_facts(detail: dict[str, Any]) -> list[list[str]]:
    facts = [["Due", due(detail.get("due"))]]
    if "lateness_seconds" in detail:
        facts.append(["Fired after the due time by", duration(float(detail["lateness_seconds"]))])
    if detail.get("timescale"):
        facts.append(["Timescale", str(detail["timescale"])])
    return facts


def duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} seconds"
    minutes = round(seconds / 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [(days, "day"), (hours, "hour"), (minutes, "minute")]
    return ", ".join(f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n) or "under a minute"


def form_facts(data: dict[str, Any], schema: dict) -> list[list[str]]:
    """Submitted fields with the form's titles and choice labels; a sub-form's fields get rows of their own."""
    rows: list[list[str]] = []
    for key, value in data.items():
        prop = (schema.get("properties") or {}).get(key, {})
        if isinstance(value, dict) and value:
            rows += form_facts(value, prop)
        elif value not in (None, ""):
            rows.append([prop.get("title") or label(key), choice(value, prop)])
    return rows


def choice(value: Any, prop: dict) -> str:
    """One value as the form put it: a choice's label, a date written out, Yes or No."""
    labels = prop.get("x-labels") or {}
    if str(value) in labels:
        return labels[str(value)]
    if "enum" in prop and value is not None:
        return humanize(str(value))
    return written_out(value) if isinstance(value, str) else show(value)


def written_out(value: str) -> str:
    """ISO dates and instants (from a form, or set by a script step) as a person writes them."""
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return date.fromisoformat(value).strftime("%-d %B %Y")
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}T[\d:.]+([+-]\d{2}:\d{2}|Z)", value):
            return london(value)
    except ValueError:
        pass
    return value


# ---- case data as the forms name it ----------------------------------------------------------------------

def field_props(definition: Definition) -> dict[str, dict]:
    """Every top-level field of a process's forms by name (the start form's first), for titles and labels."""
    forms = definition.forms or {}
    start = forms.get(f"{definition.process_id}-start.json")
    props: dict[str, dict] = {}
    for schema in ([start] if start else []) + [forms[name] for name in sorted(forms)]:
        for name, prop in (schema.get("properties") or {}).items():
            props.setdefault(name, prop)
    return props


def readable(value: Any, prop: dict) -> list[str]:
    """A value as lines a person reads; a sub-form gives a line per field, a list a line per item."""
    if isinstance(value, dict):
        subs = prop.get("properties") or {}
        named_first = sorted(value.items(), key=lambda item: item[0] != "name")  # "Sam Smith" before the rest
        return [f"{subs.get(k, {}).get('title') or label(k)}: {'; '.join(readable(v, subs.get(k, {})))}"
                for k, v in named_first if k != "id" and v not in (None, "", [], {})]
    if isinstance(value, list):
        return ["; ".join(readable(item, prop.get("items") or {})) for item in value]
    return [choice(value, prop)]


def data_rows(definition: Definition, data: dict[str, Any], by_title: bool = True,
              answered: set[str] | None = None) -> list[dict[str, Any]]:
    """Case data for a summary list: the form's title for each field, and its value as lines; in the order
    given, or by title. Given the names people have answered, a form's field that only a script has set so
    far (a default a step clears on opening) is not yet an answer."""
    props = field_props(definition)
    rows = [{"key": props.get(name, {}).get("title") or label(name),
             "lines": [NOT_ANSWERED] if answered is not None and name in props and name not in answered
             else readable(value, props.get(name, {}))}
            for name, value in data.items() if value not in (None, "", [], {})]
    return sorted(rows, key=lambda row: row["key"].lower()) if by_title else rows


def all_specs(parsed: ParsedDefinition) -> list:
    """The task specs of the process and of its sub-processes."""
    specs = [*parsed.spec.task_specs.values()]
    for sub in parsed.subprocess_specs.values():
        specs += sub.task_specs.values()
    return specs


def step_names(definition: Definition) -> dict[str, str]:
    return {spec.bpmn_id: spec.bpmn_name or spec.bpmn_id for spec in all_specs(parsed_definition(definition))
            if spec.bpmn_id}


def label(key: str) -> str:
    return key.replace("_", " ").capitalize()
