"""The manager's dashboard: where every case of a process stands, and how its timescales are kept."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import Blueprint, abort, jsonify, render_template, request
from werkzeug.datastructures import MultiDict

from engine import reports
from engine.access import Actor, managing_roles, visible_roles
from engine.cases import has_cases
from engine.definitions import latest_definition
from engine.diagram import lane_titles, with_lane_titles
from engine.models import Definition, db
from engine.reports import Period
from web.auth import actor, roles_required

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")
# The oversight roles, every lane manager (practice managers included) and the CM TM, who reviews closures.
MANAGER_ROLES = tuple(sorted(managing_roles() | {"cm_tm"}))
DEFAULT_MONTHS = 3
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(9998, 12, 31)


@dataclass(frozen=True)
class Figures:
    waiting: dict[str, int]
    names: dict[str, str]
    overdue: list[reports.Overdue]
    compliance: list[reports.Compliance]
    bounce_back: list[reports.BounceBack]
    lateness: reports.Lateness
    lateness_all: reports.Lateness


def process_names() -> dict[str, str]:
    """Process id -> the name its latest deployed version gives it."""
    rows = db.session.execute(db.select(Definition.process_id, Definition.name).order_by(Definition.version))
    return dict(sorted({process_id: name for process_id, name in rows}.items()))


def parse_day(value: str | None, default: date, label: str, errors: dict[str, str], field: str) -> date:
    if not value:
        return default
    try:
        day = date.fromisoformat(value)
    except ValueError:
        errors[field] = f"The {label} date must be a real date, for example {default.isoformat()}"
        return default
    if not FIRST_DAY <= day <= LAST_DAY:  # a period's ends become instants, which must fit the datetime range
        errors[field] = f"The {label} date must be between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}"
        return default
    return day


def period_from(args: MultiDict) -> tuple[Period, dict[str, str]]:
    default = Period.last_months(DEFAULT_MONTHS)
    errors: dict[str, str] = {}
    first = parse_day(args.get("from"), default.first, "start", errors, "from")
    last = parse_day(args.get("to"), default.last, "end", errors, "to")
    if not errors and first > last:
        errors["from"] = "The start date must be on or before the end date"
    return Period(first, last), errors


def figures(process_id: str, period: Period, lanes: list[str] | None) -> Figures:
    definition = latest_definition(process_id)
    return Figures(
        waiting=reports.waiting_by_step(process_id, lanes),
        names=reports.step_names(definition.bpmn_xml) if definition else {},
        overdue=reports.overdue_tasks(process_id, lanes=lanes),
        compliance=reports.compliance(process_id, period),
        bounce_back=reports.bounce_back(period),
        lateness=reports.timer_lateness(period, process_id),
        lateness_all=reports.timer_lateness(period),
    )


@bp.get("/")
@roles_required(*MANAGER_ROLES)
def index() -> Any:
    processes = process_names()
    process_id = request.args.get("process") or opening_process(processes)
    if process_id and process_id not in processes:
        abort(404)
    period, errors = period_from(request.args)
    lanes = lanes_of(actor())
    shown = figures(process_id, period, lanes) if process_id and not errors else None
    definition = latest_definition(process_id) if process_id else None
    values = {"from": request.args.get("from") or period.first.isoformat(),
              "to": request.args.get("to") or period.last.isoformat()}
    return render_template(
        "dashboard.html", processes=processes, process_id=process_id, period=period, values=values,
        errors=errors, error_list=[{"text": text, "href": f"#{field}"} for field, text in errors.items()],
        options=[{"value": p, "text": name, "selected": p == process_id} for p, name in processes.items()],
        figures=shown, seconds=seconds, lanes=lanes, no_lane=reports.NO_LANE,
        lane_titles=lane_titles(definition.bpmn_xml) if definition else {},
        step_down_names=[processes.get(p, p.replace("_", " ").capitalize()) for p in reports.STEP_DOWN_PROCESSES],
        overdue_by={key: reports.totals(shown.overdue, key) for key in ("lane", "team")} if shown else {},
    ), (400 if errors else 200)


def opening_process(processes: dict[str, str]) -> str:
    """The first process with running cases, else with any case, else the first deployed: a manager's
    first look shows cases, not an empty process."""
    for status in ("running", None):
        for process_id in processes:
            if has_cases(db.session, process_id, status):
                return process_id
    return next(iter(processes), "")


def lanes_of(me: Actor) -> list[str] | None:
    """The lanes whose counts this manager sees: every lane for oversight roles, else the lanes they manage."""
    return None if me.oversees else sorted(visible_roles(me))


def seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:g}\N{NO-BREAK SPACE}s"


@bp.get("/heatmap.json")
@roles_required(*MANAGER_ROLES)
def heatmap() -> Any:
    """The latest diagram of a process and how many cases wait at each of its steps, for the viewer."""
    process_id = request.args.get("process") or ""
    definition = latest_definition(process_id)
    if definition is None:
        abort(404)
    return jsonify(process=process_id, version=definition.version, xml=with_lane_titles(definition.bpmn_xml),
                   counts=reports.waiting_by_step(process_id, lanes_of(actor())))
