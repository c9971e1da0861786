"""Customers hear from us (issue 12): every customer message leaves through the outbox on the
customer's way — e-mail to a real SMTP server (aiosmtpd), SMS to a real HTTP gateway on 127.0.0.1
— never in their rest hours, and a gateway that is down loses nothing and sends nothing twice."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from gateway import Gateway
from sqlmodel import Session, select

from kefu import runtime
from kefu.escalation.channels import Channels, FileGateway, HttpGateway
from kefu.escalation.mail import SmtpTransport, deliver_due
from kefu.processes.complaint import decisions as complaints
from models.complaint import ContactRegistration
from models.outbox import OutboxMessage

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def sms_gateway():
    gateway = Gateway().start()
    yield gateway
    gateway.stop()


def _channels(smtp_url: str, sms_url: str, tmp_path) -> Channels:
    body = runtime.rules().customer_messages
    return Channels(email=SmtpTransport(smtp_url), sms=HttpGateway(sms_url, body.sms_body, lambda: "sms-token-1"),
                    chat=FileGateway(tmp_path / "outbox", "chat", body.chat_body))


def _complaint(channel: str = "phone", email: str | None = None, phone: str = "13812345678") -> str:
    store, rules = runtime.store(), runtime.rules()
    case = complaints.register_contact(store, rules, ContactRegistration(
        name="张三", phone=phone, email=email, channel=channel, content="包裹破损，外箱湿透"))
    complaints.acknowledge(store, rules, case.case_id)
    return case.case_id


def _customer_rows() -> list[OutboxMessage]:
    with Session(runtime.store().engine) as session:
        return [r for r in session.exec(select(OutboxMessage).order_by(OutboxMessage.id)) if r.key.startswith("customer:")]


def test_a_customer_who_wrote_in_with_an_address_receives_the_acknowledgement_by_e_mail(
        kefu_env, smtp_server, sms_gateway, tmp_path):
    """customer_messages.yaml ways.email: [email, sms] — the acknowledgement of seed 002 §4 (7)
    投诉受理 ("有投诉即时受理") reaches the customer's own mailbox, bilingual, from the outbox."""
    case_id = _complaint(channel="email", email="zhang.san@example.cn")
    report = deliver_due(runtime.store().engine, _channels(smtp_server.url, sms_gateway.url, tmp_path))
    assert report.sent == 1 and sms_gateway.requests == []
    [(_, to, message)] = smtp_server.received
    assert to == ["zhang.san@example.cn"] and case_id in message["Subject"]
    assert case_id in message.get_body(("plain",)).get_content()
    state = runtime.store().state(case_id)
    assert state.notices["acknowledgement"]["way"] == "email"


def test_a_phone_callers_acknowledgement_goes_to_the_sms_gateway_with_its_token_and_message_id(
        kefu_env, smtp_server, sms_gateway, tmp_path):
    case_id = _complaint(channel="phone")
    deliver_due(runtime.store().engine, _channels(smtp_server.url, sms_gateway.url, tmp_path))
    [request] = sms_gateway.requests
    assert request["headers"]["Authorization"] == "Bearer sms-token-1"
    assert request["body"]["mobile"] == "13812345678" and case_id in request["body"]["content"]
    [row] = _customer_rows()
    assert request["body"]["out_id"] == row.message_id == request["headers"]["Idempotency-Key"]
    assert smtp_server.received == []


def test_an_sms_gateway_that_is_down_loses_nothing_and_sends_nothing_twice(kefu_env, frozen_clock, smtp_server,
                                                                           sms_gateway, tmp_path):
    """A message the gateway refused stays in the outbox with the outbox's back-off and goes out
    once when the gateway is back; every attempt carries the same message id."""
    sms_gateway.down = True
    for phone in ("13812345678", "13912345678", "13712345678"):
        _complaint(phone=phone)
    channels = _channels(smtp_server.url, sms_gateway.url, tmp_path)
    engine = runtime.store().engine
    assert deliver_due(engine, channels).failed == 3
    frozen_clock.advance(timedelta(minutes=1))
    assert deliver_due(engine, channels).failed == 3
    assert all(r.status == "failed" and "503" in r.last_error for r in _customer_rows())

    sms_gateway.down = False
    frozen_clock.advance(timedelta(minutes=2))
    assert deliver_due(engine, channels).sent == 3
    frozen_clock.advance(timedelta(hours=3))
    assert deliver_due(engine, channels).sent == 0
    assert sorted(b["mobile"] for b in sms_gateway.accepted) == ["13712345678", "13812345678", "13912345678"]
    by_id: dict[str, set[str]] = {}
    for request in sms_gateway.requests:
        by_id.setdefault(request["body"]["mobile"], set()).add(request["headers"]["Idempotency-Key"])
    assert all(len(keys) == 1 for keys in by_id.values())  # 3 attempts each, one message id each
    assert len(sms_gateway.requests) == 9 and all(r.status == "sent" for r in _customer_rows())


def test_a_message_written_in_the_customers_rest_hours_is_held_in_the_outbox_until_they_end(
        kefu_env, frozen_clock, smtp_server, sms_gateway, tmp_path):
    """Seed 001 客户服务部工作职责及规范 二、4 回访规范 "避免在客户休息时打扰客户": a complaint registered
    at 22:40 in the customer's zone is acknowledged on record at once; the SMS leaves at 09:00."""
    frozen_clock.set_now(datetime(2026, 11, 23, 22, 40, tzinfo=SHANGHAI))
    _complaint()
    channels = _channels(smtp_server.url, sms_gateway.url, tmp_path)
    engine = runtime.store().engine
    assert deliver_due(engine, channels).sent == 0
    frozen_clock.set_now(datetime(2026, 11, 24, 8, 59, tzinfo=SHANGHAI))
    assert deliver_due(engine, channels).sent == 0 and sms_gateway.requests == []
    frozen_clock.set_now(datetime(2026, 11, 24, 9, 0, tzinfo=SHANGHAI))
    assert deliver_due(engine, channels).sent == 1 and len(sms_gateway.requests) == 1


def test_without_a_gateway_a_customer_sms_lands_as_a_file_in_the_outbox_folder(kefu_env, tmp_path):
    """The embedded default needs no SMS gateway: the message is kept as the gateway would get it."""
    from kefu.executor import prefect_env

    case_id = _complaint()
    assert deliver_due(runtime.store().engine, prefect_env.mail_transport()).sent == 1
    [path] = (kefu_env / "outbox").glob("*.sms.json")
    body = json.loads(path.read_text(encoding="utf-8"))
    assert body["mobile"] == "13812345678" and case_id in body["content"]


def test_a_customer_message_is_queued_with_the_event_that_records_it_or_not_at_all(kefu_env, monkeypatch):
    """The transactional outbox: when the append fails, neither the notice nor its message exists."""
    from kefu.core import customer_messages

    store, rules = runtime.store(), runtime.rules()
    case = complaints.register_contact(store, rules, ContactRegistration(
        name="张三", phone="13812345678", channel="phone", content="包裹破损"))

    def broken(*_a, **_k):
        raise RuntimeError("the outbox write failed")

    monkeypatch.setattr(customer_messages, "queue", broken)
    with pytest.raises(RuntimeError):
        complaints.acknowledge(store, rules, case.case_id)
    assert "acknowledgement" not in store.state(case.case_id).notices and _customer_rows() == []
