"""The ways an action is refused. Each maps to one HTTP status in the web layer."""
from __future__ import annotations


class StepwiseError(Exception):
    status = 400

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class Invalid(StepwiseError):
    status = 400


class Forbidden(StepwiseError):
    status = 403


class NotFound(StepwiseError):
    status = 404


class Conflict(StepwiseError):
    status = 409


class StepFailed(StepwiseError):
    """A step of the diagram or form could not run (a script error, or one stopped by its budget): the
    process, not the request, is at fault, and nothing was saved."""
    status = 422
