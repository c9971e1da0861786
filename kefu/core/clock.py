"""The one business clock.

Every business time in kefu comes from :func:`now`. ``KEFU_NOW`` freezes it for a whole
process tree (the runner hands its environment to every flow run); tests and
simulations move it with :func:`set_now` and :func:`advance` instead of sleeping, so a
three-day deadline is tested in milliseconds.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from kefu.settings import get_settings

_frozen: datetime | None = None
_loaded = False


def now() -> datetime:
    """The current business time, timezone-aware, in UTC."""
    global _frozen, _loaded
    if not _loaded:
        _loaded = True
        if _frozen is None and get_settings().now is not None:
            _frozen = get_settings().now
    if _frozen is not None:
        return _frozen.astimezone(timezone.utc)
    return datetime.now(timezone.utc)


def set_now(at: datetime | None) -> None:
    """Freeze the clock at ``at`` (aware), or let it run with the wall clock again (None)."""
    global _frozen, _loaded
    if at is not None and at.tzinfo is None:
        raise ValueError("the business clock takes aware datetimes only")
    _frozen, _loaded = at, True


def frozen_at() -> datetime | None:
    """The time the clock is frozen at, or None while it runs with the wall clock."""
    now()  # loads KEFU_NOW on first use
    return _frozen


def advance(delta: timedelta) -> datetime:
    """Move a frozen clock forward; freezes a running one at now + delta."""
    set_now(now() + delta)
    return now()


def as_utc(at: datetime) -> datetime:
    """Normalise an aware datetime to UTC; a naive one is refused, never guessed."""
    if at.tzinfo is None:
        raise ValueError(f"{at.isoformat()} has no UTC offset")
    return at.astimezone(timezone.utc)
