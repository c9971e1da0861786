"""The mail outbox against a real SMTP server (aiosmtpd on 127.0.0.1), on SQLite and PostgreSQL."""

from __future__ import annotations

import email
import email.policy
import re
import sys
import threading
import types
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.smtp import AuthResult
from mailserver import SmtpServer
from sqlmodel import Session
from typer.testing import CliRunner

from kefu.escalation import mail
from kefu.escalation.mail import (
    LEASE,
    MAX_AUTOMATIC_ATTEMPTS,
    FileTransport,
    SmtpTransport,
    backoff,
    deliver_due,
    enqueue,
    render_message,
    retry_failed,
)
from kefu.escalation.sweep import by_case
from kefu.processes import load_rules
from kefu.settings import get_settings
from models.outbox import OutboxMessage

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
SUBJECT = "【kefu 超时升级】3 个案件超时 / 3 cases past deadline — 孙丽"
TEXT = "孙丽，您好：\n案件 C-20261123-0001 已超时。\n/etc/passwd\n\nHello, case C-20261123-0001 is late."
HTML = "<p>孙丽，您好：</p><table><tr><td>C-20261123-0001</td></tr></table>"


@pytest.fixture(autouse=True)
def _fresh_settings():
    """Settings are read once per process; tests that change KEFU_* mail variables re-read them."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def queue(engine, key: str = "escalation-digest:sweep-1:S-003", to=("sun.li@kefu.example",)) -> bool:  # noqa: ANN001
    with Session(engine) as session:
        added = enqueue(session, key=key, to=list(to), subject=SUBJECT, text=TEXT, html=HTML)
        session.commit()
    return added


def rows(engine) -> list[OutboxMessage]:  # noqa: ANN001
    with Session(engine) as session:
        return list(session.exec(sa.select(OutboxMessage).order_by(OutboxMessage.id)).scalars())


def parts(message: email.message.EmailMessage) -> dict[str, str]:
    """The text parts, line ends as Python writes them (MIME's canonical form is CRLF)."""
    return {part.get_content_type(): part.get_content().replace("\r\n", "\n")
            for part in message.walk() if part.get_content_maintype() == "text"}


# -- delivery ------------------------------------------------------------------------------------

def test_delivered_mail_has_plain_recipients_chinese_subject_text_and_html_and_its_message_id(
        store, frozen_clock, smtp_server):
    assert queue(store.engine, to=("sun.li@kefu.example", "wang.fang@kefu.example"))
    report = deliver_due(store.engine, SmtpTransport(smtp_server.url))
    assert (report.sent, report.failed, report.pending_left) == (1, 0, 0)

    [(mail_from, rcpt_tos, msg)] = smtp_server.received
    assert mail_from == "kefu@localhost"
    assert rcpt_tos == ["sun.li@kefu.example", "wang.fang@kefu.example"]
    assert [a.addr_spec for a in msg["To"].addresses] == rcpt_tos
    assert msg["Subject"] == SUBJECT
    assert msg.get_content_type() == "multipart/alternative"
    body = parts(msg)
    assert body["text/plain"].rstrip("\n") == TEXT  # newlines kept, no <br>, the path is text
    assert body["text/html"].rstrip("\n") == HTML
    assert not list(msg.iter_attachments())

    [row] = rows(store.engine)
    assert row.status == "sent" and row.sent_at == frozen_clock.now() and row.attempts == 1
    assert msg["Message-ID"] == row.message_id
    assert re.fullmatch(r"<kefu-\d+-[0-9a-f]{16}@kefu\.local>", row.message_id)
    assert row.message_id == mail.message_id_for(row.id, row.key)


def test_a_report_mail_shows_its_chart_inline_and_carries_its_workbook(store, frozen_clock, smtp_server):
    """A report's e-mail (P8): the chart inside the HTML part (multipart/related, by its cid), the
    workbook attached after it; both arrive byte for byte through a real SMTP server."""
    png, xlsx = b"\x89PNG\r\n\x1a\nchart", b"PK\x03\x04workbook"
    with Session(store.engine) as session:
        enqueue(session, key="report:R-1:chen.jing", to=["chen.jing@kefu.example"], subject=SUBJECT, text=TEXT,
                html='<p>统计</p><img src="cid:chart">', attachments=[
                    mail.Attachment("statistics.png", "image/png", png, cid="chart"),
                    mail.Attachment("统计表.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                                    xlsx)])
        session.commit()
    assert deliver_due(store.engine, SmtpTransport(smtp_server.url)).sent == 1
    [(_, _, msg)] = smtp_server.received
    assert msg.get_content_type() == "multipart/mixed"
    related = next(part for part in msg.walk() if part.get_content_type() == "multipart/related")
    inline = next(part for part in related.walk() if part.get_content_type() == "image/png")
    assert inline["Content-ID"] == "<chart>" and inline.get_content() == png
    [attached] = list(msg.iter_attachments())
    assert attached.get_filename() == "统计表.xlsx" and attached.get_content() == xlsx
    assert parts(msg)["text/plain"].rstrip("\n") == TEXT


def test_same_key_enqueued_twice_is_one_message(store, frozen_clock, smtp_server):
    assert queue(store.engine) is True
    assert queue(store.engine) is False
    with Session(store.engine) as session:  # twice in one transaction, too
        assert enqueue(session, key="k2", to=["a@x.example"], subject="s", text="t", html="h")
        assert not enqueue(session, key="k2", to=["b@x.example"], subject="s", text="t", html="h")
        session.commit()
    assert len(rows(store.engine)) == 2
    assert deliver_due(store.engine, SmtpTransport(smtp_server.url)).sent == 2
    assert len(smtp_server.received) == 2


def test_mail_commits_and_rolls_back_with_the_callers_transaction(store, frozen_clock):
    with Session(store.engine) as session:
        enqueue(session, key="rolled-back", to=["a@x.example"], subject="s", text="t", html="h")
        session.rollback()
    assert rows(store.engine) == []


def test_a_recipient_must_be_a_plain_address(store, frozen_clock):
    with Session(store.engine) as session:
        for bad in ([], ["孙丽 <sun.li@kefu.example>"], ["no-at-sign"]):
            with pytest.raises(ValueError):
                enqueue(session, key="k", to=bad, subject="s", text="t", html="h")


def test_smtp_down_keeps_the_message_failed_with_backoff_then_it_is_delivered_once(store, frozen_clock):
    server = SmtpServer()  # port reserved, nothing listening yet
    transport = SmtpTransport(server.url)
    queue(store.engine)

    report = deliver_due(store.engine, transport)
    assert (report.sent, report.failed, report.pending_left) == (0, 1, 1)
    [row] = rows(store.engine)
    assert row.status == "failed" and row.attempts == 1 and "Connection" in row.last_error
    assert row.next_attempt_at == frozen_clock.now() + timedelta(minutes=1)

    assert deliver_due(store.engine, transport).failed == 0  # not due yet: no attempt
    frozen_clock.advance(timedelta(minutes=1))
    assert deliver_due(store.engine, transport).failed == 1
    [row] = rows(store.engine)
    assert row.attempts == 2 and row.next_attempt_at == frozen_clock.now() + timedelta(minutes=2)

    server.start()
    try:
        assert deliver_due(store.engine, transport).sent == 0  # still backing off
        frozen_clock.advance(timedelta(minutes=2))
        assert deliver_due(store.engine, transport).sent == 1
        frozen_clock.advance(timedelta(hours=2))
        assert deliver_due(store.engine, transport).sent == 0
        assert len(server.received) == 1
        [row] = rows(store.engine)
        assert (row.status, row.attempts, row.last_error, row.next_attempt_at) == ("sent", 3, None, None)
    finally:
        server.stop()


class Crash(BaseException):
    """The process dying: not an Exception, so nothing in kefu catches it."""


class SendThenCrash:
    def __init__(self, inner) -> None:  # noqa: ANN001
        self.inner = inner

    def send(self, outgoing: mail.OutgoingMail) -> None:
        self.inner.send(outgoing)
        raise Crash


def test_crash_between_send_and_mark_resends_after_the_lease_with_the_same_message_id(
        store, frozen_clock, smtp_server):
    queue(store.engine)
    transport = SmtpTransport(smtp_server.url)
    with pytest.raises(Crash):
        deliver_due(store.engine, SendThenCrash(transport))
    [row] = rows(store.engine)
    assert row.status == "sending" and row.claimed_until == frozen_clock.now() + LEASE

    assert deliver_due(store.engine, transport).sent == 0  # the lease still holds
    frozen_clock.advance(LEASE)
    assert deliver_due(store.engine, transport).sent == 1

    first, second = (m for _, _, m in smtp_server.received)
    assert first["Message-ID"] == second["Message-ID"] == row.message_id
    [row] = rows(store.engine)
    assert row.status == "sent" and row.sent_at == frozen_clock.now() and row.attempts == 2
    assert deliver_due(store.engine, transport).sent == 0


def test_a_deliverer_whose_lease_expired_cannot_overwrite_the_outcome(store, frozen_clock, smtp_server):
    queue(store.engine)
    stale_token, [stale] = mail._claim(store.engine, 10)
    frozen_clock.advance(LEASE)
    assert deliver_due(store.engine, SmtpTransport(smtp_server.url)).sent == 1
    mail._mark(store.engine, stale_token, stale.id, "TimeoutError: the old deliverer woke up")
    [row] = rows(store.engine)
    assert row.status == "sent" and row.last_error is None


class Down:
    def send(self, outgoing: mail.OutgoingMail) -> None:
        raise ConnectionRefusedError("SMTP relay down")


def test_backoff_doubles_from_one_minute_and_is_capped_at_an_hour():
    assert [backoff(n) for n in (1, 2, 3, 6, 7, 8, 30)] == [
        timedelta(minutes=m) for m in (1, 2, 4, 32, 60, 60, 60)]


def test_a_message_is_never_dropped_after_many_failures_it_stays_failed_until_retried(
        store, frozen_clock, smtp_server):
    queue(store.engine)
    for _ in range(MAX_AUTOMATIC_ATTEMPTS):
        deliver_due(store.engine, Down())
        frozen_clock.advance(timedelta(hours=1))
    [row] = rows(store.engine)
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", MAX_AUTOMATIC_ATTEMPTS, None)
    assert row.last_error == "ConnectionRefusedError: SMTP relay down"
    assert deliver_due(store.engine, SmtpTransport(smtp_server.url)).pending_left == 1  # parked, visible

    assert retry_failed(store.engine) == 1
    assert deliver_due(store.engine, SmtpTransport(smtp_server.url)).sent == 1
    assert len(smtp_server.received) == 1


def test_two_deliverers_running_at_once_send_each_message_once(store, frozen_clock, smtp_server):
    for n in range(40):
        queue(store.engine, key=f"escalation-digest:sweep-1:S-{n:03d}", to=(f"s{n}@kefu.example",))
    transport = SmtpTransport(smtp_server.url)
    reports, barrier = [], threading.Barrier(2)

    def run() -> None:
        barrier.wait()
        reports.append(deliver_due(store.engine, transport))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(r.sent for r in reports) == 40 and sum(r.failed for r in reports) == 0
    ids = [m["Message-ID"] for _, _, m in smtp_server.received]
    assert len(ids) == len(set(ids)) == 40
    assert {r.status for r in rows(store.engine)} == {"sent"}
    assert all(r.attempts == 1 for r in rows(store.engine))


# -- transports ----------------------------------------------------------------------------------

def test_file_transport_writes_a_parseable_eml_with_text_and_html(store, frozen_clock, tmp_path):
    queue(store.engine)
    assert deliver_due(store.engine, FileTransport(tmp_path / "outbox")).sent == 1
    [path] = (tmp_path / "outbox").glob("*.eml")
    [row] = rows(store.engine)
    assert path.name == f"20261123T013000Z-{row.id}.eml"
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert msg["Subject"] == SUBJECT and msg["Message-ID"] == row.message_id
    assert msg["To"].addresses[0].addr_spec == "sun.li@kefu.example"
    assert {k: v.rstrip("\n") for k, v in parts(msg).items()} == {"text/plain": TEXT, "text/html": HTML}


def test_smtp_url_says_how_to_connect_and_never_holds_the_password():
    t = SmtpTransport("smtps://ops@mail.example.com", password="hunter2")
    assert (t.host, t.port, t.ssl, t.starttls, t.user) == ("mail.example.com", 465, True, False, "ops")
    t = SmtpTransport("smtp+starttls://ops%40corp.example@mail.example.com")
    assert (t.port, t.ssl, t.starttls, t.user) == (587, False, True, "ops@corp.example")
    t = SmtpTransport("smtp://relay.local:2525")
    assert (t.port, t.ssl, t.starttls, t.user) == (2525, False, False, None)
    assert "hunter2" not in repr(SmtpTransport("smtps://ops@h", password="hunter2"))
    with pytest.raises(ValueError, match="KEFU_SMTP_PASSWORD"):
        SmtpTransport("smtps://ops:hunter2@mail.example.com")
    with pytest.raises(ValueError, match="scheme"):
        SmtpTransport("http://mail.example.com")


def test_smtp_login_uses_the_user_as_given_and_the_password_from_the_environment(
        store, frozen_clock, monkeypatch):
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):  # noqa: ANN001, ANN202
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret")

    server = SmtpServer(authenticator=authenticator, auth_require_tls=False).start()
    try:
        monkeypatch.setenv("KEFU_SMTP_PASSWORD", "s3cret")
        get_settings.cache_clear()
        queue(store.engine)
        # No "@" in the user: yagmail would make it ops@gmail.com; kefu must not.
        assert deliver_due(store.engine, SmtpTransport(f"smtp://ops@127.0.0.1:{server.port}")).sent == 1
        assert logins == [(b"ops", b"s3cret")] and len(server.received) == 1
    finally:
        server.stop()


def test_smtp_login_without_a_password_fails_the_message_and_says_where_to_put_it(
        store, frozen_clock, monkeypatch, smtp_server):
    monkeypatch.delenv("KEFU_SMTP_PASSWORD", raising=False)
    get_settings.cache_clear()
    # No Prefect server here: the Secret block cannot be loaded (a stand-in module, no 5 s import).
    fake = types.ModuleType("prefect.blocks.system")
    fake.Secret = types.SimpleNamespace(load=lambda name: 1 / 0)
    monkeypatch.setitem(sys.modules, "prefect.blocks.system", fake)
    queue(store.engine)
    assert deliver_due(store.engine, SmtpTransport(f"smtp://ops@127.0.0.1:{smtp_server.port}")).failed == 1
    [row] = rows(store.engine)
    assert "KEFU_SMTP_PASSWORD" in row.last_error and "kefu-smtp-password" in row.last_error


# -- templates -----------------------------------------------------------------------------------

def _item(**over):  # noqa: ANN003, ANN202
    item = dict(case_id="C-20261123-0001", customer_name="张<b>伟</b>", phone_masked="138****5678",
                process="complaint", step="judgement", severity="major", owner_name="李明",
                due_at="2026-11-23 11:30 (UTC+08:00)", state="late by 3 h 20 min",
                late_by_text_zh="已超时 3 小时 20 分", late_by_text_en="3 h 20 min", percent=266,
                rung_role="supervisor", rule="sla.yaml: complaint judgement major 2 hours", round=1, allowed="2 hours",
                source="PROCESSES.md P1 (our choice)",
                act_command="kefu complaint judge C-20261123-0001 --by S-003",
                case_url="http://127.0.0.1:4200/cases/C-20261123-0001")
    item.update(over)
    item.setdefault("overdue", item["percent"] >= 100)  # as the sweep sets it: due time passed
    return item


DIGEST = dict(
    recipient={"id": "S-003", "name": "孙丽", "role": "supervisor", "email": "sun.li@kefu.example"},
    sweep_at="2026-11-23 14:50 (UTC+08:00)", dashboard_url="http://127.0.0.1:4200",
    label=load_rules(CONFIG_DIR).label,  # the Chinese part's labels (department.yaml labels)
)


def test_escalation_digest_is_one_bilingual_message_chinese_first():
    items = [_item(case_id=f"C-20261123-000{n}", act_command=f"kefu complaint judge C-20261123-000{n} --by S-003")
             for n in (1, 2, 3)]
    items.append(_item(case_id="C-20261123-0004", percent=50, state="due in 2 h", late_by_text_zh="还有 2 小时到期",
                       act_command="kefu complaint judge C-20261123-0004 --by S-003"))
    subject, text, html = render_message(CONFIG_DIR, "escalation/digest", cases=by_case(items), **DIGEST)
    assert subject == "【kefu 超时升级】3 个案件超时，1 个即将到期 / 3 cases past deadline, 1 due soon — 孙丽"
    assert text.index("孙丽，您好") < text.index("Hello 孙丽")
    assert text.count("kefu complaint judge C-20261123-0001 --by S-003") == 2
    assert "已超时 3 小时 20 分" in text and "late by 3 h 20 min" in text and "due in 2 h" in text
    assert "张&lt;b&gt;伟&lt;/b&gt;" in html and "张<b>伟" not in html  # customer data is escaped
    assert html.index("<table") < html.index("Hello 孙丽")
    # The Chinese part names the step, process and role in Chinese (department.yaml labels), the
    # English part by their names.
    zh, en = text.split("Hello 孙丽")
    assert "投诉判定：" in zh and "judgement:" not in zh and "投诉处理，严重度" in zh and "升级至主管" in zh
    assert "judgement: due" in en
    assert 'style="text-align:left' in html and "<style" not in html  # inline CSS only


def test_digest_subject_with_only_reminders_says_due_soon():
    subject, _, _ = render_message(CONFIG_DIR, "escalation/digest",
                                   cases=by_case([_item(percent=50, state="due in 2 h")]), **DIGEST)
    assert subject == "【kefu 到期提醒】1 个案件即将到期 / 1 case due soon — 孙丽"


def test_a_long_digest_arrives_over_smtp_exactly_as_rendered(store, frozen_clock, smtp_server):
    # A content line longer than SMTP's 998: a customer who wrote their whole complaint as their name.
    items = [_item(case_id=f"C-20261123-{n:04d}", customer_name="张" * 1100) for n in range(1, 31)]
    subject, text, html = render_message(CONFIG_DIR, "escalation/digest", cases=by_case(items), **DIGEST)
    assert len(html) > 20_000 and max(len(line) for line in html.splitlines()) > 998
    with Session(store.engine) as session:
        enqueue(session, key="digest:long", to=["sun.li@kefu.example"], subject=subject, text=text, html=html)
        session.commit()
    assert deliver_due(store.engine, SmtpTransport(smtp_server.url)).sent == 1
    [(_, _, msg)] = smtp_server.received
    assert msg["Subject"] == subject
    assert parts(msg) == {"text/plain": text, "text/html": html}


def test_a_template_value_kefu_does_not_give_fails_loudly():
    import jinja2

    with pytest.raises(jinja2.UndefinedError):
        render_message(CONFIG_DIR, "escalation/digest", items=[{"case_id": "C-1"}], **DIGEST)


def test_intake_alert_for_a_major_complaint():
    case = dict(case_id="C-20261123-0009", customer_name="王芳", phone_masked="139****0001",
                severity="crisis", content="媒体已介入 & 要求赔偿", received_at="2026-11-23 09:30 (UTC+08:00)",
                owner_name="李明", case_url="http://127.0.0.1:4200/cases/C-20261123-0009",
                severity_zh="危机", role="director", role_zh="总监")
    subject, text, html = render_message(CONFIG_DIR, "escalation/intake_alert", recipient=DIGEST["recipient"], case=case)
    assert subject == "【kefu 危机投诉】C-20261123-0009 王芳 / Crisis complaint received — 孙丽"
    assert "媒体已介入 & 要求赔偿" in text and "媒体已介入 &amp; 要求赔偿" in html
    assert text.index("孙丽，您好") < text.index("Hello 孙丽")


def test_the_intake_alert_says_its_rule_in_words_with_chinese_labels():
    """Managers read 依据 as the department's rule in words, the Chinese part with the labels of
    department.yaml (危机, 总监), never an enum value or a config file's key."""
    case = dict(case_id="C-1", customer_name="王芳", phone_masked="139****0001", severity="crisis", content="x",
                received_at="2026-11-23 09:30", owner_name="李明", case_url="http://x", severity_zh="危机",
                role="director", role_zh="总监")
    _, text, html = render_message(CONFIG_DIR, "escalation/intake_alert", recipient=DIGEST["recipient"], case=case)
    chinese = text.split("Hello")[0]
    assert "依据：危机投诉受理即报告总监（本部门规定）" in chinese and "受理了一宗危机投诉" in chinese
    assert "crisis" not in chinese and ".yaml" not in text and ".yaml" not in html
    assert "a crisis complaint is reported to the director at intake" in text


# -- kefu outbox ---------------------------------------------------------------------------------

def test_kefu_outbox_lists_failed_mail_and_retry_delivers_it(kefu_env):
    import json

    from kefu.cli.outbox import outbox_app
    from kefu.db import current_engine

    engine = current_engine()
    queue(engine)
    deliver_due(engine, Down())
    runner = CliRunner()

    listed = runner.invoke(outbox_app, ["--json"])
    assert listed.exit_code == 0, listed.output
    [msg] = json.loads(listed.output)["messages"]
    assert msg["status"] == "failed" and msg["attempts"] == 1 and "relay down" in msg["last_error"]
    assert msg["to"] == ["sun.li@kefu.example"] and msg["next_attempt_at"].endswith("+08:00")
    assert "relay down" in runner.invoke(outbox_app, []).output

    bad = runner.invoke(outbox_app, ["--status", "lost", "--json"])
    assert bad.exit_code == 2 and json.loads(bad.output)["error"]["field"] == "--status"

    retried = runner.invoke(outbox_app, ["retry", "--json"])
    assert retried.exit_code == 0, retried.output
    assert json.loads(retried.output)["sent"] == 1
    assert len(list((kefu_env / "outbox").glob("*.eml"))) == 1
    assert json.loads(runner.invoke(outbox_app, ["--json"]).output)["messages"] == []
