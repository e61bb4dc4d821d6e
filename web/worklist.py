"""The worker's pages: the worklist, a task's form, and claim / release / reassign / complete."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required

from engine import runtime
from engine.access import LANE_MANAGERS, Actor, can_act, manages, visible_roles
from engine.errors import Invalid
from engine.models import Definition, HumanTask, Instance, User, db, utcnow
from engine.worklist import Cursor, Filters, LaneCount, Window, lane_counts, total_overdue, window
from web.auth import actor
from web.formfields import build, error_links, parse
from web.presenters import data_rows

bp = Blueprint("worklist", __name__)
PER_PAGE = 25


def filters_from_args() -> Filters:
    args = request.args
    return Filters(mine=args.get("mine") == "1", lane=args.get("lane") or None, overdue=args.get("overdue") == "1",
                   case_ref=(args.get("case_ref") or "").strip() or None, per_page=PER_PAGE,
                   after=Cursor.parse(args.get("after")), before=Cursor.parse(args.get("before")))


def filter_args(f: Filters) -> dict[str, str]:
    """The filters as query arguments, so the page links keep them."""
    args = {"mine": "1" if f.mine else "", "overdue": "1" if f.overdue else "", "lane": f.lane or "",
            "case_ref": f.case_ref or ""}
    return {name: value for name, value in args.items() if value}


def lanes_for(me: Actor, counts: dict[str, LaneCount]) -> list[str]:
    """Lanes to filter by: the actor's own lanes, and any other lane that has a task they can see."""
    return sorted((visible_roles(me) & set(LANE_MANAGERS)) | {lane for lane in counts if lane})


def page_links(f: Filters, win: Window) -> dict[str, str | None]:
    args = filter_args(f)
    return {"next": url_for("worklist.index", **args, after=win.next.token()) if win.next else None,
            "previous": url_for("worklist.index", **args, before=win.previous.token()) if win.previous else None}


@bp.get("/")
@login_required
def index() -> Any:
    me = actor()
    filters = filters_from_args()
    win = window(db.session, me, filters)
    counts = lane_counts(db.session, me)
    return render_template("worklist.html", tasks=win.tasks, filters=filters, now=utcnow(), counts=counts,
                           lanes=lanes_for(me, counts), overdue_total=total_overdue(counts),
                           links=page_links(filters, win), args=filter_args(filters))


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
    definition, users = definition_of(row), users_for_forms()
    fields = build(schema, values if values is not None else view["prefill"], errors or {}, users)
    return render_template("task.html", task=row, schema=schema, fields=fields, errors=errors or {},
                           error_links=error_links(fields, errors or {}), warnings=warnings or [],
                           shown=shown_rows(definition, schema, view["context"]),
                           process_name=definition.name or row.process_id, instructions=view["instructions"],
                           can_act=can_act(me, row), manages=manages(me, row), now=utcnow(),
                           workers=users.get(row.lane or "", [])), status


def shown_rows(definition: Definition, schema: dict, context: dict) -> list[dict[str, Any]]:
    """The case facts the form shows beside its fields (x-show), in the forms' words. The case reference
    has a row of its own on the page."""
    shown = {name: context.get(name) for name in schema.get("x-show", []) if name != "case_ref"}
    return data_rows(definition, shown, by_title=False)


def definition_of(row: HumanTask) -> Definition:
    return db.session.get(Definition, db.session.get(Instance, row.instance_id).definition_id)


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
