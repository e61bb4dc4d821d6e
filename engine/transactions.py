"""Write transactions. SQLite has one writer: a write operation takes the lock when it begins, so two
savers queue instead of failing, while reads never take it. PostgreSQL relies on the revision check."""
from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from functools import wraps
from typing import Any, TypeVar

from SpiffWorkflow.exceptions import WorkflowException
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from engine.budget import ScriptLimitError
from engine.errors import Conflict, StepFailed
from engine.models import db

_writing: ContextVar[bool] = ContextVar("_writing", default=False)
F = TypeVar("F", bound=Callable[..., Any])


def write_operation(fn: F) -> F:
    """Run fn in a fresh transaction that may write; any failure rolls it back before the error leaves."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if _writing.get():
            return fn(*args, **kwargs)
        db.session.commit()  # end the caller's read transaction: the write must see the latest state
        token = _writing.set(True)
        try:
            result = fn(*args, **kwargs)
            db.session.commit()  # never leave the write lock held by a read made after the save
            return result
        except IntegrityError as exc:
            db.session.rollback()
            raise Conflict("Someone else changed this case at the same time. Reload and try again.") from exc
        except WorkflowException as exc:
            db.session.rollback()
            raise StepFailed(failure_reason(exc)) from exc
        except BaseException:
            db.session.rollback()
            raise
        finally:
            _writing.reset(token)

    return wrapper  # type: ignore[return-value]


def failure_reason(exc: WorkflowException) -> str:
    """Which element failed and why, in the words a person reads in the case history."""
    spec = getattr(exc, "task_spec", None)
    element = getattr(spec, "bpmn_id", None) or getattr(spec, "name", None) or "a step"
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, ScriptLimitError):
        return f"{element} was stopped: {cause}"
    return f"{element} failed: {exc}"


def configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _writing.get() else "BEGIN")
