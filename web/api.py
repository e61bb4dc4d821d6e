"""The JSON API (/api/v1): bearer tokens, JSON in and out, errors as {"error", "fields"}."""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, g, jsonify, request

from engine import definitions, family, runtime
from engine.access import DEFINITION_DEPLOYERS, DEFINITION_READERS, Actor
from engine.calendar import local_iso
from engine.errors import Forbidden, Invalid
from engine.models import Definition, Instance, Notification, User, db
from engine.worklist import Filters, page
from web.inputs import MAX_ID, int_arg, json_body
from web.presenters import instance_detail, instance_summary, task_json

bp = Blueprint("api", __name__, url_prefix="/api/v1")
MAX_PAGE = 100_000  # further than any client walks by number; past it, the OFFSET alone would be the cost


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_required(view: Callable) -> Callable:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        user = db.session.execute(
            db.select(User).filter_by(token_hash=token_hash(token))).scalar_one_or_none() if token else None
        if user is None:
            return jsonify(error="A valid bearer token is required"), 401
        g.actor = Actor.of(user)
        return view(*args, **kwargs)
    return wrapper


def body() -> dict:
    data = json_body()
    if not isinstance(data, dict):
        raise Invalid("The body must be a JSON object")
    return data


@bp.post("/instances")
@token_required
def start() -> Any:
    data = body()
    instance = runtime.start_instance(str(data.get("process") or ""), data.get("case_ref"), data.get("data"),
                                      g.actor, confirm_duplicate=data.get("confirm_duplicate") is True)
    return jsonify(instance_detail(instance, g.actor)), 201


@bp.get("/instances")
@token_required
def list_instances() -> Any:
    if request.args.get("family") == "1":
        return list_family()
    query = db.select(Instance).order_by(Instance.id)
    for name in ("process_id", "status", "case_ref"):
        value = request.args.get("process" if name == "process_id" else name)
        if value:
            query = query.where(getattr(Instance, name) == value)
    rows = [i for i in db.session.execute(query.limit(500)).scalars() if visible_instance(i)]
    return jsonify(instances=[instance_summary(i) for i in rows])


def list_family() -> Any:
    """The instances of a case's family (engine.family.related_instances), each with how it is linked."""
    case_ref = request.args.get("case_ref")
    if not case_ref:
        raise Invalid("Name the case whose family to list", {"case_ref": "required with family=1"})
    wanted = {name: request.args.get(arg) for name, arg in (("process_id", "process"), ("status", "status"))}
    rows = [r for r in family.related_instances(case_ref)
            if all(not value or getattr(r.instance, name) == value for name, value in wanted.items())
            and visible_instance(r.instance)]
    return jsonify(instances=[{**instance_summary(r.instance), "linked_by": list(r.linked_by)} for r in rows[:500]])


def visible_instance(instance: Instance) -> bool:
    try:
        runtime.get_instance(instance.id, g.actor)
    except Forbidden:
        return False
    return True


@bp.get("/instances/<int:instance_id>")
@token_required
def show_instance(instance_id: int) -> Any:
    instance = runtime.get_instance(instance_id, g.actor)
    return jsonify(instance_detail(instance, g.actor, record_view=True))


@bp.post("/instances/<int:instance_id>/events")
@token_required
def raise_event(instance_id: int) -> Any:
    data = body()
    instance = runtime.raise_event(instance_id, str(data.get("event") or ""), data.get("payload"), g.actor)
    return jsonify(instance_detail(instance, g.actor))


@bp.get("/tasks")
@token_required
def list_tasks() -> Any:
    args = request.args
    filters = Filters(mine=args.get("mine") == "1", lane=args.get("lane") or None, overdue=args.get("overdue") == "1",
                      case_ref=args.get("case_ref") or None, instance_id=int_arg("instance", None, high=MAX_ID),
                      page=int_arg("page", 1, high=MAX_PAGE), per_page=min(int_arg("per_page", 50) or 50, 200))
    return jsonify(tasks=[task_json(t) for t in page(db.session, g.actor, filters)])


@bp.get("/tasks/<task_id>")
@token_required
def show_task(task_id: str) -> Any:
    row, schema, view = runtime.task_view(task_id, g.actor)
    return jsonify({**task_json(row), "form": schema, "prefill": view["prefill"], "shown": view["shown"],
                    "instructions": view["instructions"]})


@bp.post("/tasks/<task_id>/claim")
@token_required
def claim(task_id: str) -> Any:
    return jsonify(task_json(runtime.claim(task_id, g.actor)))


@bp.post("/tasks/<task_id>/release")
@token_required
def release(task_id: str) -> Any:
    return jsonify(task_json(runtime.release(task_id, g.actor)))


@bp.post("/tasks/<task_id>/reassign")
@token_required
def reassign(task_id: str) -> Any:
    return jsonify(task_json(runtime.reassign(task_id, str(body().get("to") or ""), g.actor)))


@bp.post("/tasks/<task_id>/complete")
@token_required
def complete(task_id: str) -> Any:
    data = body()
    if "data" not in data:
        raise Invalid("The body must hold the form under 'data'", {"data": "required"})
    return jsonify(runtime.complete(task_id, data["data"], g.actor))


@bp.get("/notifications")
@token_required
def notifications() -> Any:
    query = db.select(Notification).filter_by(recipient=g.actor.username).order_by(Notification.id)
    instance_id = int_arg("instance", None, high=MAX_ID)
    if instance_id is not None:
        query = query.filter_by(instance_id=instance_id)
    return jsonify(notifications=[{
        "id": n.id, "instance_id": n.instance_id, "template": n.template, "subject": n.subject, "body": n.body,
        "created_at": local_iso(n.created_at), "read": n.read_at is not None,
    } for n in db.session.execute(query).scalars()])


@bp.get("/definitions")
@token_required
def list_definitions() -> Any:
    if not g.actor.roles & set(DEFINITION_READERS):
        raise Forbidden("Only analysts, administrators and managers can list the deployed diagrams")
    rows = db.session.execute(db.select(Definition).order_by(Definition.process_id, Definition.version)).scalars()
    return jsonify(definitions=[{"process": d.process_id, "version": d.version, "sha256": d.sha256,
                                 "deployed_by": d.deployed_by, "deployed_at": local_iso(d.deployed_at)}
                                for d in rows])


@bp.post("/definitions")
@token_required
def deploy() -> Any:
    if not g.actor.roles & set(DEFINITION_DEPLOYERS):
        raise Forbidden("Only an analyst can deploy diagrams")
    upload = request.files.get("bpmn")
    if upload is None:
        raise Invalid("Send the diagram as the multipart file 'bpmn'", {"bpmn": "required"})
    forms = {f.filename: f.read() for f in request.files.getlist("forms")}
    definition, created = definitions.deploy_upload(upload.read(), forms, g.actor.username)
    db.session.commit()
    return jsonify(process=definition.process_id, version=definition.version, created=created), (
        201 if created else 200)
