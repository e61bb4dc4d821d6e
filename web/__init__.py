"""The Stepwise web app: worklist, case pages and the JSON API over the engine."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask, Response, request
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect
from jinja2 import ChoiceLoader, PackageLoader, PrefixLoader

from engine import settings
from engine.models import User, db
from engine.transactions import configure_sqlite

ROOT = Path(__file__).resolve().parent.parent
csrf = CSRFProtect()
login_manager = LoginManager()
migrate = Migrate()


def default_config(instance_path: Path) -> dict:
    return {
        "SQLALCHEMY_DATABASE_URI": os.environ.get("DATABASE_URL") or f"sqlite:///{instance_path / 'stepwise.db'}",
        "MAX_CONTENT_LENGTH": 1_000_000,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "PERMANENT_SESSION_LIFETIME": 8 * 3600,  # the absolute lifetime of a sign-in, however active
        "SESSION_IDLE_MINUTES": 30,
        # Served over HTTPS (directly or behind a proxy that says so): the session cookie is Secure and
        # every answer carries HSTS. A request that arrives over HTTPS gets HSTS either way.
        "HTTPS": os.environ.get("STEPWISE_HTTPS", "").lower() in ("1", "true", "yes"),
        "HSTS_SECONDS": 31_536_000,
        # How many reverse proxies stand in front (their X-Forwarded-For/-Proto/-Host are believed): 0 = none.
        "PROXY_COUNT": int(os.environ.get("STEPWISE_PROXY_COUNT", "0") or 0),
        "PROCESSES_DIR": str(ROOT / "processes"),
        "TIMER_THREAD": False,
        "SMTP": smtp_from_env(),
        "STEPWISE_SETTINGS": {},
    }


def smtp_from_env() -> dict | None:
    """E-mail is on when SMTP_HOST is set; otherwise notifications are in-app only."""
    if not os.environ.get("SMTP_HOST"):
        return None
    return {"host": os.environ["SMTP_HOST"], "port": int(os.environ.get("SMTP_PORT", "25")),
            "security": os.environ.get("SMTP_SECURITY", "none"), "username": os.environ.get("SMTP_USERNAME"),
            "password": os.environ.get("SMTP_PASSWORD"), "sender": os.environ.get("SMTP_SENDER", "stepwise@localhost"),
            # Seconds one SMTP exchange may wait before the sender gives up and tries again later.
            "timeout": float(os.environ.get("SMTP_TIMEOUT", "10"))}


def secret_key(instance_path: Path) -> str:
    """A per-installation key kept in instance/, so sessions survive a restart."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = instance_path / "secret_key"
    if not path.exists():
        # Created readable by its owner only: whoever reads it can sign in as anyone.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as key_file:
            key_file.write(secrets.token_hex(32))
    elif path.stat().st_mode & 0o077:
        path.chmod(0o600)
    return path.read_text().strip()


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_path=str(ROOT / "instance"))
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.update(default_config(Path(app.instance_path)))
    app.config.update(config or {})
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secret_key(Path(app.instance_path))
    settings.configure(app.config["STEPWISE_SETTINGS"])
    init_transport(app)
    init_database(app)
    init_auth(app)
    register(app)
    return app


def init_transport(app: Flask) -> None:
    if app.config["HTTPS"]:
        app.config["SESSION_COOKIE_SECURE"] = True
    proxies = app.config["PROXY_COUNT"]
    if proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)

    @app.after_request
    def security_headers(response: Response) -> Response:
        # Pages and API answers hold case data: no browser or proxy may keep a copy. Static assets may.
        if not request.path.startswith(app.static_url_path + "/"):
            response.headers["Cache-Control"] = "no-store"
        if app.config["HTTPS"] or request.is_secure:
            response.headers["Strict-Transport-Security"] = f"max-age={app.config['HSTS_SECONDS']}"
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response


def init_database(app: Flask) -> None:
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite"):
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"connect_args": {"timeout": 30,
                                                                             "check_same_thread": False}})
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    if uri.startswith("sqlite"):
        with app.app_context():
            configure_sqlite(db.engine)


def init_auth(app: Flask) -> None:
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    # The sign-in page itself says what to do; a flashed message would show as a "Success" banner there.
    login_manager.login_message = None

    from web.auth import session_is_current

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        user = db.session.get(User, int(user_id)) if user_id.isdigit() and len(user_id) < 19 else None
        return user if user is not None and session_is_current(user) else None


def register(app: Flask) -> None:
    from web import (
        admin,
        api,
        auth,
        cases,
        cli,
        dashboard,
        errors,
        inputs,
        instances,
        processes,
        templating,
        worklist,
    )
    # GOV.UK Frontend's Jinja macros, importable as "govuk_frontend_jinja/components/.../macro.html".
    app.jinja_loader = ChoiceLoader([app.jinja_loader, PrefixLoader({
        "govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")})])
    inputs.register(app)
    app.register_blueprint(admin.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(dashboard.bp)
    app.register_blueprint(cases.bp)
    app.register_blueprint(worklist.bp)
    app.register_blueprint(instances.bp)
    app.register_blueprint(processes.bp)
    app.register_blueprint(api.bp)
    csrf.exempt(api.bp)
    errors.register(app)
    templating.register(app)
    cli.register(app)
