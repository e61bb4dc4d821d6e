"""Sign-in throttling that a stranger cannot turn into a lock-out.

Three counters, each in its own row of sign_in_throttle:

- the pair (account, address): a few failures, then a back-off that doubles with each further failure.
  Only that address is slowed for that account, so a guesser elsewhere does not lock the worker out;
- the address: many failures across any accounts (one address spraying passwords), then a back-off;
- the account: a gentler rate across every address (guessing spread over many addresses). Over it, an
  address that has already failed for the account waits; one that has not (the worker's own) still may
  sign in.

A successful sign-in clears only its pair: the address's and the account's counts stand, so guesses
interleaved with one's own sign-ins are still counted.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError

from engine.models import SignInThrottle, as_utc, db, utcnow


@dataclass(frozen=True)
class Rule:
    limit: int  # failures allowed in the window before any wait
    window: timedelta
    backoff: timedelta  # the first wait; it doubles with each failure past the limit
    longest: timedelta


PAIR = Rule(5, timedelta(minutes=15), timedelta(minutes=1), timedelta(hours=1))
ADDRESS = Rule(50, timedelta(minutes=15), timedelta(minutes=1), timedelta(hours=1))
ACCOUNT = Rule(20, timedelta(minutes=15), timedelta(0), timedelta(0))


def keys(username: str, address: str) -> dict[str, str]:
    name = username.strip().lower()[:80]
    where = (address or "unknown")[:64]
    return {"pair": f"pair:{name} {where}", "address": f"address:{where}", "account": f"account:{name}"}


def _row(key: str) -> SignInThrottle | None:
    return db.session.get(SignInThrottle, key, populate_existing=True)


def _current_failures(row: SignInThrottle | None, rule: Rule, now: datetime) -> int:
    if row is None or as_utc(row.window_started) + rule.window < now:
        return 0
    return row.failures


def _waiting(row: SignInThrottle | None, now: datetime) -> bool:
    return row is not None and row.blocked_until is not None and as_utc(row.blocked_until) > now


def blocked(username: str, address: str) -> bool:
    """Whether this address must wait before trying this account again."""
    now, named = utcnow(), keys(username, address)
    pair, by_address, account = _row(named["pair"]), _row(named["address"]), _row(named["account"])
    if _waiting(pair, now) or _waiting(by_address, now):
        return True
    over_account_rate = _current_failures(account, ACCOUNT, now) >= ACCOUNT.limit
    return over_account_rate and _current_failures(pair, PAIR, now) > 0


def record_failure(username: str, address: str) -> None:
    named = keys(username, address)
    for kind, rule in (("pair", PAIR), ("address", ADDRESS), ("account", ACCOUNT)):
        _count(named[kind], rule)
    db.session.commit()


def _count(key: str, rule: Rule) -> None:
    now = utcnow()
    row = db.session.get(SignInThrottle, key, with_for_update=True, populate_existing=True)
    if row is None:
        row = SignInThrottle(key=key, failures=0, window_started=now)
        try:
            with db.session.begin_nested():
                db.session.add(row)
        except IntegrityError:  # another worker counted the first failure at the same moment
            row = db.session.get(SignInThrottle, key, with_for_update=True, populate_existing=True)
    if as_utc(row.window_started) + rule.window < now and not _waiting(row, now):
        row.failures, row.window_started = 0, now
    row.failures += 1
    past = row.failures - rule.limit
    if past >= 0 and rule.backoff:
        row.blocked_until = now + min(rule.backoff * 2 ** min(past, 20), rule.longest)


def record_success(username: str, address: str) -> None:
    row = db.session.get(SignInThrottle, keys(username, address)["pair"])
    if row is not None:
        db.session.delete(row)
    db.session.commit()
