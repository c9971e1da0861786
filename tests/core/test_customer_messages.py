"""kefu.core.customer_messages: which way a customer message goes, in which zone, and when it may
arrive (config/customer_messages.yaml)."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from kefu.core import customer_messages
from kefu.core.config import ConfigError
from kefu.processes import load_rules

SHANGHAI, ROME = ZoneInfo("Asia/Shanghai"), ZoneInfo("Europe/Rome")


def _at(hour: int, minute: int = 0, zone: ZoneInfo = SHANGHAI) -> datetime:
    return datetime(2026, 11, 24, hour, minute, tzinfo=zone)  # a Tuesday, a working day


def test_a_message_written_in_the_customers_rest_hours_waits_until_they_end(rules, frozen_clock):
    """Seed 001 客户服务部工作职责及规范 二、4 回访规范 "避免在客户休息时打扰客户": a message written at
    22:30 in the customer's zone may arrive at 09:00 the next morning, not before."""
    frozen_clock.set_now(_at(22, 30))
    event = customer_messages.notice(rules, "acknowledgement", "您好", {"channel": "phone",
                                                                          "phone": "13812345678"}, "ack")
    assert datetime.fromisoformat(event.payload["deliver_at"]) == datetime(2026, 11, 25, 9, 0, tzinfo=SHANGHAI)
    assert event.payload["zone"] == "Asia/Shanghai"


def test_a_message_in_the_customers_waking_hours_is_due_at_once(rules, frozen_clock):
    frozen_clock.set_now(_at(10, 15))
    event = customer_messages.notice(rules, "acknowledgement", "您好", {"channel": "phone",
                                                                          "phone": "13812345678"}, "ack")
    assert datetime.fromisoformat(event.payload["deliver_at"]) == _at(10, 15)


def test_a_customer_abroad_keeps_the_rest_hours_of_their_own_zone_from_their_phone_number(rules, frozen_clock):
    """10:15 in Shanghai is 03:15 in Rome: an Italian number's customer hears from us at 09:00 Rome."""
    frozen_clock.set_now(_at(10, 15))
    event = customer_messages.notice(rules, "acknowledgement", "Buongiorno",
                                     {"channel": "phone", "phone": "+39 06 1234 5678"}, "ack")
    assert event.payload["zone"] == "Europe/Rome"
    assert datetime.fromisoformat(event.payload["deliver_at"]) == datetime(2026, 11, 24, 9, 0, tzinfo=ROME)


def test_the_zone_given_at_intake_wins_over_the_phone_numbers_and_the_department_is_the_last_resort(rules):
    assert customer_messages.zone_on_record(rules, {"phone": "13812345678", "timezone": "America/Los_Angeles"}) == {
        "timezone": "America/Los_Angeles", "timezone_from": "given"}
    assert customer_messages.zone_on_record(rules, {"phone": "13812345678"})["timezone_from"] == "phone"
    # A number no plan knows (too short for any region) leaves the department's zone.
    assert customer_messages.zone_on_record(rules, {"phone": "12-34"}) == {
        "timezone": "Asia/Shanghai", "timezone_from": "department"}


def test_a_message_goes_by_e_mail_only_where_the_channel_allows_it_and_the_customer_gave_an_address(rules):
    """customer_messages.yaml ways: e-mail for a customer who wrote in (email, web) and gave an
    address; SMS otherwise (a phone caller's text goes to their phone); chat for a chat customer."""
    reach = {"phone": "13812345678", "email": "zhang@example.cn"}
    assert customer_messages.route(rules, "email", reach) == ("email", "zhang@example.cn")
    assert customer_messages.route(rules, "web", {"phone": "13812345678"}) == ("sms", "13812345678")
    assert customer_messages.route(rules, "phone", reach) == ("sms", "13812345678")
    assert customer_messages.route(rules, "chat", reach) == ("chat", "13812345678")


def test_quiet_hours_that_leave_no_waking_moment_fail_clearly(rules):
    quiet = customer_messages.QuietTime(customer_messages.QuietHours(daily=["00:00-24:00"]), None)
    with pytest.raises(ValueError, match="quiet_hours"):
        quiet.next_waking_moment(_at(10), SHANGHAI)


@pytest.mark.parametrize("edit, key", [
    (lambda text: text.replace("  default: [sms]\n", ""), "ways"),
    (lambda text: text.replace("holidays_of: cn-office", "holidays_of: cn-offfice"), "quiet_hours.holidays_of"),
    (lambda text: text.replace("default: [sms]", "default: [pigeon]"), "ways.default.0"),
    (lambda text: text.replace('sms_body: \'{"mobile"', 'sms_body: \'{% if %}{"mobile"'), "sms_body"),
])
def test_a_bad_customer_messages_file_is_refused_naming_the_key(config_copy, edit, key):
    path = config_copy / "customer_messages.yaml"
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_rules(config_copy)
    assert refused.value.key == key and refused.value.file.endswith("customer_messages.yaml")


def test_the_queued_message_is_due_when_the_event_says_it_may_arrive(rules, sqlite_store, frozen_clock):
    from sqlmodel import Session, select

    from models.outbox import OutboxMessage

    frozen_clock.set_now(_at(22, 30))
    event = customer_messages.notice(rules, "plan_notice", "方案", {"channel": "email", "phone": "13812345678",
                                                                     "email": "zhang@example.cn"}, "plan-notice:1", 1)
    with Session(sqlite_store.engine) as session, session.begin():
        assert customer_messages.queue(session, rules, "C-1", event)
        assert not customer_messages.queue(session, rules, "C-1", event)  # once, however often it is asked
    with Session(sqlite_store.engine) as session:
        row = session.exec(select(OutboxMessage)).one()
    assert (row.channel, row.to, row.key) == ("email", ["zhang@example.cn"], "customer:C-1:plan-notice:1")
    assert row.next_attempt_at == datetime(2026, 11, 25, 1, 0, tzinfo=timezone.utc)  # 09:00 in Shanghai
    assert "C-1" in row.subject and "方案" in row.text
