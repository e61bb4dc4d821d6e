"""Case pages: start a case, see where it stands, report a change, and the in-app notifications."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required

from engine import runtime
from engine.definitions import latest_definition
from engine.errors import Forbidden, Invalid, NotFound
from engine.models import Instance, Notification, db, utcnow
from web.auth import actor
from web.formfields import build, parse
from web.presenters import instance_detail
from web.worklist import users_for_forms

bp = Blueprint("instances", __name__)


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
        try:
            instance = runtime.start_instance(process_id, values.pop("case_ref", None), values, actor())
        except Invalid as exc:
            errors, status = exc.fields, 400
        else:
            flash(f"Case {instance.case_ref} started.")
            return redirect(url_for("instances.show", instance_id=instance.id))
    fields = build(schema, values, errors, users_for_forms())
    return render_template("start.html", process_id=process_id, fields=fields, errors=errors), status


@bp.get("/instances/<int:instance_id>")
@login_required
def show(instance_id: int) -> Any:
    instance = runtime.get_instance(instance_id, actor())
    detail = instance_detail(instance, actor(), record_view=True)
    return render_template("instance.html", instance=instance, detail=detail, now=utcnow())


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
    rows = db.session.execute(
        db.select(Instance).filter_by(case_ref=case_ref).order_by(Instance.created_at, Instance.id)).scalars()
    visible = [i for i in rows if can_view(i.id)]
    return render_template("case.html", case_ref=case_ref, instances=visible)


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
    db.session.execute(db.update(Notification).where(Notification.recipient == actor().username,
                                                     Notification.read_at.is_(None)).values(read_at=utcnow()))
    db.session.commit()
    return redirect(url_for("instances.notifications"))
