"""The analyst's page: deployed diagrams and their versions, and deploying a new version from a modeller."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from engine import definitions
from engine.access import DEFINITION_DEPLOYERS, DEFINITION_READERS
from engine.models import Definition, db
from web.auth import roles_required

bp = Blueprint("admin", __name__, url_prefix="/definitions")


@bp.get("/")
@roles_required(*DEFINITION_READERS)
def index() -> Any:
    rows = db.session.execute(db.select(Definition).order_by(Definition.process_id, Definition.version.desc()))
    return render_template("definitions.html", definitions=rows.scalars().all(), problems=[])


@bp.post("/")
@roles_required(*DEFINITION_DEPLOYERS)
def deploy() -> Any:
    upload = request.files.get("bpmn")
    if upload is None or not upload.filename:
        return refused(["Choose a BPMN file to deploy"])
    forms = {f.filename: f.read() for f in request.files.getlist("forms") if f.filename}
    try:
        definition, created = definitions.deploy_upload(upload.read(), forms, current_user.username)
    except definitions.DefinitionError as exc:
        db.session.rollback()
        return refused(exc.problems)
    db.session.commit()
    flash(f"{definition.process_id} version {definition.version} deployed." if created
          else f"{definition.process_id} version {definition.version} is already these exact files.")
    return redirect(url_for("admin.index"))


def refused(problems: list[str]) -> Any:
    rows = db.session.execute(db.select(Definition).order_by(Definition.process_id, Definition.version.desc()))
    return render_template("definitions.html", definitions=rows.scalars().all(), problems=problems), 400
