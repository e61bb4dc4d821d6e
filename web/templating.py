"""Template filters and globals: times in Europe/London, values as a person reads them, the navigation,
and the Content-Security-Policy every page is served under."""
from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, Response, g, request, send_from_directory, url_for
from flask_login import current_user
from sqlalchemy import func, select

from engine.models import Notification, db
from engine.roles import role_titles
from web.formfields import component

LONDON = ZoneInfo("Europe/London")
GOVUK_ASSETS = Path(__file__).resolve().parent / "static" / "vendor" / "govuk-frontend" / "assets"
# Scripts only from our own static files (plus the page template's one-line "js-enabled" script, by nonce).
# Inline style attributes stay allowed: sizes and positions drawn from data (a chart's bars, a diagram's
# overlays) are set that way, and a style attribute cannot run code.
CSP = ("default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
       "form-action 'self'; frame-ancestors 'none'")


def local(value: datetime | str | None) -> datetime | None:
    """Presenters hand over ISO strings, models datetimes; either as London wall-clock time."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if value else None
    return value.astimezone(LONDON) if value else None


def london(value: datetime | str | None) -> str:
    """An instant as a person in England reads it: "Wed 5 Jan 2027 at 14:00"."""
    moment = local(value)
    return moment.strftime("%a %-d %b %Y at %H:%M") if moment else "—"


def due(value: datetime | str | None) -> str:
    """A deadline in words. A day's deadline is breached at the midnight after it, so that midnight is shown
    as the end of the due date: "Wed 5 Jan 2027, end of day", not "Thu 6 Jan 2027 at 00:00"."""
    if isinstance(value, str) and len(value) == 10:  # the last day allowed, as a date
        return f"{date.fromisoformat(value).strftime('%a %-d %b %Y')}, end of day"
    moment = local(value)
    if moment is None:
        return "—"
    if (moment.hour, moment.minute, moment.second) == (0, 0, 0):
        return f"{(moment - timedelta(days=1)).strftime('%a %-d %b %Y')}, end of day"
    return london(moment)


NOT_ANSWERED = "Not yet answered"


def show(value: Any) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, dict):
        return "; ".join(f"{k.replace('_', ' ')}: {show(v)}" for k, v in value.items() if v not in (None, ""))
    if isinstance(value, list):
        return " · ".join(show(v) for v in value)
    return NOT_ANSWERED if value is None else str(value)


def humanize(value: str | None) -> str:
    """A role, state or outcome id as words: "not_agreed_remained" -> "Not agreed remained"."""
    return (value or "").replace("_", " ").capitalize()


def unread_count() -> int:
    if not current_user.is_authenticated:
        return 0
    return db.session.execute(select(func.count()).select_from(Notification).where(
        Notification.recipient == current_user.username, Notification.read_at.is_(None))).scalar_one()


def is_manager() -> bool:
    from web.dashboard import MANAGER_ROLES
    return bool(current_user.is_authenticated and current_user.has_role(*MANAGER_ROLES))


def navigation() -> list[dict[str, Any]]:
    """The service navigation's links, the current page's marked."""
    count = unread_count()
    badge = (f' <strong class="govuk-tag govuk-tag--red app-count" id="unread-count">{count}'
             '<span class="govuk-visually-hidden"> unread</span></strong>') if count else ""
    items = [("Worklist", "worklist.index", "worklist."), ("Start a case", "instances.choose", "instances.choose")]
    if is_manager():
        items += [("Dashboard", "dashboard.index", "dashboard."), ("Cases", "cases.index", "cases.")]
    if current_user.has_role("analyst", "manager", "admin"):
        items.append(("Processes", "processes.index", "processes."))
    items.append((f"Notifications{badge}", "instances.notifications", "instances.notifications"))
    endpoint = request.endpoint or ""
    return [{"html": text, "href": url_for(target), "current": endpoint.startswith(prefix)}
            for text, target, prefix in items]


def role_title(role: str | None) -> str:
    """A lane or role as people call it ("sw_tm" -> "Social Work Team Manager / Locality Team Manager")."""
    if not role:
        return "—"
    if "role_titles" not in g:
        g.role_titles = role_titles()
    return g.role_titles.get(role, humanize(role))


def signed_in_as() -> str:
    if not current_user.is_authenticated:
        return ""
    titles = ", ".join(role_title(role) for role in current_user.roles or [])
    return f"{current_user.display_name} ({titles})" if titles else current_user.display_name


def csp_nonce() -> str:
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def page_globals() -> dict[str, Any]:
    return {"cspNonce": csp_nonce(), "navigation": navigation, "signed_in_as": signed_in_as}


def secure_headers(response: Response) -> Response:
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", CSP.format(nonce=csp_nonce()))
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def register(app: Flask) -> None:
    app.add_template_filter(london)
    app.add_template_filter(due)
    app.add_template_filter(role_title)
    app.add_template_filter(show)
    app.add_template_filter(humanize)
    app.add_template_global(component)
    app.context_processor(page_globals)
    app.after_request(secure_headers)

    # govuk-frontend's stylesheet asks for its fonts and images under /assets.
    @app.get("/assets/<path:filename>")
    def govuk_assets(filename: str) -> Any:
        return send_from_directory(GOVUK_ASSETS, filename, max_age=86400)
