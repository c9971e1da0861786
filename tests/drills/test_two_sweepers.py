"""Drill: two sweepers at once on PostgreSQL over 10,000 breaches (issue 18).

3,334 major complaints left unjudged for 3.5 hours: each has three judgement rungs due (1, 2 and
3 h), 10,002 breaches. Two sweepers start together, each with its own engine, as two watches on
two hosts would. Every rung is recorded once, every digest item is mailed once to one person,
and nothing is left due. It prints what it counted and how long it took.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta

import pytest
from escalation.test_sweep import assert_each_rung_once, digest_items, new_complaint, outbox, sweep_now, two_sweepers

pytestmark = pytest.mark.postgres

CASES = 3334


def test_two_sweepers_over_ten_thousand_breaches_record_and_mail_each_rung_once(pg_store, rules, frozen_clock):
    """Issue 18: 0 duplicate rungs, 0 duplicate mails, 0 left behind."""
    started = time.monotonic()
    for n in range(CASES):
        new_complaint(pg_store, rules, "major", f"客户{n}")
    seeded = time.monotonic() - started
    frozen_clock.advance(timedelta(hours=3, minutes=30))

    started = time.monotonic()
    reports = two_sweepers(pg_store, rules, limit=500)
    swept = time.monotonic() - started
    assert sweep_now(pg_store, rules).rungs_fired == 0  # nothing left behind
    fired = [sum(r.rungs_fired for r in mine) for mine in reports]
    rungs = assert_each_rung_once(pg_store.engine)
    assert sum(fired) == len(rungs) == 3 * CASES
    messages = outbox(pg_store.engine)
    listed = Counter((m.to[0], item) for m in messages for item in digest_items(m))
    assert max(listed.values()) == 1  # no rung in two digests of the same person
    print(f"\ndrill two-sweepers: {CASES} cases, {3 * CASES} breaches (seeded in {seeded:.0f} s); two sweepers "
          f"fired {fired[0]} + {fired[1]} rungs in {swept:.1f} s ({3 * CASES / swept:.0f} rungs/s), "
          f"{len(messages)} digests listing {len(listed)} items; duplicate rungs 0, duplicate digest items 0, "
          f"left due 0")
