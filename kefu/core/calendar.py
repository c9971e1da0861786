"""The business calendar: deadlines in working time or calendar time.

Why it exists (issue "Deadlines that cannot be missed quietly"): a deadline such as "judged
within 24 working hours" or "resolved within 3 calendar days" must land on the right instant
across nights, weekends, Chinese public holidays, adjusted working days (调休: a Saturday or
Sunday that is a working day) and daylight-saving changes. PROCESSES.md (P1): "Step deadlines
are not given in the seeds: **(our choice)** per-severity SLA in config" -- so the amounts live
in config, and this module only does the arithmetic, driven by a :class:`CalendarConfig`.

Rules implemented here:

* Working time is the union of the day's local opening intervals (half-open ``[start, end)``).
  A day is a working day when it has hours: a weekday with hours that is not a holiday, or an
  adjusted working day. Precedence: ``extra_holidays`` > ``extra_workdays`` > the library's
  holidays > the library's adjusted working days > the weekday's own hours.
* An adjusted working day that falls on a weekend (or on a weekday without hours) uses the
  working hours of a normal weekday: Monday's (the first weekday with hours if Monday is closed).
* Public holidays come from ``chinesecalendar`` (data per year, State Council notices). For a
  year the library has no data for (it raises ``NotImplementedError``), the calendar falls back
  to weekday rules plus the overrides, records the fact in :attr:`BusinessCalendar.warnings`
  and logs a warning; it never crashes.
* ``basis="working"``: only working time counts; a start outside hours starts the clock at the
  next opening; the result is the earliest instant at which the amount has elapsed (so a
  deadline that uses up a day exactly ends at closing time, not at the next opening).
* ``basis="calendar"``: whole days of the amount are local calendar days (3 days = the same
  local wall time 3 days later, DST-correct); the rest (hours, minutes) is elapsed time.
  Note that ``timedelta(hours=24) == timedelta(days=1)``: with this basis, 24 h *is* one
  calendar day. A wall time that does not exist on the target day (spring-forward gap) moves
  forward by the gap.
* Results are aware datetimes in UTC; naive inputs raise ``ValueError``.
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime, timedelta, timezone
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import field_validator, model_validator

from kefu.core.config import Strict

log = logging.getLogger(__name__)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_INTERVAL = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
_UTC = timezone.utc
_EPOCH = datetime(1970, 1, 1, tzinfo=_UTC)
_US = timedelta(microseconds=1)
_ONE_DAY = timedelta(days=1)
# A walk that finds no working time for this many days means a config that closes everything.
_MAX_WALK_DAYS = 3660
_CACHE_LIMIT = 20000

Basis = Literal["working", "calendar"]


def _parse_interval(text: object, where: str) -> tuple[int, int]:
    """``"09:00-12:00"`` -> (540, 720) minutes after local midnight; ``24:00`` allowed as end."""
    fix = 'write it as "HH:MM-HH:MM", e.g. "09:00-12:00"'
    if not isinstance(text, str):
        raise ValueError(f"{where}: {text!r} is not a string; {fix}")
    m = _INTERVAL.match(text.strip())
    if m is None:
        raise ValueError(f"{where}: {text!r} is not an interval; {fix}")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2 != 0):
        raise ValueError(f"{where}: {text!r} is not a valid time of day; use 00:00..23:59 (24:00 as an end)")
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if end <= start:
        raise ValueError(
            f"{where}: {text!r} ends before it starts; give start < end within one day "
            '(split a night shift into "22:00-24:00" and the next day\'s "00:00-06:00")'
        )
    return start, end


class CalendarConfig(Strict):
    """Where and when the department works. Amounts (SLAs) live elsewhere in config."""

    timezone: str
    working_hours: dict[str, list[str]]
    public_holidays: Literal["chinesecalendar", "none"] = "none"
    extra_holidays: list[date] = []
    extra_workdays: list[date] = []

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise ValueError(
                f"timezone: {value!r} is not a known IANA time zone; use a name like "
                '"Asia/Shanghai" or "America/New_York"'
            ) from None
        return value

    @field_validator("working_hours")
    @classmethod
    def _valid_hours(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = sorted(k for k in value if k not in WEEKDAYS)
        if unknown:
            raise ValueError(
                f"working_hours: unknown day key(s) {unknown}; use exactly mon, tue, wed, thu, fri, sat, sun"
            )
        missing = [k for k in WEEKDAYS if k not in value]
        if missing:
            raise ValueError(
                f"working_hours: missing {', '.join(missing)}; give every day mon..sun, [] for a closed day"
            )
        for day in WEEKDAYS:
            parsed = sorted(
                (_parse_interval(text, f"working_hours.{day}[{i}]"), i) for i, text in enumerate(value[day])
            )
            for ((_, end_a), i), ((start_b, _), j) in zip(parsed, parsed[1:]):
                if start_b < end_a:
                    raise ValueError(
                        f"working_hours.{day}: {value[day][i]!r} overlaps {value[day][j]!r}; "
                        "give non-overlapping intervals"
                    )
        if not any(value[day] for day in WEEKDAYS):
            raise ValueError("working_hours: every day is closed; give at least one day its hours")
        return value

    @model_validator(mode="after")
    def _overrides_disjoint(self) -> CalendarConfig:
        both = sorted(set(self.extra_holidays) & set(self.extra_workdays))
        if both:
            raise ValueError(
                f"extra_holidays/extra_workdays: {[d.isoformat() for d in both]} in both; "
                "keep each date in one list"
            )
        return self


def _to_us(at: datetime) -> int:
    return (at - _EPOCH) // _US


def _from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def _require_aware(at: object, name: str) -> datetime:
    if not isinstance(at, datetime):
        raise ValueError(f"{name}: {at!r} is not a datetime; pass an aware datetime")
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(
            f"{name}: naive datetime {at.isoformat()}; pass an aware datetime "
            "(e.g. tzinfo=ZoneInfo(\"Asia/Shanghai\") or timezone.utc)"
        )
    return at


class BusinessCalendar:
    """Working-time and calendar-time arithmetic for one :class:`CalendarConfig`.

    Per-day working intervals (UTC microseconds) are computed once and cached, and the
    arithmetic walks day by day, so a few weeks of working time cost a few microseconds.
    """

    def __init__(self, config: CalendarConfig) -> None:
        self.config = config
        self.zone = ZoneInfo(config.timezone)
        self.warnings: list[str] = []
        self._hours: dict[int, tuple[tuple[int, int], ...]] = {
            i: tuple(sorted(_parse_interval(t, f"working_hours.{d}") for t in config.working_hours[d]))
            for i, d in enumerate(WEEKDAYS)
        }
        # Hours of an adjusted working day on a weekend: Monday's (or the first weekday with hours).
        self._adjusted_hours = next(
            (self._hours[i] for i in range(5) if self._hours[i]),
            next(h for h in self._hours.values() if h),
        )
        self._extra_holidays = frozenset(config.extra_holidays)
        self._extra_workdays = frozenset(config.extra_workdays)
        self._use_library = config.public_holidays == "chinesecalendar"
        self._lib_holidays: frozenset[date] = frozenset()
        self._lib_workdays: frozenset[date] = frozenset()
        if self._use_library:
            import chinese_calendar

            self._lib = chinese_calendar
            self._lib_holidays = frozenset(chinese_calendar.holidays)
            self._lib_workdays = frozenset(chinese_calendar.workdays)
        self._year_covered: dict[int, bool] = {}
        self._day_cache: dict[date, tuple[tuple[int, int], ...]] = {}

    # -- days -------------------------------------------------------------------------------

    def _library_covers(self, year: int) -> bool:
        covered = self._year_covered.get(year)
        if covered is None:
            try:
                self._lib.is_workday(date(year, 1, 1))
                covered = True
            except NotImplementedError:
                covered = False
                message = (
                    f"chinesecalendar has no holiday data for {year}: weekday rules plus "
                    "extra_holidays/extra_workdays apply; upgrade chinesecalendar or list the "
                    f"{year} holidays in extra_holidays/extra_workdays"
                )
                self.warnings.append(message)
                log.warning(message)
            self._year_covered[year] = covered
        return covered

    def _day_kind(self, day: date) -> Literal["holiday", "adjusted", "normal"]:
        if day in self._extra_holidays:
            return "holiday"
        if day in self._extra_workdays:
            return "adjusted"
        if self._use_library and self._library_covers(day.year):
            if day in self._lib_holidays:
                return "holiday"
            if day in self._lib_workdays:
                return "adjusted"
        return "normal"

    def _hours_of(self, day: date) -> tuple[tuple[int, int], ...]:
        kind = self._day_kind(day)
        if kind == "holiday":
            return ()
        own = self._hours[day.weekday()]
        if kind == "adjusted" and (day.weekday() >= 5 or not own):
            return self._adjusted_hours
        return own

    def is_holiday(self, day: date) -> bool:
        """A public holiday (the library's, or ``extra_holidays``); a mere weekend is not one.
        A date in ``extra_workdays`` is not a holiday (the override wins)."""
        if isinstance(day, datetime):
            raise ValueError("day: pass a date, not a datetime (use at.astimezone(cal.zone).date())")
        return self._day_kind(day) == "holiday"

    def is_workday(self, day: date) -> bool:
        """The day has working hours (see the module's precedence rules)."""
        if isinstance(day, datetime):
            raise ValueError("day: pass a date, not a datetime (use at.astimezone(cal.zone).date())")
        return bool(self._hours_of(day))

    def _intervals(self, day: date) -> tuple[tuple[int, int], ...]:
        """The day's working intervals as UTC microseconds, cached."""
        cached = self._day_cache.get(day)
        if cached is not None:
            return cached
        midnight = datetime(day.year, day.month, day.day)
        out = []
        for start_min, end_min in self._hours_of(day):
            s = _to_us((midnight + timedelta(minutes=start_min)).replace(tzinfo=self.zone))
            e = _to_us((midnight + timedelta(minutes=end_min)).replace(tzinfo=self.zone))
            if e > s:  # an interval swallowed by a DST gap is dropped
                out.append((s, e))
        result = tuple(out)
        if len(self._day_cache) >= _CACHE_LIMIT:
            self._day_cache.clear()
        self._day_cache[day] = result
        return result

    def _local_day(self, us: int) -> date:
        return _from_us(us).astimezone(self.zone).date()

    # -- instants ---------------------------------------------------------------------------

    def is_working_time(self, at: datetime) -> bool:
        """``at`` lies inside one of its local day's opening intervals (start inclusive, end exclusive)."""
        t = _to_us(_require_aware(at, "at"))
        return any(s <= t < e for s, e in self._intervals(self._local_day(t)))

    def next_working_moment(self, at: datetime) -> datetime:
        """``at`` itself (in UTC) if it is working time, else the next opening."""
        t = _to_us(_require_aware(at, "at"))
        day = self._local_day(t)
        for _ in range(_MAX_WALK_DAYS):
            for s, e in self._intervals(day):
                if t < e:
                    return _from_us(max(s, t))
            day += _ONE_DAY
        raise ValueError(f"calendar: no working time within {_MAX_WALK_DAYS} days after {at.isoformat()}; "
                         "check working_hours and extra_holidays")

    def add(self, start: datetime, amount: timedelta, basis: Basis) -> datetime:
        """The deadline ``amount`` after ``start``, counted in working or calendar time (UTC)."""
        _require_aware(start, "start")
        if not isinstance(amount, timedelta):
            raise ValueError(f"amount: {amount!r} is not a timedelta; pass e.g. timedelta(hours=24)")
        if basis == "working":
            return self._add_working(start, amount)
        if basis == "calendar":
            return self._add_calendar(start, amount)
        raise ValueError(f'basis: {basis!r} is unknown; use "working" or "calendar"')

    def _add_working(self, start: datetime, amount: timedelta) -> datetime:
        if amount < timedelta(0):
            raise ValueError(f"amount: {amount} is negative; working time only counts forward")
        t = _to_us(start)
        remaining = amount // _US
        if remaining == 0:
            return start.astimezone(_UTC)
        day = self._local_day(t)
        for _ in range(_MAX_WALK_DAYS * 10):
            for s, e in self._intervals(day):
                if e <= t:
                    continue
                begin = s if s > t else t
                available = e - begin
                if remaining <= available:
                    return _from_us(begin + remaining)
                remaining -= available
            day += _ONE_DAY
        raise ValueError(f"calendar: {amount} of working time not found within {_MAX_WALK_DAYS * 10} days; "
                         "check working_hours and extra_holidays")

    def _shift_days(self, start: datetime, days: int) -> datetime:
        local = start.astimezone(self.zone)
        wall = local.replace(tzinfo=None) + timedelta(days=days)
        return wall.replace(tzinfo=self.zone, fold=local.fold).astimezone(_UTC)

    def _add_calendar(self, start: datetime, amount: timedelta) -> datetime:
        shifted = self._shift_days(start, amount.days)
        return shifted + timedelta(seconds=amount.seconds, microseconds=amount.microseconds)

    def between(self, start: datetime, end: datetime, basis: Basis) -> timedelta:
        """The amount from ``start`` to ``end``; negative if ``end`` is earlier.

        Working basis: the working time inside ``[start, end]``, so
        ``between(s, add(s, a, "working"), "working") == a`` for every ``a >= 0``.
        Calendar basis: whole local calendar days plus the elapsed rest.
        """
        _require_aware(start, "start")
        _require_aware(end, "end")
        if end < start:
            return -self.between(end, start, basis)
        if basis == "working":
            return self._between_working(start, end)
        if basis == "calendar":
            return self._between_calendar(start, end)
        raise ValueError(f'basis: {basis!r} is unknown; use "working" or "calendar"')

    def _between_working(self, start: datetime, end: datetime) -> timedelta:
        t0, t1 = _to_us(start), _to_us(end)
        total = 0
        day, last = self._local_day(t0), self._local_day(t1)
        while day <= last:
            for s, e in self._intervals(day):
                lo, hi = max(s, t0), min(e, t1)
                if hi > lo:
                    total += hi - lo
            day += _ONE_DAY
        return timedelta(microseconds=total)

    def _between_calendar(self, start: datetime, end: datetime) -> timedelta:
        days = (end.astimezone(self.zone).date() - start.astimezone(self.zone).date()).days
        shifted = self._shift_days(start, days)
        while days > 0 and shifted > end:
            days -= 1
            shifted = self._shift_days(start, days)
        return timedelta(days=days) + (end - shifted)
