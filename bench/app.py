"""The app on the bench database: schema, one user per role with an API token, and the deployed diagram."""
from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy import func, select

from bench.errors import BenchError
from engine import settings
from engine.definitions import deploy_file, forget_parsed
from engine.models import Instance, User, db
from web import create_app
from web.cli import issue_token

DIAGRAM = Path(__file__).resolve().parent.parent / "processes" / "stepdown_locality.bpmn"
ROLES = ["sw", "sw_tm", "fp_tm", "fp_pm", "fsw", "svc_mgr", "manager"]


def make_app(database_url: str) -> Flask:
    settings.reset_settings()
    forget_parsed()
    return create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True, "SECRET_KEY": "bench"})


def prepare(app: Flask) -> dict[str, str]:
    """Create the schema, the users and the definition; returns each user's token (username = role)."""
    with app.app_context():
        db.create_all()
        if db.session.execute(select(func.count()).select_from(Instance)).scalar_one():
            raise BenchError(f"{db.engine.url!r} is not empty: the figures depend on the instance count")
        tokens = {role: issue_token(api_user(role)) for role in ROLES}
        deploy_file(DIAGRAM, deployed_by="bench")
        db.session.commit()
    return tokens


def api_user(role: str) -> User:
    # Token-only users: no password, so no key-stretching hash to wait for.
    user = User(username=role, display_name=role.upper(), roles=[role], teams=[], password_hash="!")
    db.session.add(user)
    return user


def instance_count(app: Flask) -> int:
    with app.app_context():
        count = db.session.execute(select(func.count()).select_from(Instance)).scalar_one()
        db.session.rollback()
        return count


def close(app: Flask) -> None:
    """Let go of the database files, so a temporary directory can be removed."""
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
