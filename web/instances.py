"""Case pages: start a case, see where it stands, report a change, and the in-app notifications."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from engine import family, runtime
from engine.definitions import latest_definition
from engine.errors import Forbidden, Invalid, NotFound
from engine.models import Definition, Notification, db, utcnow
from web.auth import actor
from web.dashboard import MANAGER_ROLES
from web.formfields import build, error_links, parse
from web.inputs import int_arg
from web.presenters import EVENT_LABELS, data_rows, diagram_state, instance_detail, step_names
from web.timeline import folded
from web.worklist import users_for_forms

bp = Blueprint("instances", __name__)

LINK_LABELS = {family.BY_CASE_REF: "Case reference", family.BY_CHILD_ID: "Child id",
               family.BY_NAME_DOB: "Child's name and date of birth"}


def start_schema(process_id: str) -> dict:
    definition = latest_definition(process_id)
    if definition is None:
        raise NotFound(f"There is no deployed process called {process_id}")
    return definition.forms.get(f"{process_id}-start.json", {"type": "object", "properties": {}})


@bp.route("/instances/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    process_id = request.values.get("process", "stepdown_locality")
    schema = start_schema(process_id)
    values, errors, status = {}, {}, 200
    if request.method == "POST":
        values = parse(schema, request.form)
        # An empty box is "" here, so the schema says "Enter ..." rather than "must be string".
        data = {name: value for name, value in values.items() if name != "case_ref"}
        try:
            instance = runtime.start_instance(process_id, values.get("case_ref", ""), data, actor())
        except Invalid as exc:
            errors, status = exc.fields, 400
        else:
            flash(f"Case {instance.case_ref} started.")
            return redirect(url_for("instances.show", instance_id=instance.id))
    fields = build(schema, values, errors, users_for_forms())
    return render_template("start.html", process_id=process_id, fields=fields, errors=errors,
                           error_links=error_links(fields, errors), schema=schema,
                           process_name=latest_definition(process_id).name or process_id), status


@bp.get("/instances/<int:instance_id>")
@login_required
def show(instance_id: int) -> Any:
    instance = runtime.get_instance(instance_id, actor())
    detail = instance_detail(instance, actor(), record_view=True)
    definition = db.session.get(Definition, instance.definition_id)
    return render_template("instance.html", instance=instance, detail=detail, now=utcnow(),
                           timeline=folded(detail["history"]), can_audit=current_user.has_role(*MANAGER_ROLES),
                           process_name=definition.name or instance.process_id,
                           data_rows=data_rows(definition, detail["data"]), step_names=step_names(definition),
                           event_labels=EVENT_LABELS)


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
    payload = {k: v for k, v in request.form.items() if k not in ("csrf_token", "event")}
    runtime.raise_event(instance_id, request.form.get("event", ""), payload, actor())
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
    one = int_arg("id", None, source=request.form)
    if one is not None:
        query = query.where(Notification.id == one)
    db.session.execute(query.values(read_at=utcnow()))
    db.session.commit()
    flash("Notification marked as read." if one is not None else "All notifications marked as read.")
    return redirect(url_for("instances.notifications"))
