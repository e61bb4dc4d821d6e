"""The manager's dashboard: where every case of a process stands, and how its timescales are kept."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import Blueprint, abort, jsonify, render_template, request
from werkzeug.datastructures import MultiDict

from engine import reports
from engine.definitions import latest_definition
from engine.models import Definition, db
from engine.reports import Period
from web.auth import roles_required

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")
MANAGER_ROLES = ("manager", "admin", "svc_mgr", "sw_tm", "fp_tm", "rtm", "ps_mgr", "cog_mgr", "saat_tm", "spoc_mgr",
                 "cm_tm")
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


def figures(process_id: str, period: Period) -> Figures:
    definition = latest_definition(process_id)
    return Figures(
        waiting=reports.waiting_by_step(process_id),
        names=reports.step_names(definition.bpmn_xml) if definition else {},
        overdue=reports.overdue_tasks(process_id),
        compliance=reports.compliance(process_id, period),
        bounce_back=reports.bounce_back(period),
        lateness=reports.timer_lateness(period, process_id),
        lateness_all=reports.timer_lateness(period),
    )


@bp.get("/")
@roles_required(*MANAGER_ROLES)
def index() -> Any:
    processes = process_names()
    process_id = request.args.get("process") or next(iter(processes), "")
    if process_id and process_id not in processes:
        abort(404)
    period, errors = period_from(request.args)
    shown = figures(process_id, period) if process_id and not errors else None
    values = {"from": request.args.get("from") or period.first.isoformat(),
              "to": request.args.get("to") or period.last.isoformat()}
    return render_template(
        "dashboard.html", processes=processes, process_id=process_id, period=period, values=values,
        errors=errors, error_list=[{"text": text, "href": f"#{field}"} for field, text in errors.items()],
        options=[{"value": p, "text": name, "selected": p == process_id} for p, name in processes.items()],
        figures=shown, seconds=seconds,
        step_down_names=[processes.get(p, p.replace("_", " ").capitalize()) for p in reports.STEP_DOWN_PROCESSES],
        overdue_by={key: reports.totals(shown.overdue, key) for key in ("lane", "team")} if shown else {},
    ), (400 if errors else 200)


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
    return jsonify(process=process_id, version=definition.version, xml=definition.bpmn_xml,
                   counts=reports.waiting_by_step(process_id))
