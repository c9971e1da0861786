"""The demo's scripted people sign in like anyone else: the demo issues each a personal token
once and acts with the identity it verifies (kefu.core.identity), and gives each a dashboard PIN
so that a person trying the forms can act as them."""

from __future__ import annotations

from kefu import runtime
from kefu.core import clock, identity
from kefu.core.identity import Verified

# The demo's business clock runs days ahead: its tokens outlive the day it plays.
_DAYS = 30
_signed_in: dict[tuple[str, str], Verified] = {}


def signed_in(staff: str) -> Verified:
    """``staff``, verified by a token the demo issued them (one per person and kefu home)."""
    engine, rules = runtime.store().engine, runtime.rules()
    key = (str(engine.url), staff)
    if key not in _signed_in:
        token = identity.issue_token(engine, rules, staff, clock.now(), _DAYS)
        _signed_in[key] = identity.verify_token(engine, rules, token, clock.now())
    return _signed_in[key]


def dashboard_pins() -> dict[str, str]:
    """A fresh dashboard PIN for every staff member (shown once, at the end of the demo)."""
    engine, rules = runtime.store().engine, runtime.rules()
    return {s.id: identity.issue_pin(engine, rules, s.id, clock.now()) for s in rules.department.staff}
