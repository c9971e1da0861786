"""Cost of a deadline computation in kefu.core.calendar (no Prefect, no database).

Prints microseconds per ``BusinessCalendar.add`` for 24 working hours and for 3 calendar days,
10,000 calls each, from starts spread over two years (holiday data, weekends, DST). It asserts
nothing.

    .venv/bin/python -m bench.calendar_bench
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from kefu.core.calendar import BusinessCalendar, CalendarConfig

CALLS = 10_000
OFFICE = ["09:00-12:00", "13:30-18:00"]
WEEK = {d: list(OFFICE) for d in ("mon", "tue", "wed", "thu", "fri")} | {"sat": [], "sun": []}


def bench(cal: BusinessCalendar, amount: timedelta, basis: str, starts: list[datetime]) -> float:
    t0 = time.perf_counter()
    for start in starts:
        cal.add(start, amount, basis)
    return (time.perf_counter() - t0) / len(starts) * 1e6


def main() -> None:
    base = datetime(2025, 1, 1, tzinfo=timezone.utc)
    # 10,000 starts, 1 h 13 min apart: ~1.4 years, every hour of the week.
    starts = [base + timedelta(minutes=73 * i) for i in range(CALLS)]
    for zone in ("Asia/Shanghai", "America/New_York"):
        cal = BusinessCalendar(
            CalendarConfig(timezone=zone, working_hours=WEEK, public_holidays="chinesecalendar")
        )
        cal.add(starts[0], timedelta(hours=1), "working")  # import/first-call costs out of the way
        cold = bench(cal, timedelta(hours=24), "working", starts)
        warm = bench(cal, timedelta(hours=24), "working", starts)
        days = bench(cal, timedelta(days=3), "calendar", starts)
        print(f"{zone:18} add 24 working hours: {cold:6.2f} µs/call (cold day cache), "
              f"{warm:6.2f} µs/call (warm); add 3 calendar days: {days:6.2f} µs/call  [{CALLS:,} calls each]")


if __name__ == "__main__":
    main()
