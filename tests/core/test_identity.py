"""Who decided is who decided (kefu/core/identity.py): credentials checked against their hashes,
each person's event stamped with how they were verified inside its hash-chained payload, and the
auditor's question — does every decision carry an identity the rules of its time allow?"""

from __future__ import annotations

from datetime import timedelta

import pytest
from people import signed_in

from kefu.core import clock, identity
from kefu.core.identity import Acting, Verified
from kefu.core.refusals import InputRefused
from kefu.core.store import NewEvent


def test_a_pin_is_verified_for_its_owner_only(store, rules, frozen_clock):
    pin = identity.issue_pin(store.engine, rules, "sun.li", clock.now())
    assert identity.verify_pin(store.engine, rules, "sun.li", pin, clock.now()) == Verified("sun.li", "form-pin")
    with pytest.raises(InputRefused) as wrong:
        identity.verify_pin(store.engine, rules, "chen.jing", pin, clock.now())
    assert wrong.value.field == "pin" and "kefu staff pin issue chen.jing" in wrong.value.fix


def test_a_new_pin_replaces_the_old_one(store, rules, frozen_clock):
    old = identity.issue_pin(store.engine, rules, "sun.li", clock.now())
    new = identity.issue_pin(store.engine, rules, "sun.li", clock.now())
    assert identity.verify_pin(store.engine, rules, "sun.li", new, clock.now()).staff == "sun.li"
    if old != new:
        with pytest.raises(InputRefused):
            identity.verify_pin(store.engine, rules, "sun.li", old, clock.now())


def test_a_personal_token_also_opens_the_form(store, rules, frozen_clock):
    token = identity.issue_token(store.engine, rules, "li.na", clock.now())
    assert identity.verify_pin(store.engine, rules, "li.na", token, clock.now()).staff == "li.na"
    with pytest.raises(InputRefused):
        identity.verify_pin(store.engine, rules, "wang.fang", token, clock.now())


def test_an_expired_token_is_refused_naming_the_day(store, rules, frozen_clock):
    token = identity.issue_token(store.engine, rules, "li.na", clock.now(), days=1)
    with pytest.raises(InputRefused) as expired:
        identity.verify_token(store.engine, rules, token, clock.now() + timedelta(days=1, seconds=1))
    assert "expired on" in expired.value.problem


def test_a_token_for_somebody_not_on_the_roster_cannot_be_issued(store, rules, frozen_clock):
    with pytest.raises(InputRefused) as unknown:
        identity.issue_token(store.engine, rules, "ghost", clock.now())
    assert unknown.value.field == "by"


def test_an_event_is_stamped_only_for_the_person_acting(store, rules, frozen_clock):
    with signed_in("li.na"):
        assert identity.stamped("li.na", {"a": 1})["verified"] == {"method": "cli-token", "staff": "li.na"}
        assert "verified" not in identity.stamped("wang.fang", {"a": 1})
    assert "verified" not in identity.stamped("li.na", {"a": 1})
    assert identity.stamped(identity.SYSTEM, {})["verified"] == {"method": "system"}
    assert identity.stamped("kefu.sweep", {})["verified"] == {"method": "system"}  # the sweep is kefu too


def test_a_stamp_is_part_of_the_chained_record(store, rules, frozen_clock):
    from audit_cases import answered_consultation

    case_id = answered_consultation(store, rules)
    answered = next(e for e in store.events(case_id) if e.type == "contact.answered")
    assert answered.payload["verified"] == {"method": "cli-token", "staff": "wang.fang"}


def test_replay_requires_a_verified_person_under_rules_with_access(rules):
    judged = {"upheld": False}
    assert identity.unverified(rules, "judgement", "li.na", judged) is not None
    assert identity.unverified(rules, "judgement", "li.na",
                               {**judged, "verified": {"method": "cli-token", "staff": "li.na"}}) is None
    assert identity.unverified(rules, "judgement", "li.na",
                               {**judged, "verified": {"method": "cli-token", "staff": "wang.fang"}}) is not None
    # Somebody kefu does not know as staff (a customer booking their own time) is not asked.
    assert identity.unverified(rules, None, "customer", {}) is None


def test_a_deputy_is_allowed_only_at_the_steps_the_rules_name(rules):
    """department.yaml access.deputies: chen.jing stands in for a manager at the approval."""
    stamp = Acting("sun.li", Verified("chen.jing", "cli-token")).stamp
    assert identity.unverified(rules, "approval", "sun.li", {"verified": stamp}) is None
    assert identity.unverified(rules, "review", "sun.li", {"verified": stamp}) is not None
    assert identity.unverified(rules, "approval", "zhou.qiang", {"verified": {**stamp, "for": "zhou.qiang"}}) is not None


def test_rules_without_access_required_no_identity(rules):
    old = type("OldRules", (), {"department": rules.department.model_copy(update={"access": None})})()
    assert identity.unverified(old, "judgement", "li.na", {}) is None


def test_the_acting_person_is_forgotten_after_the_request(store, rules, frozen_clock):
    with identity.acting_as(Acting("li.na", Verified("li.na", "cli-token"))):
        pass
    event = NewEvent("x", "li.na", clock.now(), {})
    assert "verified" not in identity.stamped(event.actor, event.payload)


def test_a_pin_is_revoked_after_too_many_wrong_ones(store, rules, frozen_clock):
    """department.yaml access.pin_attempts: a six-digit PIN cannot be found by trying."""
    pin = identity.issue_pin(store.engine, rules, "sun.li", clock.now())
    wrong = "000000" if pin != "000000" else "111111"
    for _ in range(rules.department.access.pin_attempts - 1):
        with pytest.raises(InputRefused):
            identity.verify_pin(store.engine, rules, "sun.li", wrong, clock.now())
    with pytest.raises(InputRefused) as locked:
        identity.verify_pin(store.engine, rules, "sun.li", wrong, clock.now())
    assert "revoked" in locked.value.problem
    with pytest.raises(InputRefused):
        identity.verify_pin(store.engine, rules, "sun.li", pin, clock.now())  # the right one no longer opens it


def test_the_right_pin_resets_the_count_of_wrong_ones(store, rules, frozen_clock):
    pin = identity.issue_pin(store.engine, rules, "sun.li", clock.now())
    wrong = "000000" if pin != "000000" else "111111"
    for _ in range(3):
        for _ in range(rules.department.access.pin_attempts - 1):
            with pytest.raises(InputRefused):
                identity.verify_pin(store.engine, rules, "sun.li", wrong, clock.now())
        assert identity.verify_pin(store.engine, rules, "sun.li", pin, clock.now()).staff == "sun.li"
