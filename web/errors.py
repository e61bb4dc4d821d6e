"""One error format: JSON {"error", "fields"} under /api, a page elsewhere."""
from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from engine.definitions import DefinitionError
from engine.errors import StepwiseError
from engine.models import db


def wants_json() -> bool:
    return request.path.startswith("/api/")


def respond(status: int, message: str, fields: dict | None = None) -> Any:
    if wants_json():
        return jsonify(error=message, fields=fields or {}), status
    return render_template("error.html", status=status, message=message, fields=fields or {}), status


def register(app: Flask) -> None:
    @app.errorhandler(StepwiseError)
    def stepwise_error(exc: StepwiseError) -> Any:
        db.session.rollback()
        return respond(exc.status, exc.message, exc.fields)

    @app.errorhandler(DefinitionError)
    def definition_error(exc: DefinitionError) -> Any:
        db.session.rollback()
        return respond(400, "The diagram cannot be deployed", {"bpmn": "; ".join(exc.problems)})

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> Any:
        return respond(400, "Your session has expired or the form is out of date. Reload the page and try again.")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        messages = {413: "The request is too large", 404: "Page not found", 405: "Method not allowed"}
        return respond(exc.code or 500, messages.get(exc.code, exc.description or exc.name))
