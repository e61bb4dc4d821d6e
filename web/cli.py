"""The `stepwise` command: run, worker, deploy, lint, users, demo, timers and (from Flask-Migrate) db."""
from __future__ import annotations

import secrets
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup

from engine import definitions
from engine.models import User, db
from engine.timers import TimerWorker, run_due

DEMO_ROLES = {
    "sw": "Locality social worker", "sw_tm": "Social work team manager", "fp_tm": "Families Plus team manager",
    "fp_pm": "Families Plus practice manager", "fsw": "Family support worker", "svc_mgr": "Service manager",
    "rtm": "Response team manager", "ps_mgr": "Preventative Services manager", "sd_tray": "Step down tray worker",
    "ehfw": "Early Help family worker", "keyworker": "Integrated Services key worker", "cog_mgr": "COG manager",
    "cog_bso": "COG business support", "cog_rep": "COG representative", "mash_mgr": "MASH manager",
    "ssa": "Service support assistant", "spoc_mgr": "SPOC manager", "spoc_bso": "SPOC business support",
    "saat_tm": "SAAT team manager", "eh_spoc": "Early Help SPOC", "cm_tm": "Case management team manager",
    "manager": "Manager (all cases)", "analyst": "Business analyst", "admin": "Administrator",
}


def create_cli_app() -> Flask:
    from web import create_app
    return create_app()


@click.group(cls=FlaskGroup, create_app=create_cli_app, add_default_commands=False)
def main() -> None:
    """Stepwise: step-up and step-down handovers as executable processes."""


def register(app: Flask) -> None:
    from web.migrate_command import migrate
    for command in (run, serve, worker, deploy, lint, users, demo, timers, migrate):
        app.cli.add_command(command)


@click.command()
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
def run(host: str, port: int) -> None:
    """Serve the app with the timer sweep in a background thread."""
    from werkzeug.serving import run_simple
    app = current_app._get_current_object()
    TimerWorker(app).start_thread()
    click.echo(f"Stepwise on http://{host}:{port}/ (timer sweep running)")
    run_simple(host, port, app, threaded=True, use_reloader=False)


@click.command()
@click.option("--bind", help="host:port or unix:/path (STEPWISE_BIND; default 127.0.0.1:8000).")
@click.option("--workers", type=int, help="Processes (STEPWISE_WORKERS; default 4).")
@click.option("--threads", type=int, help="Threads per process (STEPWISE_THREADS; default 4).")
@click.option("--timeout", type=int, help="Seconds before a stuck request's worker is replaced (default 60).")
def serve(bind: str | None, workers: int | None, threads: int | None, timeout: int | None) -> None:
    """Serve the app with gunicorn for production; run `stepwise worker` beside it for the timers and e-mail."""
    from web.serve import ServeOptions
    from web.serve import serve as run_server
    options = ServeOptions.from_env()
    for name, value in (("bind", bind), ("workers", workers), ("threads", threads), ("timeout", timeout)):
        if value is not None:
            setattr(options, name, value)
    run_server(options)


@click.command()
@click.option("--max-wait", default=0.5, type=float, help="Longest sleep between sweeps, in seconds.")
def worker(max_wait: float) -> None:
    """Run the timer worker as its own process."""
    click.echo("Timer worker running; Ctrl-C to stop.")
    try:
        TimerWorker(current_app._get_current_object(), max_wait=max_wait).run()
    except KeyboardInterrupt:
        pass


@click.group()
def timers() -> None:
    """Timer commands."""


@timers.command("run-once")
def timers_run_once() -> None:
    """Fire every timer that is due now, once."""
    click.echo(f"advanced {run_due()} instance(s)")


def bpmn_files(path: str) -> list[Path]:
    target = Path(path)
    return sorted(target.glob("*.bpmn")) if target.is_dir() else [target]


@click.command()
@click.argument("path", default="processes")
def deploy(path: str) -> None:
    """Deploy a diagram, or every diagram in a folder (the same bytes again is a no-op)."""
    failed = False
    for file in bpmn_files(path):
        try:
            definition, created = definitions.deploy_file(file, deployed_by="cli")
            db.session.commit()
            click.echo(f"{file.name}: {definition.process_id} v{definition.version}"
                       f"{'' if created else ' (unchanged)'}")
        except definitions.DefinitionError as exc:
            db.session.rollback()
            failed = True
            click.echo(f"{file.name}: refused", err=True)
            for problem in exc.problems:
                click.echo(f"  - {problem}", err=True)
    sys.exit(1 if failed else 0)


@click.command()
@click.argument("path", default="processes")
def lint(path: str) -> None:
    """Check diagrams and their forms without deploying them."""
    failed = False
    for file in bpmn_files(path):
        try:
            xml = file.read_bytes()
            process_id, _ = definitions.executable_process_id(definitions.parse_xml(xml))
            definitions.check(xml, definitions.load_forms(definitions.parse_xml(xml), file.parent / "forms",
                                                          process_id))
            click.echo(f"{file.name}: ok")
        except definitions.DefinitionError as exc:
            failed = True
            click.echo(f"{file.name}: " + "; ".join(exc.problems), err=True)
        except (OSError, RecursionError, MemoryError, ValueError) as exc:  # a report, never a traceback
            failed = True
            click.echo(f"{file.name}: cannot be checked: {type(exc).__name__}: {exc}", err=True)
    sys.exit(1 if failed else 0)


@click.group()
def users() -> None:
    """User accounts."""


def upsert_user(username: str, roles: list[str], password: str, display_name: str | None = None,
                teams: list[str] | None = None, email: str | None = None) -> User:
    user = db.session.execute(db.select(User).filter_by(username=username)).scalar_one_or_none()
    if user is None:
        user = User(username=username, display_name=display_name or username, roles=roles, teams=teams or [])
        db.session.add(user)
    user.roles, user.teams, user.email = roles, teams or user.teams or [], email or user.email
    user.display_name = display_name or user.display_name
    user.set_password(password)
    return user


@users.command("create")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True)
@click.option("--team", "teams", multiple=True)
@click.option("--email")
@click.password_option()
def users_create(username: str, roles: tuple[str, ...], teams: tuple[str, ...], email: str | None,
                 password: str) -> None:
    """Create or update a user."""
    upsert_user(username, list(roles), password, teams=list(teams), email=email)
    db.session.commit()
    click.echo(f"user {username}: roles {', '.join(roles)}")


def issue_token(user: User) -> str:
    from web.api import token_hash
    token = secrets.token_urlsafe(32)
    user.token_hash = token_hash(token)
    return token


@users.command("token")
@click.argument("username")
def users_token(username: str) -> None:
    """Issue a new API bearer token for a user (the old one stops working)."""
    user = db.session.execute(db.select(User).filter_by(username=username)).scalar_one_or_none()
    if user is None:
        raise click.ClickException(f"no user {username}")
    token = issue_token(user)
    db.session.commit()
    click.echo(token)


@click.command()
@click.option("--cases", "with_cases", is_flag=True,
              help="Also seed demo cases over the four processes (once; the processes must be deployed).")
def demo(with_cases: bool) -> None:
    """Create one demo user per role and print their credentials."""
    click.echo("Demo users (username / password / role):")
    for role, title in DEMO_ROLES.items():
        password = secrets.token_urlsafe(9)
        upsert_user(f"demo_{role}", [role], password, display_name=f"Demo {title.lower()}")
        click.echo(f"  {'demo_' + role:<16} {password:<14} {title}")
    db.session.commit()
    if with_cases:
        from web.demo import seed_cases
        started = seed_cases()
        click.echo(f"Demo cases: {started} started" if started else "Demo cases: already there")
