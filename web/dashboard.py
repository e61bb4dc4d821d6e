"""The manager's dashboard: where every case of a process stands."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

from engine import reports
from engine.models import Definition, db
from web.auth import roles_required

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")
MANAGER_ROLES = ("manager", "admin", "svc_mgr", "sw_tm", "fp_tm", "rtm", "ps_mgr", "cog_mgr", "saat_tm", "spoc_mgr")


@bp.get("/")
@roles_required(*MANAGER_ROLES)
def index() -> Any:
    processes = sorted(set(db.session.execute(db.select(Definition.process_id)).scalars()))
    process_id = request.args.get("process") or (processes[0] if processes else "")
    return render_template("dashboard.html", processes=processes, process_id=process_id,
                           waiting=reports.waiting_by_step(process_id))
