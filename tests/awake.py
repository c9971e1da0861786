"""For tests that run on the real clock (a kefu of its own, the demo's day): a customer time zone
where it is mid-afternoon now, so kefu's own rules (no message and no call in the customer's quiet
hours, customer_messages.yaml: 12–14 and 21–09) let the test's customer be reached whenever the
suite runs. kefu holds a message for the morning, or refuses a call, otherwise, as it must."""

from __future__ import annotations

from datetime import datetime, timezone


def awake_zone() -> str:
    """``Etc/GMT-3`` is UTC+3 (the sign of the Etc zones is inverted)."""
    offset = (15 - datetime.now(timezone.utc).hour + 12) % 24 - 12
    return f"Etc/GMT{-offset:+d}" if offset else "UTC"
