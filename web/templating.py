"""Template filters and globals: times in Europe/London, values as a person reads them, unread count."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, send_from_directory
from flask_login import current_user
from sqlalchemy import func, select

from engine.models import Notification, db

LONDON = ZoneInfo("Europe/London")
GOVUK_ASSETS = Path(__file__).resolve().parent / "static" / "vendor" / "govuk-frontend" / "assets"


def london(value: datetime | None) -> str:
    return value.astimezone(LONDON).strftime("%a %d %b %Y %H:%M") if value else "—"


def show(value: Any) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, dict):
        return "; ".join(f"{k.replace('_', ' ')}: {show(v)}" for k, v in value.items() if v not in (None, ""))
    if isinstance(value, list):
        return " · ".join(show(v) for v in value)
    return "—" if value is None else str(value)


def unread_count() -> dict[str, int]:
    if not current_user.is_authenticated:
        return {"unread_count": 0}
    count = db.session.execute(select(func.count()).select_from(Notification).where(
        Notification.recipient == current_user.username, Notification.read_at.is_(None))).scalar_one()
    return {"unread_count": count}


def register(app: Flask) -> None:
    app.add_template_filter(london)
    app.add_template_filter(show)
    app.context_processor(unread_count)

    # govuk-frontend's stylesheet asks for its fonts and images under /assets.
    @app.get("/assets/<path:filename>")
    def govuk_assets(filename: str) -> Any:
        return send_from_directory(GOVUK_ASSETS, filename, max_age=86400)
