"""P8 《顾客投诉分类统计表》 end to end (issue 15): `kefu up` with KEFU_SMTP_URL at a real SMTP server;
a complaint archive taken in; the supervisor opens November's statistics (as the monthly schedule
does); the report's run compiles it from the record, publishes it in the dashboard as an artifact and
mails it — chart inline, workbook attached — to the supervisors and the manager; the supervisor signs
it off on the CLI and the run completes. The schedule itself is deployed as report.yaml times it."""

from __future__ import annotations

import io

import httpx
import pytest
from drills.department import BIN, Department, until
from mailserver import SmtpServer
from openpyxl import load_workbook


@pytest.fixture
def department(tmp_path):
    smtp = SmtpServer().start()
    kefu = Department(tmp_path, KEFU_DATABASE_URL=f"sqlite:///{tmp_path / 'kefu.db'}", KEFU_SMTP_URL=smtp.url)
    yield kefu, smtp
    kefu.run(str(BIN / "kefu"), "down")
    smtp.stop()



def test_the_monthly_statistics_are_compiled_mailed_with_their_chart_published_and_signed_off(department, tmp_path):
    d, smtp = department
    d.run(str(BIN / "kefu"), "up", "--detach", timeout=300)
    d.sign_in_staff()
    archive = tmp_path / "archive.csv"
    archive.write_text("编号,日期,来源,类别,内容,客户\n"
                       "H-1,2026-11-03T10:00:00+08:00,Web,物流,快递三天没到,王芳\n"
                       "H-2,2026-11-04T11:00:00+08:00,Phone,质量,锅盖有裂纹,李雷\n"
                       "H-3,2026-11-05T12:00:00+08:00,Web,物流,送错地址,赵强\n", encoding="utf-8")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("source: shop-history\ncolumns: {external_id: 编号, received_at: 日期, channel: 来源, "
                       "category: 类别, content: 内容, name: 客户}\n"
                       "values: {channel: {Web: web, Phone: phone}, category: {物流: logistics, 质量: product_quality}}\n",
                       encoding="utf-8")
    assert d.kefu("intake", "complaints", str(archive), "--mapping", str(mapping))["imported"] == 3

    refused = d.kefu_process("report", "open", "--from", "2026-11-01", "--to", "2026-11-30")  # li.na, an agent
    assert refused.returncode == 2 and "report.yaml complaint_statistics.sign_off" in refused.stdout + refused.stderr
    opened = d.kefu("report", "open", "--from", "2026-11-01", "--to", "2026-11-30", by="chen.jing")
    case_id = opened["case_id"]
    assert opened["flow_run"] == "started"
    run = d.wait_until_waiting_at(d.kefu("case", "show", case_id)["flow_run_id"], "sign-off", 120)

    until("the report's e-mails", lambda: len(smtp.received) >= 3, 90)
    assert {to for _, rcpt, _ in smtp.received for to in rcpt} == {
        "chen.jing@kefu.example", "zhao.lei@kefu.example", "sun.li@kefu.example"}
    _, _, message = smtp.received[0]
    assert "顾客投诉分类统计表" in message["Subject"] and case_id in message["Subject"]
    html = next(p for p in message.walk() if p.get_content_type() == "text/html").get_content()
    assert 'src="cid:chart"' in html and "物流配送" in html
    chart = next(p for p in message.walk() if p.get_content_type() == "image/png")
    assert chart["Content-ID"] == "<chart>" and chart.get_content().startswith(b"\x89PNG")
    [workbook] = list(message.iter_attachments())
    sheet = load_workbook(io.BytesIO(workbook.get_content()))["顾客投诉分类统计表"]
    cells = {row[0]: row[1] for row in sheet.iter_rows(values_only=True) if row and row[0]}
    assert cells["投诉 Complaints"] == 3 and cells["物流配送 Logistics and delivery"] == 2

    key = "report-" + case_id.lower()
    artifacts = httpx.post(f"{d.api}/artifacts/filter", json={"artifacts": {"key": {"any_": [key]}}}, timeout=10).json()
    assert artifacts and artifacts[0]["flow_run_id"] == run["id"] and "物流配送" in artifacts[0]["data"]

    signed = d.kefu("report", "sign-off", case_id, "--analysis", "物流投诉占三分之二 / two thirds are logistics",
                    "--measure", "承运商月度考核", by="chen.jing")
    assert signed["status"] == "closed"
    until("the run's end", lambda: (d.flow_run(run["id"]).get("state") or {}).get("type") == "COMPLETED", 60)

    deployments = httpx.post(f"{d.api}/deployments/filter", json={"deployments": {"name": {"any_": [
        "complaint-statistics"]}}}, timeout=10).json()
    [schedule] = deployments[0]["schedules"]
    assert schedule["schedule"]["cron"] == "0 9 1 * *" and schedule["schedule"]["timezone"] == "Asia/Shanghai"
    assert d.audited()[1] >= 4
