"""Customers hear from us, end to end (issue 12): `kefu up` with KEFU_SMTP_URL at a real SMTP
server (aiosmtpd) and KEFU_SMS_URL at a real HTTP gateway on 127.0.0.1, its token from
KEFU_SMS_TOKEN; complaints opened through the CLI; the flow runs acknowledge them and the
customers receive the acknowledgement on their own way. Then the gateway goes down: the messages
wait in the outbox and arrive once when it is back (the watch's sweep delivers them)."""

from __future__ import annotations

import time

import pytest
from awake import awake_zone
from drills.department import BIN, Department, until
from gateway import Gateway
from mailserver import SmtpServer


@pytest.fixture
def department(tmp_path):
    smtp, sms = SmtpServer().start(), Gateway().start()
    kefu = Department(tmp_path, KEFU_DATABASE_URL=f"sqlite:///{tmp_path / 'kefu.db'}", KEFU_SMTP_URL=smtp.url,
                      KEFU_SMS_URL=sms.url, KEFU_SMS_TOKEN="gateway-token-7")
    yield kefu, smtp, sms
    kefu.run(str(BIN / "kefu"), "down")
    smtp.stop()
    sms.stop()



def test_customers_receive_the_acknowledgement_by_e_mail_and_by_sms_and_a_gateway_outage_loses_none(department):
    d, smtp, sms = department
    d.run(str(BIN / "kefu"), "up", "--detach", timeout=300)
    d.sign_in_staff()
    zone = awake_zone()
    by_mail = d.kefu("complaint", "open", "--name", "张三", "--phone", "13800138000", "--channel", "email",
                     "--email", "zhang.san@example.cn", "--content", "收到的商品有破损", "--timezone", zone)["case_id"]
    by_sms = d.kefu("complaint", "open", "--name", "李四", "--phone", "13900139000", "--channel", "phone",
                    "--content", "送货晚了三天", "--timezone", zone)["case_id"]
    waited = until("both acknowledgements", lambda: len(smtp.received) == 1 and len(sms.accepted) == 1, 90)
    [(_, to, message)] = smtp.received
    assert to == ["zhang.san@example.cn"] and by_mail in message["Subject"]
    [request] = sms.requests
    assert request["headers"]["Authorization"] == "Bearer gateway-token-7"
    assert request["body"]["mobile"] == "13900139000" and by_sms in request["body"]["content"]

    sms.down = True
    later = [d.kefu("complaint", "open", "--name", f"客户{n}", "--phone", f"1370013700{n}", "--channel", "phone",
                    "--content", "安装师傅没来", "--timezone", zone)["case_id"] for n in range(3)]
    until("three refused sends", lambda: sum(r["answered"] == 503 for r in sms.requests) >= 3, 90)
    sms.down = False
    # The outbox backs off a minute after a failure; the watch (every 5 s here) delivers then.
    recovered = until("the held messages", lambda: len(sms.accepted) == 4, 150)
    time.sleep(6)  # one more watch period: nothing is sent again
    sent_to = [b["mobile"] for b in sms.accepted]
    assert sorted(sent_to) == sorted(["13900139000"] + [f"1370013700{n}" for n in range(3)])
    assert all(any(c in b["content"] for b in sms.accepted) for c in later)
    print(f"\ndrill customer messages: 2 acknowledgements delivered {waited:.1f} s after intake (e-mail, SMS); "
          f"gateway down for 3 → {sum(r['answered'] == 503 for r in sms.requests)} refused sends, "
          f"delivered {recovered:.0f} s after it was back; lost 0; sent twice 0")
