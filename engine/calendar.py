"""Working days, working hours, date deadlines and recurring meetings (process specification §0.2).

Pure functions on `date` and timezone-aware `datetime` values; the string interface that scripts see
is in engine.scripting. Bank holidays come from the rule-based `holidays` package for England and
Wales, so no year list can silently run out; instead the calendar refuses dates outside the configured
years rather than compute across a gap.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import holidays
from dateutil.relativedelta import relativedelta

from engine.settings import get_settings

ONE_DAY = timedelta(days=1)
# A run of bank holidays (Christmas, Easter) moves a meeting by a few days at most.
MEETING_LOOKBACK = timedelta(days=14)


class CalendarError(ValueError):
    """A date the calendar cannot answer for, or a meeting it does not know."""


def local_zone() -> ZoneInfo:
    return ZoneInfo(get_settings()["calendar"]["timezone"])


def covered_years() -> tuple[int, int]:
    first, last = get_settings()["calendar"]["years"]
    return first, last


def check_covered(day: date) -> None:
    first, last = covered_years()
    if not first <= day.year <= last:
        raise CalendarError(
            f"{day.isoformat()} is outside the working-day calendar ({first}-{last}); "
            "extend calendar.years to cover it"
        )


@lru_cache(maxsize=16)
def _bank_holidays(first: int, last: int, extra: tuple[str, ...], removed: tuple[str, ...]) -> frozenset[date]:
    days = set(holidays.UK(subdiv="ENG", years=range(first, last + 1)).keys())
    days |= {date.fromisoformat(d) for d in extra}
    days -= {date.fromisoformat(d) for d in removed}
    return frozenset(days)


def bank_holidays() -> frozenset[date]:
    """England and Wales bank holidays for the configured years, with the one-off changes applied."""
    cal = get_settings()["calendar"]
    first, last = covered_years()
    return _bank_holidays(first, last, tuple(cal["extra_holidays"]), tuple(cal["removed_holidays"]))


def is_bank_holiday(day: date) -> bool:
    check_covered(day)
    return day in bank_holidays()


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and not is_bank_holiday(day)


def next_working_day(day: date) -> date:
    """The first working day strictly after `day`."""
    day += ONE_DAY
    while not is_working_day(day):
        day += ONE_DAY
    return day


def add_working_days(start: date, n: int, count_from: str | None = None) -> date:
    """The n-th working day after `start`, which is day 0 whether or not it is a working day.

    With count_from="day1" a working `start` is itself day 1. A negative n counts back (day-0 rule).
    """
    check_covered(start)
    mode = count_from or get_settings()["calendar"]["count_from"]
    if mode == "day1" and n > 0 and is_working_day(start):
        n -= 1
    step = ONE_DAY if n >= 0 else -ONE_DAY
    day, left = start, abs(n)
    while left:
        day += step
        if is_working_day(day):
            left -= 1
    return day


def add_months(day: date, n: int) -> date:
    """Calendar months, clamped to the end of a shorter month (31 Dec - 3 months = 30 Sep)."""
    return day + relativedelta(months=n)


def require_aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment.isoformat()} has no UTC offset; an instant must carry one")
    return moment


def to_local(moment: datetime) -> datetime:
    return require_aware(moment).astimezone(local_zone())


def local_iso(moment: datetime | None) -> str | None:
    """The one way the API writes an instant: ISO 8601 in Europe/London with its offset."""
    return to_local(moment).isoformat() if moment is not None else None


def last_day_allowed(breach: datetime) -> str:
    """What a deadline's breach instant allows: the due date when it breaches at local midnight after it
    (a working-day or calendar deadline), else the instant itself (an hours deadline)."""
    local = to_local(breach)
    if local.timetz().replace(tzinfo=None) == time(0):
        return (local.date() - ONE_DAY).isoformat()
    return local.isoformat()


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=local_zone())


def date_deadline(day: date) -> datetime:
    """The breach instant of a due date: 00:00 local time on the next day, so the whole due date is on time."""
    return local_midnight(day + ONE_DAY)


def add_elapsed_hours(start: datetime, hours: float) -> datetime:
    """Exactly `hours` of real time, so a clock change shows in the wall-clock result."""
    utc = require_aware(start).astimezone(UTC)
    return (utc + timedelta(hours=hours)).astimezone(local_zone())


def add_working_hours(start: datetime, hours: float) -> datetime:
    """Working time: each working day gives its 24 wall-clock hours, any other day none.

    A start on a non-working day counts from 00:00 of the next working day. The count is done in
    wall-clock time, which is safe because UK clocks only change on Sundays.
    """
    if hours < 0:
        raise ValueError("working hours cannot be negative")
    wall = to_local(start).replace(tzinfo=None)
    if not is_working_day(wall.date()):
        wall = datetime.combine(next_working_day(wall.date()), time(0))
    remaining = timedelta(hours=hours)
    while True:
        left_today = datetime.combine(wall.date() + ONE_DAY, time(0)) - wall
        # Strictly less: a count that ends exactly at midnight lands on the next working day's 00:00.
        if remaining < left_today:
            return (wall + remaining).replace(tzinfo=local_zone())
        remaining -= left_today
        wall = datetime.combine(next_working_day(wall.date()), time(0))


def meeting_rule(name: str) -> dict[str, Any]:
    try:
        return get_settings()["meetings"][name]
    except KeyError:
        raise CalendarError(f"unknown meeting {name!r}; add it to the meetings settings") from None


def _nth_weekday(year: int, month: int, weekday: int, week: int) -> date:
    if week > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (week - 1))
    last = date(year, month, 1) + relativedelta(months=1) - ONE_DAY
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _scheduled_from(rule: dict[str, Any], start: date) -> Iterator[date]:
    """Scheduled meeting dates on or after `start`, before any bank-holiday move."""
    weekday, week = rule["weekday"], rule.get("week")
    if week is None:
        day = start + timedelta(days=(weekday - start.weekday()) % 7)
        while True:
            yield day
            day += timedelta(days=7)
    month = date(start.year, start.month, 1)
    while True:
        day = _nth_weekday(month.year, month.month, weekday, week)
        if day >= start:
            yield day
        month += relativedelta(months=1)


def held_on(scheduled: date) -> date:
    """A meeting that falls on a bank holiday (or weekend) moves to the next working day."""
    return scheduled if is_working_day(scheduled) else next_working_day(scheduled)


def next_meeting_date(name: str, day: date) -> date:
    """The first date on or after `day` on which the meeting is held."""
    rule = meeting_rule(name)
    check_covered(day)
    # Start a little earlier, because a meeting scheduled before `day` may have moved onto or past it.
    lookback = max(day - MEETING_LOOKBACK, date(covered_years()[0], 1, 1))
    held = (held_on(scheduled) for scheduled in _scheduled_from(rule, lookback))
    return next(d for d in held if d >= day)


def meeting_start_at(name: str, day: date) -> datetime:
    hours, minutes = (int(part) for part in meeting_rule(name)["time"].split(":"))
    return datetime.combine(day, time(hours, minutes), tzinfo=local_zone())


def next_meeting_start_after(name: str, moment: datetime) -> datetime:
    """The start of the first meeting that begins strictly after `moment`."""
    day = to_local(moment).date()
    while True:
        start = meeting_start_at(name, next_meeting_date(name, day))
        if start > moment:
            return start
        day = start.date() + ONE_DAY
