"""The analyst's processes: every deployed version, its diagram read-only, its files as a zip, and moving
running cases onto another version (a dry run per case, then the move)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from engine import migration, versions
from engine.definitions import latest_definition
from engine.errors import Conflict, Invalid, NotFound
from engine.models import db
from web.auth import roles_required

bp = Blueprint("processes", __name__, url_prefix="/processes")
VIEWERS = ("analyst", "manager", "admin")
MOVERS = ("analyst", "manager", "admin")


@bp.get("/")
@roles_required(*VIEWERS)
def index() -> Any:
    return render_template("processes.html", processes=versions.processes())


@bp.get("/<process_id>/<int:version>")
@roles_required(*VIEWERS)
def show(process_id: str, version: int) -> Any:
    definition = versions.get_version(process_id, version)
    return render_template("process_version.html", definition=definition)


@bp.get("/<process_id>/<int:version>/diagram.json")
@roles_required(*VIEWERS)
def diagram(process_id: str, version: int) -> Any:
    definition = versions.get_version(process_id, version)
    return jsonify(process=process_id, version=version, xml=versions.with_lane_titles(definition.bpmn_xml))


@bp.get("/<process_id>/<int:version>/download")
@roles_required(*VIEWERS)
def download(process_id: str, version: int) -> Any:
    definition = versions.get_version(process_id, version)
    filename = f"{process_id}-v{version}.zip"
    return Response(versions.bundle(definition), mimetype="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def target_version(process_id: str, raw: str | None) -> int:
    latest = latest_definition(process_id)
    if latest is None:
        raise NotFound(f"There is no deployed process called {process_id}")
    if raw in (None, ""):
        return latest.version
    if not raw.isdigit() or len(raw) > 6:
        raise Invalid("Choose a version to move the cases to", {"to": "must be a version number"})
    versions.get_version(process_id, int(raw))
    return int(raw)


def move_page(process_id: str, version: int, errors: dict[str, str], chosen: set[str], status: int = 200) -> Any:
    plans = migration.dry_run_all(process_id, version)
    return render_template("process_move.html", process_id=process_id, version=version, plans=plans,
                           errors=errors, chosen=chosen,
                           definition=versions.get_version(process_id, version)), status


@bp.get("/<process_id>/move")
@roles_required(*MOVERS)
def move_form(process_id: str) -> Any:
    return move_page(process_id, target_version(process_id, request.args.get("to")), {}, set())


def chosen_cases(values: list[str]) -> dict[int, int]:
    """Each ticked box is "<instance id>:<revision shown in the dry run>"."""
    chosen = {}
    for value in values:
        instance_id, _, revision = value.partition(":")
        if not (instance_id.isdigit() and revision.isdigit() and len(value) < 40):
            raise Invalid("Choose cases from the list", {"case": "is not a case from the dry run"})
        chosen[int(instance_id)] = int(revision)
    return chosen


@bp.post("/<process_id>/move")
@roles_required(*MOVERS)
def move(process_id: str) -> Any:
    version = target_version(process_id, request.form.get("to"))
    ticked = request.form.getlist("case")
    if request.form.get("scope") == "all":
        ticked = [f"{p.instance_id}:{p.revision}" for p in migration.dry_run_all(process_id, version) if p.can_move]
    if not ticked:
        return move_page(process_id, version, {"case": "Choose at least one case to move"}, set(), 400)
    moved, refused = move_each(chosen_cases(ticked), version)
    if refused:
        return move_page(process_id, version, refused, set(ticked), 409 if moved == 0 else 200)
    flash(f"{moved} {'case' if moved == 1 else 'cases'} moved to version {version}.")
    return redirect(url_for("processes.move_form", process_id=process_id, to=version))


def move_each(chosen: dict[int, int], version: int) -> tuple[int, dict[str, str]]:
    """Each case in its own transaction: one that changed meanwhile, or cannot move, is reported, not moved."""
    moved, refused = 0, {}
    for instance_id, revision in chosen.items():
        try:
            migration.move_case(instance_id, version, current_user.username, expected_revision=revision)
            moved += 1
        except (Conflict, Invalid, NotFound) as exc:
            db.session.rollback()
            refused[f"case-{instance_id}"] = exc.message
    return moved, refused
