"""Signing in and out. A failed sign-in says nothing about which part was wrong, and is rate-limited."""
from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from functools import lru_cache, wraps
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from engine import throttle
from engine.access import Actor
from engine.models import User, db, utcnow

bp = Blueprint("auth", __name__)
GENERIC_FAILURE = "The username or password is not right."


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=80)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


@lru_cache(maxsize=1)
def dummy_hash() -> str:
    """A hash to check a password against when the username is unknown, so both answers take as long."""
    return generate_password_hash(secrets.token_hex(16))


def authenticate(username: str, password: str) -> User | None:
    user = db.session.execute(db.select(User).filter_by(username=username)).scalar_one_or_none()
    if user is None:
        check_password_hash(dummy_hash(), password)
        return None
    return user if user.check_password(password) else None


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("login.html", form=form, error=form.errors and GENERIC_FAILURE), (
            400 if request.method == "POST" else 200)
    username, address = form.username.data, request.remote_addr or "unknown"
    if throttle.blocked(username, address):
        return render_template("login.html", form=form,
                               error="Too many failed attempts. Wait a few minutes and try again."), 429
    user = authenticate(username, form.password.data)
    if user is None:
        throttle.record_failure(username, address)
        return render_template("login.html", form=form, error=GENERIC_FAILURE), 401
    throttle.record_success(username, address)
    session.clear()  # nothing from before the sign-in carries over into the signed-in session
    session.permanent = True
    login_user(user)
    now = int(utcnow().timestamp())
    session.update(generation=user.session_generation, signed_in_at=now, seen_at=now)
    return redirect(safe_next(request.args.get("next")))


def safe_next(target: str | None) -> str:
    """A path on this site only. Browsers drop tabs and newlines from a URL and read a backslash as a
    slash, so "/%09/evil.example/" would be "//evil.example/": another site."""
    cleaned = re.sub(r"[\x00-\x20\x7f]", "", target or "").replace("\\", "/")
    parts = urlsplit(cleaned)
    if not cleaned.startswith("/") or cleaned.startswith("//") or parts.scheme or parts.netloc:
        return url_for("worklist.index")
    return cleaned


def session_is_current(user: User) -> bool:
    """Signed in under the user's current generation, within the absolute lifetime and the idle time-out."""
    now = int(utcnow().timestamp())
    lifetime = current_app.permanent_session_lifetime.total_seconds()
    idle = current_app.config["SESSION_IDLE_MINUTES"] * 60
    current = (session.get("generation") == user.session_generation
               and now - session.get("signed_in_at", 0) <= lifetime and now - session.get("seen_at", 0) <= idle)
    if current:
        session["seen_at"] = now
    else:
        session.clear()
    return current


@bp.post("/logout")
@login_required
def logout() -> Any:
    """Ends the session on the server too: every cookie signed in before now stops working."""
    current_user.session_generation = (current_user.session_generation or 0) + 1
    db.session.commit()
    logout_user()
    session.clear()
    flash("You have signed out.")
    return redirect(url_for("auth.login"))


def actor() -> Actor:
    return Actor.of(current_user)


def roles_required(*roles: str) -> Callable:
    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)
        return wrapper
    return decorator
