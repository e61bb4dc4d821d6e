"""Sessions end when they should: at sign-out (on the server, so a saved cookie stops working), after the
idle time-out, and after the absolute lifetime; and sign-in only ever sends a person on to this site."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine
from flask import g

from engine.models import User, db

T0 = datetime.fromisoformat("2025-03-03T09:00:00+00:00")


@pytest.fixture
def client(app, people):
    @app.before_request
    def fresh_user() -> None:  # the fixture's one app context is shared by requests; a server's is not
        g.pop("_login_user", None)

    return app.test_client()


def sign_in(client, next_path: str | None = None):
    query = f"?next={next_path}" if next_path is not None else ""
    return client.post(f"/login{query}", data={"username": "sw", "password": "pw-sw"})


def signed_in(client) -> bool:
    response = client.get("/")
    assert response.status_code in (200, 302)
    return response.status_code == 200


def test_a_cookie_saved_before_sign_out_no_longer_works(client):
    assert sign_in(client).status_code == 302 and signed_in(client)
    saved = client.get_cookie("session").value
    assert client.post("/logout").status_code == 302
    assert not signed_in(client)
    client.set_cookie("session", saved)
    assert not signed_in(client)
    assert "/login" in client.get("/").headers["Location"]


def test_signing_in_again_after_sign_out_works(client):
    sign_in(client)
    client.post("/logout")
    sign_in(client)
    assert signed_in(client)
    assert db.session.execute(db.select(User).filter_by(username="sw")).scalar_one().session_generation == 1


def test_an_idle_session_ends_after_the_idle_time_out(client):
    with time_machine.travel(T0, tick=False) as clock:
        sign_in(client)
        clock.move_to(T0 + timedelta(minutes=29))
        assert signed_in(client)  # activity restarts the idle clock
        clock.move_to(T0 + timedelta(minutes=58))
        assert signed_in(client)
        clock.move_to(T0 + timedelta(minutes=88, seconds=1))
        assert not signed_in(client)


def test_the_idle_time_out_is_a_setting(app, client):
    app.config["SESSION_IDLE_MINUTES"] = 5
    with time_machine.travel(T0, tick=False) as clock:
        sign_in(client)
        clock.move_to(T0 + timedelta(minutes=6))
        assert not signed_in(client)


def test_a_busy_session_still_ends_at_its_absolute_lifetime(client):
    with time_machine.travel(T0, tick=False) as clock:
        sign_in(client)
        for minutes in range(20, 8 * 60 + 1, 20):
            clock.move_to(T0 + timedelta(minutes=minutes))
            assert signed_in(client), minutes
        clock.move_to(T0 + timedelta(hours=8, minutes=10))
        assert not signed_in(client)


@pytest.mark.parametrize("next_path", [
    "%2F%09%2Fevil.example%2F",
    "%2F%0A%2Fevil.example%2F",
    "%2F%5Cevil.example%2F",
    "%5C%5Cevil.example%2F",
    "%20%2F%2Fevil.example%2F",
    "%2F%2Fevil.example%2F",
    "https%3A%2F%2Fevil.example%2F",
    "%2F%0D%0A%2Fevil.example",
    "javascript:alert(1)",
])
def test_sign_in_never_sends_a_person_to_another_site(client, next_path):
    location = sign_in(client, next_path).headers["Location"]
    assert location == "/"
    assert "evil" not in location


def test_sign_in_goes_on_to_a_page_of_this_site(client):
    assert sign_in(client, "%2Finstances%2F7%3Ftab%3Dhistory").headers["Location"] == "/instances/7?tab=history"
