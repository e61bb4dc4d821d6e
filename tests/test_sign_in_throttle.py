"""Sign-in throttling is kept in the database per account, per address and per pair, backs off, cannot be
used by a stranger to lock a worker out, and is not reset by one's own sign-in; unknown and known usernames
take the same time to refuse."""
from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime

import pytest
import time_machine
from flask import g

from engine.models import SignInThrottle, db

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
STRANGER, WORKER = "203.0.113.9", "198.51.100.7"


@pytest.fixture
def app_(app, people):
    @app.before_request
    def fresh_user() -> None:
        g.pop("_login_user", None)

    return app


def attempt(app, username: str, password: str, address: str) -> int:
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": password},
                           environ_base={"REMOTE_ADDR": address})
    return response.status_code


def test_a_stranger_guessing_a_workers_password_does_not_lock_the_worker_out(app_):
    with time_machine.travel(T0, tick=False):
        assert [attempt(app_, "sw", "guess", STRANGER) for _ in range(8)] == [401] * 5 + [429] * 3
        assert attempt(app_, "sw", "pw-sw", STRANGER) == 429  # even the right password waits, from there
        assert attempt(app_, "sw", "pw-sw", WORKER) == 302


def test_the_wait_doubles_with_each_further_failure(app_):
    with time_machine.travel(T0, tick=False) as clock:
        for _ in range(5):
            attempt(app_, "sw", "guess", STRANGER)
        assert attempt(app_, "sw", "guess", STRANGER) == 429
        clock.shift(61)
        assert attempt(app_, "sw", "guess", STRANGER) == 401  # the sixth failure: two minutes now
        clock.shift(61)
        assert attempt(app_, "sw", "pw-sw", STRANGER) == 429
        clock.shift(60)
        assert attempt(app_, "sw", "pw-sw", STRANGER) == 302


def test_the_counts_are_in_the_database_for_every_worker_to_share(app_):
    with time_machine.travel(T0, tick=False):
        for _ in range(5):
            attempt(app_, "sw", "guess", STRANGER)
    db.session.rollback()
    rows = {r.key: r.failures for r in db.session.query(SignInThrottle)}
    assert rows == {f"pair:sw {STRANGER}": 5, f"address:{STRANGER}": 5, "account:sw": 5}


def test_guessing_spread_over_many_addresses_is_slowed_but_the_worker_still_signs_in(app_):
    with time_machine.travel(T0, tick=False):
        addresses = [f"192.0.2.{n}" for n in range(1, 21)]
        assert {attempt(app_, "sw", "guess", a) for a in addresses} == {401}
        assert attempt(app_, "sw", "guess", addresses[0]) == 429  # over the account's rate: a second try waits
        assert attempt(app_, "sw", "pw-sw", WORKER) == 302


def test_ones_own_sign_in_does_not_reset_the_count_of_guesses_at_another_account(app_):
    with time_machine.travel(T0, tick=False):
        codes = []
        for _ in range(3):
            codes += [attempt(app_, "sw", "guess", STRANGER) for _ in range(2)]
            assert attempt(app_, "sw2", "pw-sw2", STRANGER) == 302
        assert codes == [401] * 5 + [429]


def test_one_address_spraying_many_accounts_is_slowed(app_, people):
    with time_machine.travel(T0, tick=False):
        names = [name for name in people][:25]
        codes = [attempt(app_, name, "guess", STRANGER) for name in names for _ in range(2)]
        assert codes[:50] == [401] * 50 and attempt(app_, "sw", "pw-sw", STRANGER) == 429
        assert attempt(app_, "sw", "pw-sw", WORKER) == 302


def test_unknown_and_known_usernames_take_the_same_time(app_):
    def timed(username: str) -> float:
        started = time.perf_counter()
        assert attempt(app_, username, "wrong", f"192.0.2.{hash(username) % 200}") == 401
        return time.perf_counter() - started

    with time_machine.travel(T0, tick=True):
        timed("nobody-at-all")  # the dummy hash is made once, on first use
        unknown = statistics.median(timed(f"nobody-{n}") for n in range(3))
        known = statistics.median(timed(name) for name in ("sw", "fsw", "rtm"))
    assert 0.5 < unknown / known < 2
