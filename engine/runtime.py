"""The actions people and timers take on a case: start it, claim and complete its tasks, raise events."""
from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import SignalEventDefinition
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import update

from engine import caserecord, cases, family, forms, roles, serialization
from engine.access import Actor, can_act, can_view_instance, manages
from engine.calendar import local_iso
from engine.definitions import latest_definition, parsed_definition
from engine.errors import Conflict, Forbidden, Invalid, NotFound
from engine.family import known_facts
from engine.models import Definition, Event, HumanTask, Instance, User, db, utcnow
from engine.store import Loaded, attach, definition_of, load, remember, save
from engine.transactions import write_operation

CASE_REF_LENGTH = Instance.case_ref.type.length

def form_schema(definition: Definition, name: str | None) -> dict:
    return (definition.forms or {}).get(name or "", {"type": "object", "properties": {}})


def users_by_role(schema: dict) -> dict[str, set[str]]:
    """The users holding each role a form's user fields name (x-user-role); no query for a form with none."""
    if not any(prop.get("x-user-role") for prop in (schema.get("properties") or {}).values()):
        return {}
    roles: dict[str, set[str]] = {}
    for user in db.session.execute(db.select(User)).scalars():
        for role in user.roles or []:
            roles.setdefault(role, set()).add(user.username)
    return roles


# ---- starting ---------------------------------------------------------------------------------------

class Duplicate(Conflict):
    """A second running case of a process for one case reference, refused until the worker confirms it."""

    def __init__(self, running: Instance, process_name: str) -> None:
        super().__init__(f"Case {running.case_ref} already has a {process_name} in progress (case {running.id}, "
                         f"/instances/{running.id}). Confirm that a second one is intended to start it.",
                         {"case_ref": f"{running.case_ref} already has a {process_name} in progress",
                          "confirm_duplicate": "true starts a second one on purpose"})
        self.running = running


def startable_definition(process_id: str, actor: Actor) -> Definition:
    definition = latest_definition(process_id)
    if definition is None:
        raise NotFound(f"There is no deployed process called {process_id}")
    if not roles.may_start(actor, definition):
        raise Forbidden(f"Your role may not start a {definition.name or process_id}")
    return definition


def running_duplicate(process_id: str, case_ref: Any) -> Instance | None:
    if not isinstance(case_ref, str):
        return None
    return db.session.execute(db.select(Instance).filter_by(process_id=process_id, case_ref=case_ref,
                                                            status="running").order_by(Instance.id).limit(1)
                              ).scalar_one_or_none()


@write_operation
def start_instance(process_id: str, case_ref: Any, data: Any, actor: Actor, confirm_duplicate: bool = False
                   ) -> Instance:
    definition = startable_definition(process_id, actor)
    if isinstance(case_ref, str) and len(case_ref) > CASE_REF_LENGTH:
        raise Invalid("The case details are not complete",
                      {"case_ref": f"Case reference must be at most {CASE_REF_LENGTH} characters"})
    schema = form_schema(definition, f"{process_id}-start.json")
    given = data if isinstance(data, dict) else {}
    payload = {**facts_for(schema, case_ref, given), **given, "case_ref": case_ref}
    result = forms.validate(schema, payload, {}, actor.username, users_by_role(schema))
    errors = {**result.errors, **family.child_errors(data)}
    if not isinstance(data, dict) or errors:
        raise Invalid("The case details are not complete", errors or {"data": "must be an object"})
    running = running_duplicate(process_id, case_ref)
    if running is not None and not confirm_duplicate:
        raise Duplicate(running, definition.name or process_id)
    start_data = with_child_ids(result.data)
    return create_instance(definition, start_data, actor, duplicate_of=running.id if running else None)


def facts_for(schema: dict, case_ref: Any, data: Any = None) -> dict:
    """Start fields marked x-case-fact are filled, unless given, from the earlier instances of the case
    reference or of the start data's children (another system's reference for the same family)."""
    wanted = [name for name, prop in (schema.get("properties") or {}).items() if prop.get("x-case-fact")]
    if not wanted or not isinstance(case_ref, str):
        return {}
    facts = known_facts(case_ref, data)
    return {name: facts[name] for name in wanted if name in facts}


def with_child_ids(data: dict) -> dict:
    children = [dict(child) for child in data.get("children") or []]
    for child in children:
        child.setdefault("id", uuid4().hex[:12])
    return {**data, "children": children} if children else data


def create_instance(definition: Definition, data: dict, actor: Actor, duplicate_of: int | None = None) -> Instance:
    parsed = parsed_definition(definition)
    workflow = BpmnWorkflow(parsed.spec, parsed.subprocess_specs)
    workflow.task_tree.data.update(data)
    instance = Instance(definition_id=definition.id, process_id=definition.process_id, case_ref=data["case_ref"],
                        case_key=cases.case_key(data["case_ref"]), team=cases.team_of(data),
                        serialized="", revision=0, started_by=actor.username, participants=[actor.username],
                        flags={}, case_data=caserecord.start_record(data), created_at=utcnow(),
                        updated_at=utcnow())
    db.session.add(instance)
    db.session.flush()
    family.record_children(instance, data)
    loaded = Loaded(instance, workflow, attach(instance, workflow, actor.username), 0, [], set(), definition)
    # A second running case for one reference is kept only when the worker said it is intended: say so.
    extra = {"confirmed_duplicate_of": duplicate_of} if duplicate_of else {}
    loaded.ctx.record("instance_started", data=data, **extra)
    workflow.do_engine_steps()
    save(loaded)
    return instance


# ---- tasks --------------------------------------------------------------------------------------------

def get_row(task_id: str) -> HumanTask:
    row = db.session.get(HumanTask, task_id) if is_uuid(task_id) else None
    if row is None:
        raise NotFound("There is no such task")
    return row


def is_uuid(value: str) -> bool:
    try:
        UUID(value)
    except (TypeError, ValueError):
        return False
    return True


def finished_message(row: HumanTask) -> str:
    if row.state == "completed":
        when = row.completed_at.isoformat(timespec="seconds") if row.completed_at else "earlier"
        return f"This task was completed by {row.completed_by} at {when}."
    return "This task is no longer waiting: the case has moved on."


def open_row_for(task_id: str, actor: Actor) -> HumanTask:
    row = get_row(task_id)
    if not (can_act(actor, row) or manages(actor, row)):
        raise Forbidden("This task belongs to another team's lane")
    if row.state != "open":
        raise Conflict(finished_message(row))
    return row


@write_operation
def claim(task_id: str, actor: Actor) -> HumanTask:
    row = open_row_for(task_id, actor)
    if not can_act(actor, row):
        raise Forbidden("Only a worker in this task's lane can claim it")
    return set_claim(row, actor.username, expected=None, event="task_claimed", actor=actor)


@write_operation
def release(task_id: str, actor: Actor) -> HumanTask:
    row = open_row_for(task_id, actor)
    if row.claimed_by != actor.username and not manages(actor, row):
        raise Forbidden("Only the worker who claimed this task, or its manager, can release it")
    return set_claim(row, None, expected=row.claimed_by, event="task_released", actor=actor)


@write_operation
def reassign(task_id: str, to_username: str, actor: Actor) -> HumanTask:
    row = open_row_for(task_id, actor)
    if not manages(actor, row):
        raise Forbidden("Only a manager of this lane can reassign its tasks")
    target = db.session.execute(db.select(User).filter_by(username=to_username)).scalar_one_or_none()
    if target is None or not can_act(Actor.of(target), row):
        raise Invalid("Choose a worker who holds this task's role", {"to": "not a worker in this lane"})
    return set_claim(row, to_username, expected=row.claimed_by, event="task_reassigned", actor=actor)


def set_claim(row: HumanTask, username: str | None, expected: str | None, event: str, actor: Actor) -> HumanTask:
    if event == "task_claimed" and row.claimed_by not in (None, actor.username):
        raise Conflict(f"This task is already claimed by {row.claimed_by}.")
    result = db.session.execute(
        update(HumanTask).where(HumanTask.id == row.id, HumanTask.state == "open",
                                HumanTask.claimed_by.is_(expected) if expected is None
                                else HumanTask.claimed_by == expected)
        .values(claimed_by=username).execution_options(synchronize_session=False)
    )
    if result.rowcount != 1 and not (event == "task_claimed" and row.claimed_by == actor.username):
        db.session.rollback()
        raise Conflict("Someone else changed this task at the same time. Reload and try again.")
    db.session.add(Event(instance_id=row.instance_id, at=utcnow(), type=event, actor=actor.username,
                         bpmn_id=row.bpmn_id, task_id=row.id, detail={"claimed_by": username}))
    db.session.commit()
    db.session.refresh(row)
    return row


def task_view(task_id: str, actor: Actor) -> tuple[HumanTask, dict, dict]:
    """A task with its form schema, prefill and the read-only values it shows, for a worker who may see it."""
    row = get_row(task_id)
    if not (can_act(actor, row) or manages(actor, row)):
        raise Forbidden("This task belongs to another team's lane")
    instance = db.session.get(Instance, row.instance_id)
    definition = definition_of(instance)
    workflow = serialization.loads(instance.serialized, parsed_definition(definition))
    task = workflow.get_task_from_id(UUID(row.id))
    schema = form_schema(definition, schema_name(task))
    context = forms.form_context(schema, dict(task.data) if task is not None else {})
    return row, schema, {"context": context, "prefill": forms.defaults(schema, context),
                         "shown": forms.shown(schema, context), "instructions": instructions_of(task)}


def schema_name(task: Task | None) -> str | None:
    if task is None:
        return None
    props = (getattr(task.task_spec, "extensions", None) or {}).get("properties", {})
    return props.get("formJsonSchemaFilename")


def instructions_of(task: Task | None) -> str:
    if task is None:
        return ""
    return (getattr(task.task_spec, "extensions", None) or {}).get("instructionsForEndUser") or ""


@write_operation
def complete(task_id: str, submitted: Any, actor: Actor) -> dict:
    row = open_row_for(task_id, actor)
    if not can_act(actor, row):
        raise Forbidden("Only a worker in this task's lane can complete it")
    if row.claimed_by not in (None, actor.username):
        raise Forbidden(f"This task is claimed by {row.claimed_by}")
    loaded = load(row.instance_id, actor.username)
    instance = loaded.instance
    task = loaded.workflow.get_task_from_id(UUID(task_id))
    if task is None or task.state != TaskState.READY or not task.task_spec.manual:
        save_quietly(loaded)
        raise Conflict(finished_message(db.session.get(HumanTask, task_id, populate_existing=True)))
    schema = form_schema(loaded.definition, schema_name(task))
    result = validated(schema, task, submitted, actor)
    loaded.ctx.record("task_completed", row.bpmn_id, task_id, data=result.data,
                      warnings=[w["code"] for w in result.warnings],
                      **({"override": result.overrides[0]} if result.overrides else {}))
    task.set_data(**{**unset_fields(task, schema), **result.data})
    task.run()
    loaded.workflow.do_engine_steps()
    remember(instance, actor.username)
    save(loaded, completed={task_id: (actor.username, result.data)})
    return {"instance_id": instance.id, "warnings": result.warnings, "overrides": result.overrides,
            "status": instance.status}


def unset_fields(task: Task, schema: dict) -> dict[str, None]:
    """Fields the worker left empty exist as None, so a gateway can test them and a case data object the
    step writes is written; a value an earlier round recorded is kept."""
    names = set(schema.get("properties") or {})
    names |= {ref.bpmn_id for ref in getattr(task.task_spec, "data_output_associations", None) or []}
    return {name: None for name in names if name not in task.data}


def validated(schema: dict, task: Task, submitted: Any, actor: Actor) -> forms.FormResult:
    result = forms.validate(schema, submitted, dict(task.data), actor.username, users_by_role(schema))
    if not result.ok:
        db.session.rollback()
        raise Invalid("The form has errors", result.errors)
    return result


def preview_warnings(task_id: str, submitted: Any, actor: Actor) -> list[dict]:
    """The warnings a submission would record, so a person can confirm them first; nothing is saved."""
    row, schema, view = task_view(task_id, actor)
    result = forms.validate(schema, submitted, view["context"], actor.username, users_by_role(schema))
    return result.warnings if result.ok and row.state == "open" else []


def save_quietly(loaded: Loaded) -> None:
    """Keep what the timers did while the user's action was refused."""
    if not loaded.ctx.history:
        return
    try:
        save(loaded)
    except Conflict:
        pass


# ---- events -------------------------------------------------------------------------------------------

CHANGE_REPORT_FIELDS = {"consent_withdrawn": ["details", "withdrawn_by_name", "withdrawn_by_relationship", "method"],
                        "new_safeguarding_concern": ["details"]}

CHANGE_REPORT_MISSING = {"details": "Enter what has changed",
                         "withdrawn_by_name": "Enter the name of the person who withdrew consent",
                         "withdrawn_by_relationship": "Enter their relationship to the child",
                         "method": "Enter how consent was withdrawn"}


def change_report(event: str, payload: Any, actor: Actor) -> dict:
    if not isinstance(payload, dict):
        raise Invalid("The change report must be an object of field values", {"payload": "must be an object"})
    required = CHANGE_REPORT_FIELDS[event]
    unknown = sorted(set(payload) - set(required))
    if unknown:
        raise Invalid(f"The change report has fields it does not take: {', '.join(unknown)}",
                      {name: "is not a field of this change report" for name in unknown})
    missing = {name: CHANGE_REPORT_MISSING[name] for name in required if not str(payload.get(name) or "").strip()}
    if missing:
        raise Invalid("The change report is not complete", missing)
    report = {k: payload[k] for k in required}
    return {"type": event, **report, "reported_at": local_iso(utcnow()), "reported_by": actor.username}


@write_operation
def raise_event(instance_id: int, event: str, payload: Any, actor: Actor) -> Instance:
    if event not in CHANGE_REPORT_FIELDS:
        raise Invalid(f"Unknown event {event}" if event else "Select what has changed",
                      {"event": f"Select what has changed: one of {', '.join(CHANGE_REPORT_FIELDS)}"})
    instance = get_instance(instance_id, actor)
    if instance.status != "running":
        raise Conflict(f"This case has {instance.status}: it takes no more changes")
    report = change_report(event, payload, actor)
    loaded = load(instance, actor.username)
    try:
        loaded.workflow.send_event(BpmnEvent(SignalEventDefinition(event), payload=report))
    except WorkflowException as exc:
        save_quietly(loaded)
        raise Conflict(f"This case is not waiting for {event}: {exc}") from exc
    loaded.workflow.do_engine_steps()
    loaded.ctx.record("event_raised", event=event, report=report)
    remember(instance, actor.username)
    save(loaded)
    return instance


def get_instance(instance_id: int, actor: Actor) -> Instance:
    instance = db.session.get(Instance, instance_id)
    if instance is None:
        raise NotFound("There is no such case instance")
    open_tasks = db.session.execute(
        db.select(HumanTask).filter_by(instance_id=instance.id, state="open")).scalars().all()
    if not can_view_instance(actor, instance, list(open_tasks)):
        raise Forbidden("You do not take part in this case")
    return instance


# ---- timers ---------------------------------------------------------------------------------------------

@write_operation
def advance(instance: Instance, actor: str | None = None) -> None:
    """Fire whatever is due on one instance (the timer sweep)."""
    loaded = load(instance, actor)
    save(loaded)
