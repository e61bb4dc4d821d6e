"""Case pages: start a case, see where it stands, report a change, and the in-app notifications."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from engine import family, roles, runtime
from engine.errors import Conflict, Forbidden, Invalid
from engine.models import Definition, Instance, Notification, db, utcnow
from web.auth import actor
from web.dashboard import MANAGER_ROLES
from web.formfields import build, error_links, parse
from web.inputs import MAX_ID, int_arg
from web.presenters import EVENT_LABELS, data_rows, diagram_state, instance_detail, step_names
from web.timeline import folded
from web.worklist import users_for_forms

bp = Blueprint("instances", __name__)

LINK_LABELS = {family.BY_CASE_REF: "Case reference", family.BY_CHILD_ID: "Child id",
               family.BY_NAME_DOB: "Child's name and date of birth"}


def start_schema(definition: Definition) -> dict:
    return (definition.forms or {}).get(f"{definition.process_id}-start.json", {"type": "object", "properties": {}})


@bp.get("/start")
@login_required
def choose() -> Any:
    """The processes this person's roles may start, in the diagrams' own words."""
    offered = [{"id": d.process_id, "name": d.name or d.process_id,
                "description": start_schema(d).get("description", ""),
                "starters": sorted(roles.role_titles().get(r, r) for r in roles.roles_of(d).starts)}
               for d in roles.startable(actor())]
    return render_template("choose.html", offered=offered)


@bp.route("/instances/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    process_id = request.values.get("process", "")
    if not process_id:
        return redirect(url_for("instances.choose"))
    definition = runtime.startable_definition(process_id, actor())
    if request.method == "GET":
        return start_page(definition, {}, {})
    values = parse(start_schema(definition), request.form)
    if request.form.get("add_another"):
        # Another empty row for the next child; nothing is checked until the form is sent.
        values["children"] = [*values.get("children", []), {}]
        return start_page(definition, values, {})
    return started(definition, values)


def started(definition: Definition, values: dict) -> Any:
    # An empty box is "" here, so the schema says "Enter ..." rather than "must be string".
    data = {name: value for name, value in values.items() if name != "case_ref"}
    confirm = request.form.get("confirm_duplicate") == "yes"
    try:
        instance = runtime.start_instance(definition.process_id, values.get("case_ref", ""), data, actor(),
                                          confirm_duplicate=confirm)
    except runtime.Duplicate as exc:
        return start_page(definition, values, {}, running=exc.running, status=409)
    except Invalid as exc:
        return start_page(definition, values, exc.fields, status=400)
    flash(f"Case {instance.case_ref} started.")
    return redirect(url_for("instances.show", instance_id=instance.id))


def start_page(definition: Definition, values: dict, errors: dict, running: Instance | None = None,
               status: int = 200) -> Any:
    schema = start_schema(definition)
    fields = build(schema, values, errors, users_for_forms(), min_rows=1)
    links = error_links(fields, errors)
    if running is not None:
        links.insert(0, {"text": f"Case {running.case_ref} already has a {definition.name} in progress",
                         "href": "#running-case"})
    return render_template("start.html", process_id=definition.process_id, fields=fields, errors=errors,
                           error_links=links, schema=schema, process_name=definition.name or definition.process_id,
                           running=running), status


@bp.get("/instances/<int:instance_id>")
@login_required
def show(instance_id: int) -> Any:
    return render_instance(instance_id)


def render_instance(instance_id: int, change: dict | None = None, change_errors: dict | None = None,
                    status: int = 200) -> Any:
    """The case page; a refused change report comes back to it with what was typed and what to fix."""
    instance = runtime.get_instance(instance_id, actor())
    detail = instance_detail(instance, actor(), record_view=status == 200)
    definition = db.session.get(Definition, instance.definition_id)
    errors = change_errors or {}
    links = [{"text": text, "href": f"#{CHANGE_ANCHORS.get(name, name)}"} for name, text in errors.items()]
    return render_template("instance.html", instance=instance, detail=detail, now=utcnow(),
                           timeline=folded(detail["history"]), can_audit=current_user.has_role(*MANAGER_ROLES),
                           process_name=definition.name or instance.process_id,
                           data_rows=data_rows(definition, detail["data"], answered=answered(detail["history"])),
                           step_names=step_names(definition), event_labels=EVENT_LABELS,
                           change=change or {}, change_errors=errors, error_links=links,
                           change_labels=CHANGE_LABELS), status


CHANGE_LABELS = {"consent_withdrawn": "Consent withdrawn", "new_safeguarding_concern": "New safeguarding concern"}
CHANGE_ANCHORS = {"event": "event"}


def answered(events: list[dict]) -> set[str]:
    """The names a person has given a value for: the start form's and every completed step's."""
    return {name for e in events if e["type"] in ("instance_started", "task_completed")
            for name in ((e.get("detail") or {}).get("data") or {})}


@bp.get("/instances/<int:instance_id>/diagram.json")
@login_required
def diagram(instance_id: int) -> Any:
    """The diagram and where the case is on it, for the instance page's viewer (read with the page, whose
    view is already recorded)."""
    instance = runtime.get_instance(instance_id, actor())
    response = jsonify(diagram_state(instance))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/instances/<int:instance_id>/events")
@login_required
def report_change(instance_id: int) -> Any:
    event = request.form.get("event", "")
    # Only the chosen change's own fields are sent: the boxes of the other kind are on the same form.
    names = runtime.CHANGE_REPORT_FIELDS.get(event, [])
    typed = {name: request.form.get(name, "") for name in runtime.CHANGE_REPORT_MISSING}
    try:
        runtime.raise_event(instance_id, event, {name: typed[name] for name in names}, actor())
    except (Invalid, Conflict) as exc:
        return render_instance(instance_id, {"event": event, **typed},
                               exc.fields or {"event": exc.message}, status=exc.status)
    flash("The change has been recorded and the step down has stopped.")
    return redirect(url_for("instances.show", instance_id=instance_id))


@bp.get("/cases/<case_ref>")
@login_required
def case(case_ref: str) -> Any:
    """Every instance of the family: this case reference's, and other systems' that name one of its children."""
    visible = [related for related in family.related_instances(case_ref) if can_view(related.instance.id)]
    names = dict(db.session.execute(db.select(Definition.id, Definition.name)).all())
    return render_template("case.html", case_ref=case_ref, family=visible, names=names, link_labels=LINK_LABELS)


def can_view(instance_id: int) -> bool:
    try:
        runtime.get_instance(instance_id, actor())
    except Forbidden:
        return False
    return True


@bp.get("/notifications")
@login_required
def notifications() -> Any:
    rows = db.session.execute(db.select(Notification).filter_by(recipient=actor().username)
                              .order_by(Notification.id.desc()).limit(200)).scalars().all()
    return render_template("notifications.html", notifications=rows)


@bp.post("/notifications/read")
@login_required
def mark_read() -> Any:
    """Mark one notification read (the form's `id`), or all of this person's."""
    query = db.update(Notification).where(Notification.recipient == actor().username,
                                          Notification.read_at.is_(None))
    one = int_arg("id", None, high=MAX_ID, source=request.form)
    if one is not None:
        query = query.where(Notification.id == one)
    db.session.execute(query.values(read_at=utcnow()))
    db.session.commit()
    flash("Notification marked as read." if one is not None else "All notifications marked as read.")
    return redirect(url_for("instances.notifications"))
