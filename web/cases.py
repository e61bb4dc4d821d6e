"""The Cases page: a manager finds any case they may see by case reference or child's name, and filters by
process, status, step, lane, overdue and team. The dashboard's counts link here with the filters that
give the cases behind them."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request, url_for
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from engine import cases, runtime
from engine.cases import STATUSES, CaseCursor, CaseFilters, CasePage
from engine.definitions import latest_definition, parsed_definition
from engine.diagram import lane_titles
from engine.models import Definition, InstanceChild, db, utcnow
from web.auth import actor, roles_required
from web.dashboard import MANAGER_ROLES, process_names
from web.presenters import EVENT_LABELS, all_specs, history, record_case_view, step_names

bp = Blueprint("cases", __name__)
PER_PAGE = 25
MAX_SEARCH = 200
MAX_ID = 100
STATUS_WORDS = {"running": "In progress", "completed": "Finished", "cancelled": "Cancelled", "error": "Error"}
FILTER_NAMES = ("q", "process", "status", "step", "lane", "overdue", "team")


def checked_filters(args: MultiDict, processes: dict[str, str]) -> tuple[CaseFilters, dict[str, str]]:
    """The filters from the query string, and an error for each value that cannot be one (named by field)."""
    errors: dict[str, str] = {}
    search = (args.get("q") or "").strip()
    if len(search) > MAX_SEARCH:
        errors["q"] = f"The case reference or child's name must be {MAX_SEARCH} characters or fewer"
    process = args.get("process") or None
    if process and process not in processes:
        errors["process"] = "Select a process from the list"
    status = args.get("status") or None
    if status and status not in STATUSES:
        errors["status"] = "Select a status from the list"
    for name in ("step", "lane", "team"):
        if len(args.get(name) or "") > MAX_ID:
            errors[name] = f"The {name} must be {MAX_ID} characters or fewer"
    filters = CaseFilters(search=search or None, process=process, status=status, step=args.get("step") or None,
                          lane=args.get("lane") or None, overdue=args.get("overdue") == "1",
                          team=args.get("team") or None, per_page=PER_PAGE,
                          after=CaseCursor.parse(args.get("after")), before=CaseCursor.parse(args.get("before")))
    return filters, errors


def filter_args(args: MultiDict) -> dict[str, str]:
    """The filters as given, so the page links keep them."""
    return {name: args[name] for name in FILTER_NAMES if args.get(name)}


def page_links(args: dict[str, str], found: CasePage) -> dict[str, str | None]:
    return {"next": url_for("cases.index", **args, after=found.next.token()) if found.next else None,
            "previous": url_for("cases.index", **args, before=found.previous.token()) if found.previous else None}


def children_of(instance_ids: list[int]) -> dict[int, list[str]]:
    names: dict[int, list[str]] = {i: [] for i in instance_ids}
    if instance_ids:
        rows = db.session.execute(select(InstanceChild.instance_id, InstanceChild.name)
                                  .where(InstanceChild.instance_id.in_(instance_ids)).order_by(InstanceChild.id))
        for instance_id, name in rows:
            names[instance_id].append(name)
    return names


def lane_names(processes: dict[str, str]) -> dict[str, str]:
    """Every lane of the latest diagrams by role id, with its title."""
    titles: dict[str, str] = {}
    for process_id in processes:
        definition = latest_definition(process_id)
        for lane, title in lane_titles(definition.bpmn_xml).items():
            titles.setdefault(lane, title)
    return dict(sorted(titles.items(), key=lambda item: item[1].lower()))


def step_choices(process_id: str | None) -> dict[str, str]:
    """The steps a person works at (user tasks) of a process's latest diagram, by id."""
    definition = latest_definition(process_id) if process_id else None
    if definition is None:
        return {}
    return {spec.bpmn_id: spec.bpmn_name or spec.bpmn_id for spec in all_specs(parsed_definition(definition))
            if spec.bpmn_id and type(spec).__name__ == "UserTask"}


@bp.get("/cases/")
@roles_required(*MANAGER_ROLES)
def index() -> Any:
    processes = process_names()
    filters, errors = checked_filters(request.args, processes)
    found = cases.page(db.session, actor(), filters) if not errors else CasePage([], None, None)
    ids = [i.id for i in found.cases]
    args = filter_args(request.args)
    return render_template(
        "cases.html", filters=filters, values=args, errors=errors, found=found, now=utcnow(),
        error_list=[{"text": text, "href": f"#{field}"} for field, text in errors.items()],
        processes=processes, steps=cases.open_steps(db.session, ids), children=children_of(ids),
        lanes=lane_names(processes), step_options=step_choices(filters.process), teams=cases.teams(db.session),
        no_team=cases.NO_TEAM, status_words=STATUS_WORDS, links=page_links(args, found) if not errors else {},
    ), (400 if errors else 200)


@bp.get("/instances/<int:instance_id>/audit")
@roles_required(*MANAGER_ROLES)
def audit(instance_id: int) -> Any:
    """Every event of a case, each read of it included, as recorded: the audit trail the timeline folds."""
    instance = runtime.get_instance(instance_id, actor())
    record_case_view(instance.id, actor().username)
    definition = db.session.get(Definition, instance.definition_id)
    return render_template("audit.html", instance=instance, events=history(instance), event_labels=EVENT_LABELS,
                           process_name=definition.name or instance.process_id, step_names=step_names(definition))
