"""The one documented configuration place (the ⚙ settings of the process specification).

`default_settings()` holds every default; the app factory and tests apply overrides with `configure()`,
and tests put the defaults back with `reset_settings()`.

Timescales are keyed by their id in the specification's register (§6). Each has `n` and a `unit`:
`working_days`, `calendar_days`, `calendar_months`, `working_hours` or `elapsed_hours`. A few carry a
second figure the register gives with them (`min_n`, `n_cin_plan`, `n_second`). Register entries with
no count (cadences, "per case", "immediate", "next meeting") have no entry here; weekly meetings are
under `meetings`: a weekday (0 = Monday) and a start time, plus an optional `week` (1-4, or -1 for the
last) for a monthly meeting on that weekday of the month.
"""
from __future__ import annotations

import copy
from typing import Any

UNITS = frozenset({"working_days", "calendar_days", "calendar_months", "working_hours", "elapsed_hours"})
COUNT_FROM = frozenset({"day0", "day1"})


def _ts(n: int, unit: str, **extra: Any) -> dict[str, Any]:
    return {"n": n, "unit": unit, **extra}


def default_settings() -> dict[str, Any]:
    """A fresh copy of every default, so callers may mutate what they get."""
    return {
        "calendar": {
            "count_from": "day0",
            "years": [2020, 2040],
            "extra_holidays": [],
            "removed_holidays": [],
            "timezone": "Europe/London",
        },
        "timescales": {
            "T1": _ts(20, "working_days"),
            "T2": _ts(21, "calendar_days"),
            "T3": _ts(56, "calendar_days"),
            # 3 months for a C&F (and an EHA), 1 month for a CIN plan review; see is_current.
            "T5": _ts(3, "calendar_months", n_cin_plan=1),
            # The step-down meeting window is [consultation + min_n, consultation + n].
            "T6": _ts(14, "calendar_days", min_n=7),
            "T7": _ts(3, "working_days"),
            "T8": _ts(48, "working_hours"),
            "T11": _ts(24, "working_hours"),
            "T12": _ts(3, "calendar_months"),
            "T13": _ts(28, "calendar_days"),
            "T15": _ts(10, "working_days"),
            "T16": _ts(10, "working_days"),
            "T17": _ts(5, "working_days"),
            "T18": _ts(24, "working_hours"),
            "T19": _ts(42, "calendar_days"),
            # The CIN Review Panel sits at 9 and again at 12 months.
            "T21": _ts(9, "calendar_months", n_second=12),
            "T22": _ts(7, "calendar_days"),
            "T23": _ts(15, "working_days"),
            "T24": _ts(28, "calendar_days"),
            "T25": _ts(3, "calendar_months"),
            "T28": _ts(56, "calendar_days"),
        },
        "meetings": {
            "response_ps_consultation": {"weekday": 2, "time": "10:00"},
            "weekly_cog": {"weekday": 1, "time": "10:00"},
        },
        "meeting_recording_grace_wd": 2,
        # Case data a finished instance leaves on its case for later processes of the same case to find.
        "case_facts": ["de_escalation_date", "sa_ref", "step_down_date", "case_responsibility"],
        # The budget of every diagram script, condition and form expression (engine/budget.py): steps
        # (bytecode instructions), seconds, memory growth, items in one value, bits in one number.
        "scripts": {"max_lines": 500_000, "max_seconds": 2.0, "max_memory_mb": 256, "max_size": 1_000_000,
                    "max_int_bits": 65_536},
        # Each authority's COG teams by the postcode districts they cover (lookup_cog_team).
        "cog_teams": {
            "cog_north": ["BS32", "BS34", "BS35", "BS36"],
            "cog_east": ["BS15", "BS16", "BS30", "BS37"],
            "cog_south": ["BS4", "BS14", "BS31"],
        },
    }


_current: dict[str, Any] = default_settings()


def get_settings() -> dict[str, Any]:
    """The settings in force. Treat the result as read-only; change it through configure()."""
    return _current


def configure(overrides: dict[str, Any] | None) -> dict[str, Any]:
    """Deep-merge overrides into the settings in force; nothing changes if they are invalid."""
    global _current
    merged = deep_merge(_current, overrides or {})
    validate(merged)
    _current = merged
    return _current


def reset_settings() -> dict[str, Any]:
    global _current
    _current = default_settings()
    return _current


def deep_merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Dicts merge key by key; any other value (lists included) replaces the old one."""
    merged = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def validate(settings: dict[str, Any]) -> None:
    """Refuse a configuration the calendar would misread, at start-up rather than at the first timer."""
    cal = settings["calendar"]
    if cal["count_from"] not in COUNT_FROM:
        raise ValueError(f"calendar.count_from must be one of {sorted(COUNT_FROM)}, not {cal['count_from']!r}")
    first, last = cal["years"]
    if not (isinstance(first, int) and isinstance(last, int) and first <= last):
        raise ValueError(f"calendar.years must be [first, last] years, not {cal['years']!r}")
    for tid, spec in settings["timescales"].items():
        if spec.get("unit") not in UNITS or not isinstance(spec.get("n"), int):
            raise ValueError(f"timescales.{tid} needs an int n and a unit in {sorted(UNITS)}: {spec!r}")
    for name, meeting in settings["meetings"].items():
        if meeting.get("weekday") not in range(7) or not _is_hh_mm(meeting.get("time")):
            raise ValueError(f"meetings.{name} needs a weekday 0-6 and a time HH:MM: {meeting!r}")
        if meeting.get("week") not in (None, 1, 2, 3, 4, -1):
            raise ValueError(f"meetings.{name}.week must be 1-4 or -1 (the last in the month): {meeting!r}")


def _is_hh_mm(value: Any) -> bool:
    if not isinstance(value, str) or len(value) != 5 or value[2] != ":":
        return False
    hh, mm = value[:2], value[3:]
    return hh.isdigit() and mm.isdigit() and int(hh) < 24 and int(mm) < 60
