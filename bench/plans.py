"""The database's plans for the queries the worklist and the idle sweep really run (captured as they run)."""
from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from sqlalchemy import event, select

from engine.access import Actor
from engine.models import User, db
from engine.timers import TimerWorker, run_due
from engine.worklist import Filters, page


def explain(app: Flask, role: str) -> dict[str, list[str]]:
    with app.app_context():
        actor = Actor.of(db.session.execute(select(User).filter_by(username=role)).scalar_one())
        db.session.rollback()
        plans = {
            f"(b) worklist {role}": plan_of(lambda: page(db.session, actor, Filters(lane=role))),
            f"(b) {role}'s worklist, every lane (info)": plan_of(lambda: page(db.session, actor, Filters())),
            "(c) idle sweep": plan_of(run_due),
            "(c) idle worker loop": plan_of(TimerWorker(app).sweep_once),
        }
        db.session.rollback()
        return plans


def plan_of(action: Callable[[], object]) -> list[str]:
    """The plan of every SELECT the action sends to the database, in order."""
    statements: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    db.session.rollback()
    return [line for number, (statement, parameters) in enumerate(statements, start=1)
            for line in [f"SELECT #{number}", *explained(statement, parameters)]]


def explained(statement: str, parameters: object) -> list[str]:
    connection = db.session.connection()
    if db.engine.dialect.name == "sqlite":
        return [f"  {row[-1]}" for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)]
    return [f"  {row[0]}" for row in connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)]
