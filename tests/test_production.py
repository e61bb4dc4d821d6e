"""Running it at a council: answers that hold case data are never cached, HSTS and a Secure cookie over
HTTPS, no server banner, a secret key only its owner reads, `stepwise serve` under gunicorn behind a proxy,
and an SMTP server that stops answering never holds up the timers."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from flask import g

from engine.definitions import deploy_file
from engine.mailer import SmtpSettings, send_pending
from engine.models import Event, Instance, Notification, User, db
from engine.timers import TimerWorker, run_due
from tests.test_timers import move_timer
from web import secret_key

ROOT = Path(__file__).resolve().parent.parent
MINI = ROOT / "tests" / "fixtures" / "mini.bpmn"


@pytest.fixture
def signed_in(app, people):
    @app.before_request
    def fresh_user() -> None:
        g.pop("_login_user", None)

    client = app.test_client()
    client.post("/login", data={"username": "manager", "password": "pw-manager"})
    return client


def test_pages_and_api_answers_are_never_cached(signed_in, people):
    for path in ("/", "/notifications", "/dashboard/", "/definitions/", "/login"):
        response = signed_in.get(path)
        assert response.status_code in (200, 302), path
        assert response.headers["Cache-Control"] == "no-store", path
    api = signed_in.get("/api/v1/instances", headers={"Authorization": f"Bearer {people['manager'].token}"})
    assert api.status_code == 200 and api.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in api.headers  # plain HTTP: HSTS would mean nothing


def test_over_https_the_cookie_is_secure_and_hsts_is_sent(app, people):
    app.config["SESSION_COOKIE_SECURE"] = True  # what HTTPS = true sets at start-up
    client = app.test_client()
    response = client.post("/login", data={"username": "sw", "password": "pw-sw"}, base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert "Secure" in response.headers["Set-Cookie"] and "HttpOnly" in response.headers["Set-Cookie"]


def test_the_secret_key_is_created_readable_by_its_owner_only(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    key = secret_key(tmp_path)
    assert len(key) == 64 and (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    (tmp_path / "secret_key").chmod(0o644)  # one made by an earlier version
    assert secret_key(tmp_path) == key and (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str, headers: dict[str, str] | None = None):
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=5)


@pytest.fixture
def served(tmp_path):
    """`stepwise serve` in its own process, as a service manager starts it, behind one proxy."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
           "SECRET_KEY": "serve-test", "STEPWISE_PROXY_COUNT": "1"}
    command = [sys.executable, "-c", "from web.cli import main; main()"]
    subprocess.run([*command, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True, timeout=120)
    server = subprocess.Popen([*command, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2",
                               "--threads", "2"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                get(f"http://127.0.0.1:{port}/login")
                break
            except OSError:
                time.sleep(0.3)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_stepwise_serve_runs_gunicorn_without_its_banner_and_believes_its_proxy(served):
    plain = get(f"{served}/login")
    assert plain.status == 200
    assert "gunicorn" not in (plain.headers.get("Server") or "").lower()
    assert plain.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in plain.headers
    proxied = get(f"{served}/login", {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.5"})
    assert proxied.headers["Strict-Transport-Security"].startswith("max-age=")


# ---- an SMTP server that stops answering ----------------------------------------------------------------

class SilentServer:
    """Accepts connections and never says a word, as a hung mail relay does."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        for conn in self.accepted:
            conn.close()
        self.sock.close()


@pytest.fixture
def silent():
    server = SilentServer()
    yield server
    server.close()


def queue_an_email(api_client_post, people) -> None:
    user = db.session.execute(db.select(User).filter_by(username="sw_tm")).scalar_one()
    user.email = "tm@council.test"
    deploy_file(MINI, "ana")
    db.session.commit()
    with time_machine.travel("2024-12-20T10:00:00+00:00", tick=False):
        api_client_post("M-1")
    with time_machine.travel("2025-02-01T10:00:00+00:00", tick=False):
        assert run_due() == 1
    assert db.session.query(Notification).filter_by(recipient="sw_tm").count() == 1


def test_the_mailer_gives_up_on_a_silent_server_after_its_time_out(api, people, silent):
    queue_an_email(lambda ref: api.post("/instances", "sw", {"process": "mini", "case_ref": ref,
                                                            "data": {"allocated_sw": "sw"}}, expect=201), people)
    started = time.monotonic()
    with pytest.raises(OSError):
        send_pending(SmtpSettings(host="127.0.0.1", port=silent.port, timeout=1.0))
    assert time.monotonic() - started < 3


def test_a_silent_smtp_server_does_not_hold_up_the_timers(app, api, people, silent):
    def start(ref: str) -> int:
        return api.post("/instances", "sw", {"process": "mini", "case_ref": ref, "data": {"allocated_sw": "sw"}},
                        expect=201)["id"]

    queue_an_email(start, people)
    later = start("M-2")
    move_timer(db.session.get(Instance, later), datetime.now(UTC) + timedelta(seconds=2))
    app.config["SMTP"] = {"host": "127.0.0.1", "port": silent.port, "timeout": 30}
    worker = TimerWorker(app, max_wait=0.2)
    worker.start_thread()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not fired(later):
            time.sleep(0.05)
    finally:
        worker.stop()
    event = fired(later)
    assert event is not None and event.detail["lateness_seconds"] <= 1.0
    assert silent.accepted, "the sender did try the mail server"
    assert db.session.query(Notification).filter(Notification.email_sent_at.is_not(None)).count() == 0


def fired(instance_id: int) -> Event | None:
    db.session.rollback()
    return db.session.query(Event).filter_by(instance_id=instance_id, type="timer_fired").one_or_none()
