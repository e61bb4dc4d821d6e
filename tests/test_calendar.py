"""Working days, working hours, deadlines and meetings (process specification §0.2, §0.6, §6, D1-D5, D15)."""
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from engine import calendar as cal
from engine.settings import configure, default_settings, get_settings, reset_settings

LONDON = ZoneInfo("Europe/London")
GMT = UTC
BST = timezone(timedelta(hours=1))


@pytest.fixture(autouse=True)
def _default_settings():
    reset_settings()
    yield
    reset_settings()


def d(text: str) -> date:
    return date.fromisoformat(text)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


# ----------------------------------------------------------------------------- settings

def test_default_settings_match_the_specification():
    s = default_settings()
    assert s["calendar"] == {
        "count_from": "day0", "years": [2020, 2040], "extra_holidays": [], "removed_holidays": [],
        "timezone": "Europe/London",
    }
    ts = s["timescales"]
    expected = {
        "T1": (20, "working_days"), "T2": (21, "calendar_days"), "T3": (56, "calendar_days"),
        "T5": (3, "calendar_months"), "T6": (14, "calendar_days"), "T7": (3, "working_days"),
        "T8": (48, "working_hours"), "T11": (24, "working_hours"), "T12": (3, "calendar_months"),
        "T13": (28, "calendar_days"), "T15": (10, "working_days"), "T16": (10, "working_days"),
        "T17": (5, "working_days"), "T18": (24, "working_hours"), "T19": (42, "calendar_days"),
        "T21": (9, "calendar_months"), "T22": (7, "calendar_days"), "T23": (15, "working_days"),
        "T24": (28, "calendar_days"), "T25": (3, "calendar_months"), "T28": (56, "calendar_days"),
    }
    assert {tid: (v["n"], v["unit"]) for tid, v in ts.items()} == expected
    assert ts["T5"]["n_cin_plan"] == 1
    assert ts["T6"]["min_n"] == 7
    assert ts["T21"]["n_second"] == 12
    assert s["meetings"] == {
        "response_ps_consultation": {"weekday": 2, "time": "10:00"},
        "weekly_cog": {"weekday": 1, "time": "10:00"},
    }
    assert s["meeting_recording_grace_wd"] == 2


def test_default_settings_is_a_fresh_copy():
    default_settings()["timescales"]["T1"]["n"] = 99
    assert default_settings()["timescales"]["T1"]["n"] == 20


def test_configure_deep_merges_and_reset_restores():
    configure({"timescales": {"T8": {"unit": "elapsed_hours"}}, "calendar": {"count_from": "day1"}})
    s = get_settings()
    assert s["timescales"]["T8"] == {"n": 48, "unit": "elapsed_hours"}
    assert s["timescales"]["T1"] == {"n": 20, "unit": "working_days"}
    assert s["calendar"]["count_from"] == "day1"
    assert s["calendar"]["years"] == [2020, 2040]
    reset_settings()
    assert get_settings() == default_settings()


def test_configure_replaces_lists_rather_than_appending():
    configure({"calendar": {"extra_holidays": ["2025-06-09"]}})
    configure({"calendar": {"extra_holidays": ["2025-06-10"]}})
    assert get_settings()["calendar"]["extra_holidays"] == ["2025-06-10"]


@pytest.mark.parametrize("bad", [
    {"calendar": {"count_from": "day2"}},
    {"calendar": {"years": [2040, 2020]}},
    {"timescales": {"T7": {"unit": "fortnights"}}},
    {"meetings": {"weekly_cog": {"weekday": 7}}},
    {"meetings": {"weekly_cog": {"time": "25:00"}}},
    {"meetings": {"weekly_cog": {"week": 5}}},
])
def test_invalid_configuration_is_refused_and_changes_nothing(bad):
    with pytest.raises(ValueError):
        configure(bad)
    assert get_settings() == default_settings()


# ----------------------------------------------------------------------------- bank holidays

FIXTURE_HOLIDAYS = {
    2024: ["01-01", "03-29", "04-01", "05-06", "05-27", "08-26", "12-25", "12-26"],
    2025: ["01-01", "04-18", "04-21", "05-05", "05-26", "08-25", "12-25", "12-26"],
    2026: ["01-01", "04-03", "04-06", "05-04", "05-25", "08-31", "12-25", "12-28"],
    2027: ["01-01", "03-26", "03-29", "05-03", "05-31", "08-30", "12-27", "12-28"],
}


@pytest.mark.parametrize("year", sorted(FIXTURE_HOLIDAYS))
def test_weekday_bank_holidays_match_the_fixture(year):
    weekday_holidays = sorted(h for h in cal.bank_holidays() if h.year == year and h.weekday() < 5)
    assert weekday_holidays == [d(f"{year}-{md}") for md in FIXTURE_HOLIDAYS[year]]


@pytest.mark.parametrize("day, name", [
    ("2025-12-25", "Christmas Day"),
    ("2025-12-26", "Boxing Day"),
    ("2026-01-01", "New Year's Day"),
    ("2025-04-18", "Good Friday"),
    ("2025-04-21", "Easter Monday"),
    ("2025-05-05", "early May bank holiday"),
    ("2025-05-26", "spring bank holiday"),
    ("2025-08-25", "summer bank holiday"),
    ("2026-12-28", "Boxing Day substitute"),
    ("2027-12-27", "Christmas Day substitute"),
    ("2025-06-07", "a Saturday"),
    ("2025-06-08", "a Sunday"),
])
def test_non_working_days(day, name):
    assert not cal.is_working_day(d(day)), name


@pytest.mark.parametrize("day", ["2025-06-06", "2025-12-24", "2025-12-29", "2025-04-17", "2025-04-22"])
def test_working_days(day):
    assert cal.is_working_day(d(day))


def test_extra_and_removed_holidays():
    configure({"calendar": {"extra_holidays": ["2025-06-09"], "removed_holidays": ["2025-12-25"]}})
    assert not cal.is_working_day(d("2025-06-09"))
    assert cal.is_working_day(d("2025-12-25"))
    assert cal.add_working_days(d("2025-06-06"), 1) == d("2025-06-10")
    reset_settings()
    assert cal.is_working_day(d("2025-06-09"))
    assert not cal.is_working_day(d("2025-12-25"))


# ----------------------------------------------------------------------------- fail closed

@pytest.mark.parametrize("day", ["2019-12-31", "2041-01-01"])
def test_dates_outside_the_configured_years_raise(day):
    with pytest.raises(cal.CalendarError, match="outside the working-day calendar"):
        cal.is_working_day(d(day))


def test_counting_past_the_last_year_raises():
    with pytest.raises(cal.CalendarError):
        cal.add_working_days(d("2040-12-28"), 5)


def test_a_start_outside_the_years_raises_even_for_zero_days():
    with pytest.raises(cal.CalendarError):
        cal.add_working_days(d("2041-01-02"), 0)


def test_extending_the_years_extends_the_calendar():
    configure({"calendar": {"years": [2020, 2050]}})
    assert not cal.is_working_day(d("2045-12-25"))
    assert cal.is_working_day(d("2045-12-27"))


# ----------------------------------------------------------------------------- working days

@pytest.mark.parametrize("start, n, due", [
    ("2024-12-20", 20, "2025-01-22"),  # D1, over Christmas and New Year
    ("2026-12-18", 20, "2027-01-20"),  # the substitute Boxing Day and 2027
    ("2026-12-24", 10, "2027-01-12"),
    ("2027-03-25", 3, "2027-04-01"),  # Easter 2027
    ("2025-04-17", 3, "2025-04-24"),  # D3: Good Friday and Easter Monday
    ("2025-05-02", 1, "2025-05-06"),  # early May bank holiday
    ("2025-05-23", 1, "2025-05-27"),  # spring bank holiday
    ("2025-06-07", 1, "2025-06-09"),  # a Saturday is day 0 too
    ("2025-06-06", 0, "2025-06-06"),
    ("2025-01-22", -20, "2024-12-20"),
])
def test_add_working_days_day0(start, n, due):
    assert cal.add_working_days(d(start), n) == d(due)


def test_count_from_day1_counts_a_working_trigger_day_as_day_1():
    assert cal.add_working_days(d("2024-12-20"), 20, count_from="day1") == d("2025-01-21")
    configure({"calendar": {"count_from": "day1"}})
    assert cal.add_working_days(d("2024-12-20"), 20) == d("2025-01-21")


def test_count_from_day1_on_a_non_working_day_is_the_day0_count():
    configure({"calendar": {"count_from": "day1"}})
    assert cal.add_working_days(d("2025-06-07"), 1) == d("2025-06-09")
    assert cal.add_working_days(d("2025-12-25"), 1) == d("2025-12-29")


@pytest.mark.parametrize("start, n, result", [
    ("2025-12-31", -3, "2025-09-30"),
    ("2024-11-30", 3, "2025-02-28"),
    ("2024-01-31", 1, "2024-02-29"),
    ("2025-03-15", -1, "2025-02-15"),
])
def test_add_months_is_clamped(start, n, result):
    assert cal.add_months(d(start), n) == d(result)


# ----------------------------------------------------------------------------- deadlines and hours

def test_date_deadline_is_local_midnight_after_the_due_date():
    winter = cal.date_deadline(d("2025-01-22"))
    summer = cal.date_deadline(d("2025-05-15"))
    assert winter.isoformat() == "2025-01-23T00:00:00+00:00"
    assert summer.isoformat() == "2025-05-16T00:00:00+01:00"
    assert summer.tzinfo == LONDON


def test_date_deadline_on_the_eve_of_a_clock_change():
    assert cal.date_deadline(d("2025-03-29")).isoformat() == "2025-03-30T00:00:00+00:00"
    assert cal.date_deadline(d("2025-03-30")).isoformat() == "2025-03-31T00:00:00+01:00"


def test_elapsed_hours_across_the_march_change():
    result = cal.add_elapsed_hours(datetime(2025, 3, 28, 10, tzinfo=GMT), 48)
    assert result.isoformat() == "2025-03-30T11:00:00+01:00"


def test_elapsed_hours_across_the_october_change():
    result = cal.add_elapsed_hours(datetime(2025, 10, 24, 10, tzinfo=BST), 48)
    assert result.isoformat() == "2025-10-26T09:00:00+00:00"


@pytest.mark.parametrize("start, hours, result", [
    ("2025-06-06T16:00:00+01:00", 48, "2025-06-10T16:00:00+01:00"),  # Fri -> Tue
    ("2025-06-06T16:00:00+01:00", 24, "2025-06-09T16:00:00+01:00"),  # Fri -> Mon
    ("2025-05-02T16:00:00+01:00", 48, "2025-05-07T16:00:00+01:00"),  # bank-holiday Monday -> Wed
    ("2025-04-17T16:00:00+01:00", 24, "2025-04-22T16:00:00+01:00"),  # Good Friday and Easter Monday
    ("2025-03-28T16:00:00+00:00", 48, "2025-04-01T16:00:00+01:00"),  # across the March change
    ("2025-10-24T16:00:00+01:00", 48, "2025-10-28T16:00:00+00:00"),  # across the October change
    ("2025-06-06T15:00:00+00:00", 48, "2025-06-10T16:00:00+01:00"),  # any input offset
    ("2025-06-04T09:30:00+01:00", 5.5, "2025-06-04T15:00:00+01:00"),
    ("2025-06-07T09:00:00+01:00", 24, "2025-06-10T00:00:00+01:00"),  # Sat: counting starts Mon 00:00
    ("2025-05-26T12:00:00+01:00", 24, "2025-05-28T00:00:00+01:00"),  # on a bank holiday
    ("2025-06-06T00:00:00+01:00", 24, "2025-06-09T00:00:00+01:00"),  # ends at Fri midnight -> Mon 00:00
    ("2025-06-06T16:00:00+01:00", 0, "2025-06-06T16:00:00+01:00"),
])
def test_add_working_hours(start, hours, result):
    assert cal.add_working_hours(at(start), hours).isoformat() == result


def test_working_hours_refuse_negative_hours_and_naive_instants():
    with pytest.raises(ValueError):
        cal.add_working_hours(at("2025-06-06T16:00:00+01:00"), -1)
    with pytest.raises(ValueError, match="no UTC offset"):
        cal.add_working_hours(datetime(2025, 6, 6, 16), 24)


# ----------------------------------------------------------------------------- meetings (D15)

@pytest.mark.parametrize("meeting, day, held", [
    ("response_ps_consultation", "2025-06-02", "2025-06-04"),
    ("response_ps_consultation", "2025-06-04", "2025-06-04"),  # on the day itself
    ("response_ps_consultation", "2025-06-05", "2025-06-11"),
    ("response_ps_consultation", "2024-12-23", "2024-12-27"),  # Wed Christmas, Thu Boxing Day -> Fri
    ("response_ps_consultation", "2024-12-26", "2024-12-27"),  # a moved meeting after the day still counts
    ("response_ps_consultation", "2024-12-30", "2025-01-02"),  # Wed New Year's Day -> Thu
    ("weekly_cog", "2027-12-27", "2027-12-29"),  # Tue substitute Boxing Day -> Wed
    ("weekly_cog", "2027-12-29", "2027-12-29"),
    ("weekly_cog", "2027-12-30", "2028-01-04"),
    ("weekly_cog", "2025-06-04", "2025-06-10"),
])
def test_next_meeting_date(meeting, day, held):
    assert cal.next_meeting_date(meeting, d(day)) == d(held)


def test_meeting_start_keeps_local_time_in_both_seasons():
    assert cal.meeting_start_at("weekly_cog", d("2025-01-07")).isoformat() == "2025-01-07T10:00:00+00:00"
    assert cal.meeting_start_at("weekly_cog", d("2025-06-10")).isoformat() == "2025-06-10T10:00:00+01:00"


@pytest.mark.parametrize("moment, start", [
    ("2025-06-04T09:59:59+01:00", "2025-06-04T10:00:00+01:00"),
    ("2025-06-04T10:00:00+01:00", "2025-06-11T10:00:00+01:00"),  # strictly after
    ("2025-06-04T09:00:00+00:00", "2025-06-11T10:00:00+01:00"),  # 10:00 BST, already started
    ("2024-12-24T12:00:00+00:00", "2024-12-27T10:00:00+00:00"),  # moved by Christmas
    ("2025-10-22T10:30:00+01:00", "2025-10-29T10:00:00+00:00"),  # across the October change
])
def test_next_meeting_start_after(moment, start):
    result = cal.next_meeting_start_after("response_ps_consultation", at(moment))
    assert result.isoformat() == start


def test_monthly_meetings():
    configure({"meetings": {
        "first_monday": {"weekday": 0, "week": 1, "time": "09:30"},
        "last_friday": {"weekday": 4, "week": -1, "time": "14:00"},
    }})
    assert cal.next_meeting_date("first_monday", d("2025-05-01")) == d("2025-05-06")  # May Day moves it
    assert cal.next_meeting_date("first_monday", d("2025-05-07")) == d("2025-06-02")
    assert cal.next_meeting_date("last_friday", d("2025-04-01")) == d("2025-04-25")
    assert cal.next_meeting_date("last_friday", d("2025-12-01")) == d("2025-12-29")  # Boxing Day -> Mon


def test_unknown_meeting():
    with pytest.raises(cal.CalendarError, match="unknown meeting"):
        cal.next_meeting_date("daily_standup", d("2025-06-02"))
