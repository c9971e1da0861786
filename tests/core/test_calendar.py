"""The business calendar (kefu/core/calendar.py): deadlines that cannot be missed quietly.

Rules come from the issue "Deadlines that cannot be missed quietly" (working hours across
nights, weekends, Chinese public holidays, 调休 and DST) and PROCESSES.md P1 ("Step deadlines
are not given in the seeds: (our choice) per-severity SLA in config"). Holiday dates are the
chinesecalendar 1.11 data (State Council notices), not guesses:
2025 National Day + Mid-Autumn: 2025-10-01..08 off, Sunday 2025-09-28 and Saturday
2025-10-11 worked; 2026 Spring Festival: 2026-02-15..23 off, Saturday 2026-02-14 and
Saturday 2026-02-28 worked.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kefu.core.calendar import BusinessCalendar, CalendarConfig

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")
UTC = timezone.utc
OFFICE = ["09:00-12:00", "13:30-18:00"]  # 7.5 working hours a day
WEEK = {d: list(OFFICE) for d in ("mon", "tue", "wed", "thu", "fri")} | {"sat": [], "sun": []}


def make(zone: str = "Asia/Shanghai", holidays: str = "chinesecalendar", **extra) -> BusinessCalendar:
    return BusinessCalendar(
        CalendarConfig(timezone=zone, working_hours=WEEK, public_holidays=holidays, **extra)
    )


@pytest.fixture(scope="module")
def shanghai() -> BusinessCalendar:
    return make()


def working(cal: BusinessCalendar, start: datetime, **amount) -> datetime:
    return cal.add(start, timedelta(**amount), "working").astimezone(cal.zone)


# -- the library data the tests rely on -----------------------------------------------------


def test_library_data_matches_the_dates_these_tests_use():
    import chinese_calendar

    golden_week = [date(2025, 10, d) for d in range(1, 9)]
    assert all(d in chinese_calendar.holidays for d in golden_week)
    spring_festival = [date(2026, 2, d) for d in range(15, 24)]
    assert all(d in chinese_calendar.holidays for d in spring_festival)
    for adjusted in (date(2025, 9, 28), date(2025, 10, 11), date(2026, 2, 14), date(2026, 2, 28)):
        assert adjusted in chinese_calendar.workdays and adjusted.weekday() >= 5


# -- working hours ---------------------------------------------------------------------------


def test_working_hours_deadline_carries_across_the_night(shanghai):
    # Tuesday 17:00 + 2 working hours: 1 h today, 1 h from 09:00 Wednesday.
    assert working(shanghai, datetime(2026, 11, 24, 17, 0, tzinfo=SH), hours=2) == datetime(
        2026, 11, 25, 10, 0, tzinfo=SH
    )


def test_working_hours_deadline_skips_the_lunch_break(shanghai):
    assert working(shanghai, datetime(2026, 11, 24, 11, 0, tzinfo=SH), hours=2) == datetime(
        2026, 11, 24, 14, 30, tzinfo=SH
    )


def test_working_hours_deadline_skips_the_weekend(shanghai):
    # Friday 16:00 + 24 working hours: 2 h Fri, 7.5 Mon, 7.5 Tue, 7 h Wed -> Wed 17:30.
    assert working(shanghai, datetime(2026, 11, 20, 16, 0, tzinfo=SH), hours=24) == datetime(
        2026, 11, 25, 17, 30, tzinfo=SH
    )


def test_deadline_that_uses_up_the_day_ends_at_closing_time_not_next_opening(shanghai):
    assert working(shanghai, datetime(2026, 11, 24, 9, 0, tzinfo=SH), hours=7, minutes=30) == datetime(
        2026, 11, 24, 18, 0, tzinfo=SH
    )


def test_start_outside_hours_starts_the_clock_at_the_next_opening(shanghai):
    saturday_night = datetime(2026, 11, 21, 23, 0, tzinfo=SH)
    assert working(shanghai, saturday_night, minutes=20) == datetime(2026, 11, 23, 9, 20, tzinfo=SH)
    lunch = datetime(2026, 11, 24, 12, 30, tzinfo=SH)
    assert working(shanghai, lunch, minutes=20) == datetime(2026, 11, 24, 13, 50, tzinfo=SH)
    assert shanghai.next_working_moment(saturday_night) == datetime(2026, 11, 23, 9, 0, tzinfo=SH)


def test_results_are_in_utc_and_the_same_instant_whatever_the_input_zone(shanghai):
    start_sh = datetime(2026, 11, 24, 17, 0, tzinfo=SH)
    a = shanghai.add(start_sh, timedelta(hours=2), "working")
    b = shanghai.add(start_sh.astimezone(UTC), timedelta(hours=2), "working")
    assert a.tzinfo is UTC and a == b


def test_working_time_is_half_open_opening_counts_closing_does_not(shanghai):
    assert shanghai.is_working_time(datetime(2026, 11, 24, 9, 0, tzinfo=SH))
    assert not shanghai.is_working_time(datetime(2026, 11, 24, 12, 0, tzinfo=SH))
    assert not shanghai.is_working_time(datetime(2026, 11, 24, 18, 0, tzinfo=SH))
    assert not shanghai.is_working_time(datetime(2026, 11, 22, 10, 0, tzinfo=SH))  # Sunday


# -- Chinese public holidays and 调休 --------------------------------------------------------


def test_working_hours_deadline_skips_the_national_day_golden_week(shanghai):
    # Tuesday 2025-09-30 17:00 + 2 h: 1 h before the holiday, then Oct 1-8 off -> Thu Oct 9 10:00.
    assert working(shanghai, datetime(2025, 9, 30, 17, 0, tzinfo=SH), hours=2) == datetime(
        2025, 10, 9, 10, 0, tzinfo=SH
    )
    assert shanghai.is_holiday(date(2025, 10, 1)) and not shanghai.is_workday(date(2025, 10, 8))


def test_working_hours_deadline_skips_the_spring_festival_2026(shanghai):
    # Friday 2026-02-13 17:00 + 2 h: Sat 02-14 is an adjusted working day (调休) -> 09:00+1h.
    assert working(shanghai, datetime(2026, 2, 13, 17, 0, tzinfo=SH), hours=2) == datetime(
        2026, 2, 14, 10, 0, tzinfo=SH
    )
    # Saturday 02-14 17:00 + 2 h: 02-15..23 off -> Tuesday 02-24 10:00.
    assert working(shanghai, datetime(2026, 2, 14, 17, 0, tzinfo=SH), hours=2) == datetime(
        2026, 2, 24, 10, 0, tzinfo=SH
    )


def test_adjusted_working_saturday_counts_as_a_working_day_with_mondays_hours(shanghai):
    sat = date(2025, 10, 11)
    assert sat.weekday() == 5 and shanghai.is_workday(sat) and not shanghai.is_holiday(sat)
    assert shanghai.is_working_time(datetime(2025, 10, 11, 13, 30, tzinfo=SH))
    assert not shanghai.is_working_time(datetime(2025, 10, 11, 12, 30, tzinfo=SH))  # Monday's lunch
    # Friday 2025-10-10 17:00 + 2 h -> the adjusted Saturday 10:00, not Monday.
    assert working(shanghai, datetime(2025, 10, 10, 17, 0, tzinfo=SH), hours=2) == datetime(
        2025, 10, 11, 10, 0, tzinfo=SH
    )
    assert shanghai.is_workday(date(2025, 9, 28))  # an adjusted Sunday too


def test_a_mere_weekend_is_not_a_holiday(shanghai):
    assert not shanghai.is_holiday(date(2026, 11, 21)) and not shanghai.is_workday(date(2026, 11, 21))


def test_without_the_library_holidays_are_ordinary_days():
    cal = make(holidays="none")
    assert not cal.is_holiday(date(2025, 10, 1)) and cal.is_workday(date(2025, 10, 1))
    assert not cal.is_workday(date(2025, 10, 11))


# -- overrides -------------------------------------------------------------------------------


def test_extra_holidays_close_a_normal_weekday():
    cal = make(extra_holidays=[date(2026, 11, 25)])  # a company day off, Wednesday
    assert cal.is_holiday(date(2026, 11, 25)) and not cal.is_workday(date(2026, 11, 25))
    assert working(cal, datetime(2026, 11, 24, 17, 0, tzinfo=SH), hours=2) == datetime(
        2026, 11, 26, 10, 0, tzinfo=SH
    )


def test_extra_workdays_open_a_weekend_and_override_a_library_holiday():
    cal = make(extra_workdays=[date(2026, 11, 28), date(2025, 10, 8)])
    assert cal.is_workday(date(2026, 11, 28))  # Saturday, Monday's hours
    assert working(cal, datetime(2026, 11, 27, 17, 0, tzinfo=SH), hours=2) == datetime(
        2026, 11, 28, 10, 0, tzinfo=SH
    )
    assert cal.is_workday(date(2025, 10, 8)) and not cal.is_holiday(date(2025, 10, 8))


def test_extra_holidays_override_a_library_adjusted_working_day():
    cal = make(extra_holidays=[date(2025, 10, 11)])
    assert not cal.is_workday(date(2025, 10, 11)) and cal.is_holiday(date(2025, 10, 11))


def test_year_without_library_data_falls_back_to_weekdays_and_warns(caplog):
    cal = make(extra_holidays=[date(2027, 1, 1)])
    with caplog.at_level(logging.WARNING, logger="kefu.core.calendar"):
        assert not cal.is_workday(date(2027, 1, 1))  # the override still applies
        assert cal.is_workday(date(2027, 1, 4))  # a Monday, by weekday rules
        assert not cal.is_workday(date(2027, 1, 2))
    assert len(cal.warnings) == 1 and "2027" in cal.warnings[0]
    assert "no holiday data for 2027" in caplog.text
    assert working(cal, datetime(2026, 12, 31, 17, 0, tzinfo=SH), hours=2) == datetime(
        2027, 1, 4, 10, 0, tzinfo=SH
    )


# -- calendar basis and DST ----------------------------------------------------------------


def test_three_calendar_days_across_spring_forward_keep_the_local_wall_time():
    cal = make("America/New_York", "none")
    start = datetime(2026, 3, 6, 10, 0, tzinfo=NY)  # EST, -05:00
    end = cal.add(start, timedelta(days=3), "calendar")
    assert end.astimezone(NY) == datetime(2026, 3, 9, 10, 0, tzinfo=NY)  # EDT, -04:00
    assert end - start == timedelta(days=3, hours=-1)  # only 71 h elapsed
    assert cal.between(start, end, "calendar") == timedelta(days=3)


def test_three_calendar_days_across_fall_back_keep_the_local_wall_time():
    cal = make("America/New_York", "none")
    start = datetime(2026, 10, 30, 10, 0, tzinfo=NY)
    end = cal.add(start, timedelta(days=3), "calendar")
    assert end.astimezone(NY).replace(tzinfo=None) == datetime(2026, 11, 2, 10, 0)
    assert end - start == timedelta(days=3, hours=1)


def test_calendar_hours_and_minutes_are_elapsed_time_across_dst():
    cal = make("America/New_York", "none")
    start = datetime(2026, 3, 8, 1, 30, tzinfo=NY)  # 30 minutes before the clocks jump
    end = cal.add(start, timedelta(minutes=60), "calendar")
    assert end.astimezone(NY).replace(tzinfo=None) == datetime(2026, 3, 8, 3, 30)
    assert end - start == timedelta(minutes=60)


def test_working_hours_across_dst_in_new_york_count_real_hours():
    cal = make("America/New_York", "none")
    # Friday 2026-03-06 17:00 EST + 2 working hours -> Monday 03-09 10:00 EDT (weekend jumps).
    end = cal.add(datetime(2026, 3, 6, 17, 0, tzinfo=NY), timedelta(hours=2), "working")
    assert end.astimezone(NY).replace(tzinfo=None) == datetime(2026, 3, 9, 10, 0)
    assert end.utcoffset() == timedelta(0)
    # A full day is 7.5 working hours both sides of the change.
    assert cal.between(
        datetime(2026, 3, 9, 0, 0, tzinfo=NY), datetime(2026, 3, 10, 0, 0, tzinfo=NY), "working"
    ) == timedelta(hours=7, minutes=30)


def test_working_hours_on_a_day_with_a_dst_gap_lose_the_missing_hour():
    week = {d: ["00:00-06:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    cal = BusinessCalendar(CalendarConfig(timezone="America/New_York", working_hours=week))
    day_start = datetime(2026, 3, 8, 0, 0, tzinfo=NY)
    assert cal.between(day_start, day_start + timedelta(hours=6), "working") == timedelta(hours=5)


# -- inverse and property ----------------------------------------------------------------

_CALS = {z: make(z) for z in ("Asia/Shanghai", "America/New_York")}



@settings(max_examples=300, deadline=None)
@given(
    start=st.datetimes(
        min_value=datetime(2024, 12, 1), max_value=datetime(2027, 3, 1), timezones=st.sampled_from([SH, NY, UTC])
    ),
    amount=st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=400)),
    zone=st.sampled_from(["Asia/Shanghai", "America/New_York"]),
)
def test_between_is_the_inverse_of_add_for_working_time(start, amount, zone):
    cal = _CALS[zone]
    end = cal.add(start, amount, "working")
    assert end >= start
    assert cal.between(start, end, "working") == amount
    if amount:
        assert cal.is_working_time(end - timedelta(microseconds=1))


def test_between_is_negative_when_end_is_earlier(shanghai):
    a = datetime(2026, 11, 24, 9, 0, tzinfo=SH)
    b = datetime(2026, 11, 24, 10, 0, tzinfo=SH)
    assert shanghai.between(b, a, "working") == -timedelta(hours=1)


# -- inputs ----------------------------------------------------------------------------------


def test_naive_datetimes_are_refused(shanghai):
    with pytest.raises(ValueError, match="naive"):
        shanghai.add(datetime(2026, 11, 24, 9, 0), timedelta(hours=1), "working")
    with pytest.raises(ValueError, match="naive"):
        shanghai.is_working_time(datetime(2026, 11, 24, 9, 0))
    with pytest.raises(ValueError, match="naive"):
        shanghai.between(datetime(2026, 11, 24, tzinfo=SH), datetime(2026, 11, 25), "working")


def test_negative_working_amount_is_refused(shanghai):
    with pytest.raises(ValueError, match="amount: .*negative"):
        shanghai.add(datetime(2026, 11, 24, 9, 0, tzinfo=SH), timedelta(hours=-1), "working")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"timezone": "Asia/Shangai"}, r"timezone: 'Asia/Shangai' is not a known IANA time zone; use"),
        ({"working_hours": WEEK | {"mon": ["9-12"]}}, r"working_hours\.mon\[0\]: '9-12' is not an interval; write"),
        (
            {"working_hours": WEEK | {"tue": ["18:00-09:00"]}},
            r"working_hours\.tue\[0\]: '18:00-09:00' ends before it starts; give start < end",
        ),
        (
            {"working_hours": WEEK | {"wed": ["09:00-12:00", "11:00-13:00"]}},
            r"working_hours\.wed: '09:00-12:00' overlaps '11:00-13:00'; give",
        ),
        ({"working_hours": {k: v for k, v in WEEK.items() if k != "sun"}}, r"working_hours: missing sun; give every day"),
        ({"working_hours": WEEK | {"monday": []}}, r"working_hours: unknown day key\(s\) \['monday'\]; use exactly"),
        ({"working_hours": {d: [] for d in WEEK}}, r"working_hours: every day is closed; give"),
        ({"working_hours": WEEK | {"thu": ["25:00-26:00"]}}, r"working_hours\.thu\[0\]: .* not a valid time of day"),
        (
            {"extra_holidays": [date(2026, 1, 5)], "extra_workdays": [date(2026, 1, 5)]},
            r"extra_holidays/extra_workdays: \['2026-01-05'\] in both; keep",
        ),
        ({"public_holidays": "china"}, r"public_holidays"),
        ({"holidays": []}, r"holidays"),
    ],
)
def test_invalid_config_names_the_key_and_the_fix(change, message):
    fields = {"timezone": "Asia/Shanghai", "working_hours": WEEK} | change
    with pytest.raises(ValueError, match=message):
        CalendarConfig(**fields)


def test_config_is_frozen():
    config = CalendarConfig(timezone="Asia/Shanghai", working_hours=WEEK)
    with pytest.raises(ValueError):
        config.timezone = "UTC"


def test_24_00_is_accepted_as_an_end_of_day():
    week = {d: ["20:00-24:00"] for d in WEEK}
    cal = BusinessCalendar(CalendarConfig(timezone="UTC", working_hours=week))
    end = cal.add(datetime(2026, 11, 24, 23, 0, tzinfo=UTC), timedelta(hours=2), "working")
    assert end == datetime(2026, 11, 25, 21, 0, tzinfo=UTC)
