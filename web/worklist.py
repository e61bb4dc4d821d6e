"""The worker's pages: the worklist, a task's form, and claim / release / reassign / complete."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required

from engine import runtime
from engine.access import can_act, manages, visible_roles
from engine.errors import Invalid
from engine.models import User, db, utcnow
from engine.worklist import Filters, counts_by_lane, page
from web.auth import actor
from web.formfields import build, parse

bp = Blueprint("worklist", __name__)
PER_PAGE = 25


def filters_from_args() -> Filters:
    args = request.args
    return Filters(mine=args.get("mine") == "1", lane=args.get("lane") or None, overdue=args.get("overdue") == "1",
                   case_ref=(args.get("case_ref") or "").strip() or None,
                   page=max(args.get("page", 1, type=int), 1), per_page=PER_PAGE)


@bp.get("/")
@login_required
def index() -> Any:
    me = actor()
    filters = filters_from_args()
    tasks = page(db.session, me, filters)
    return render_template("worklist.html", tasks=tasks, filters=filters, now=utcnow(),
                           counts=counts_by_lane(db.session, me), lanes=sorted(visible_roles(me)),
                           has_next=len(tasks) == PER_PAGE)


def users_for_forms() -> dict[str, list[tuple[str, str]]]:
    choices: dict[str, list[tuple[str, str]]] = {}
    for user in db.session.execute(db.select(User).order_by(User.display_name)).scalars():
        for role in user.roles or []:
            choices.setdefault(role, []).append((user.username, user.display_name))
    return choices


def render_task(task_id: str, values: dict | None = None, errors: dict | None = None,
                warnings: list | None = None, status: int = 200) -> Any:
    me = actor()
    row, schema, view = runtime.task_view(task_id, me)
    fields = build(schema, values if values is not None else view["prefill"], errors or {}, users_for_forms())
    shown = {name: view["context"].get(name) for name in schema.get("x-show", [])}
    return render_template("task.html", task=row, schema=schema, fields=fields, errors=errors or {},
                           warnings=warnings or [], shown=shown, instructions=view["instructions"],
                           can_act=can_act(me, row), manages=manages(me, row), now=utcnow(),
                           workers=users_for_forms().get(row.lane or "", [])), status


@bp.get("/tasks/<task_id>")
@login_required
def task(task_id: str) -> Any:
    return render_task(task_id)


@bp.post("/tasks/<task_id>/claim")
@login_required
def claim(task_id: str) -> Any:
    runtime.claim(task_id, actor())
    flash("You have claimed this task.")
    return redirect(url_for("worklist.task", task_id=task_id))


@bp.post("/tasks/<task_id>/release")
@login_required
def release(task_id: str) -> Any:
    runtime.release(task_id, actor())
    flash("The task is back in the team's worklist.")
    return redirect(url_for("worklist.index"))


@bp.post("/tasks/<task_id>/reassign")
@login_required
def reassign(task_id: str) -> Any:
    runtime.reassign(task_id, request.form.get("to", ""), actor())
    flash("The task has been reassigned.")
    return redirect(url_for("worklist.task", task_id=task_id))


@bp.post("/tasks/<task_id>/complete")
@login_required
def complete(task_id: str) -> Any:
    _, schema, _ = runtime.task_view(task_id, actor())
    data = parse(schema, request.form)
    if request.form.get("acknowledge_warnings") != "1":
        warnings = runtime.preview_warnings(task_id, data, actor())
        if warnings:
            return render_task(task_id, data, warnings=warnings)
    try:
        result = runtime.complete(task_id, data, actor())
    except Invalid as exc:
        return render_task(task_id, data, exc.fields, status=400)
    flash("Done. The case has moved on.")
    return redirect(url_for("instances.show", instance_id=result["instance_id"]))
