"""P8 《顾客投诉分类统计表》 end to end (issue 15): `kefu up` with KEFU_SMTP_URL at a real SMTP server;
a complaint archive taken in; the supervisor opens November's statistics (as the monthly schedule
does); the report's run compiles it from the record, publishes it in the dashboard as an artifact and
mails it — chart inline, workbook attached — to the supervisors and the manager; the supervisor signs
it off on the CLI and the run completes. The schedule itself is deployed as report.yaml times it.
Then the day's registers run from their deployments, as their evening schedules start them: the
daily digest reaches the store manager and the order ledger the agents, each with its workbook,
and both are artifacts in the dashboard; the month's analyses follow, and the week's work logs:
each agent's mailed to them, li.na's written up by her alone and sent on to the supervisors."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from drills.department import BIN, Department, until
from mailserver import SmtpServer
from openpyxl import load_workbook


def run_deployment(d: Department, name: str, cron: str, parameters: dict | None = None) -> None:
    """Start a run of deployment ``name`` as its schedule (``cron``) would, and wait for its end."""
    [deployment] = httpx.post(f"{d.api}/deployments/filter", json={"deployments": {"name": {"any_": [name]}}},
                              timeout=10).json()
    assert [s["schedule"]["cron"] for s in deployment["schedules"]] == [cron]
    started = httpx.post(f"{d.api}/deployments/{deployment['id']}/create_flow_run",
                         json={"parameters": parameters or {}}, timeout=10).json()
    until(f"{name}'s run", lambda: (d.flow_run(started["id"]).get("state") or {}).get("type") == "COMPLETED", 120)


@pytest.fixture
def department(tmp_path):
    smtp = SmtpServer().start()
    kefu = Department(tmp_path, KEFU_DATABASE_URL=f"sqlite:///{tmp_path / 'kefu.db'}", KEFU_SMTP_URL=smtp.url)
    yield kefu, smtp
    kefu.run(str(BIN / "kefu"), "down")
    smtp.stop()



def test_the_reports_are_compiled_on_their_deployments_mailed_published_and_the_statistics_signed_off(
        department, tmp_path):
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

    # The day's registers, started from their deployments as their schedules start them.
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    d.kefu("complaint", "open", "--name", "张三", "--phone", "13800138000", "--channel", "phone",
           "--content", "送货晚了三天，快递员态度也不好")
    d.kefu("order", "new", "--buyer", "刘贺", "--phone", "13812345678", "--agent", "li.na", "--item", "墙纸 3m×2.5m",
           "--ship-by", (today + timedelta(days=3)).isoformat(), "--deliver-by", (today + timedelta(days=5)).isoformat(),
           "--delivery", "自提")
    smtp.received.clear()
    for name, cron in (("daily-digest", "30 17 * * *"), ("order-ledger", "45 17 * * *")):
        run_deployment(d, name, cron)
    registers = {"digest": ("每日投诉意见汇总", {"sun.li@kefu.example", "wu.gang@kefu.example"}),
                 "ledger": ("每日台账明细", {"li.na@kefu.example", "wang.fang@kefu.example", "zhang.wei@kefu.example",
                                          "liu.yang@kefu.example", "chen.jing@kefu.example", "zhao.lei@kefu.example",
                                          "ma.lin@kefu.example"})}
    until("the registers' e-mails", lambda: len(smtp.received) >= 9, 90)
    for name, (title, wanted) in registers.items():
        mails = [(rcpt, m) for _, rcpt, m in smtp.received if title in m["Subject"]]
        assert {to for rcpt, _ in mails for to in rcpt} == wanted, name
        [workbook] = list(mails[0][1].iter_attachments())
        book = load_workbook(io.BytesIO(workbook.get_content()))
        first = book[book.sheetnames[0]]
        assert first.max_row == 2, name  # the header and today's one complaint, today's one order

    # The month's satisfaction analysis for the general manager, from its deployment (this month's,
    # so that today's complaint is in it), its chart inline.
    smtp.received.clear()
    run_deployment(d, "satisfaction-analysis", "30 9 1 * *", {"month": today.strftime("%Y-%m")})
    until("the analysis' e-mails", lambda: len(smtp.received) >= 2, 90)
    assert {to for _, rcpt, _ in smtp.received for to in rcpt} == {"sun.li@kefu.example", "zheng.yi@kefu.example"}
    message = smtp.received[0][2]
    assert "满意度调查分析报告" in message["Subject"]
    chart = next(p for p in message.walk() if p.get_content_type() == "image/png")
    assert chart["Content-ID"] == "<chart>" and chart.get_content().startswith(b"\x89PNG")
    # The month's feedback to the head of customer service (nothing upheld yet: no department concerned).
    smtp.received.clear()
    run_deployment(d, "monthly-feedback", "0 10 1 * *", {"month": today.strftime("%Y-%m")})
    until("the feedback's e-mail", lambda: len(smtp.received) >= 1, 90)
    assert [rcpt for _, rcpt, _ in smtp.received] == [["sun.li@kefu.example"]]
    assert "每月信息反馈" in smtp.received[0][2]["Subject"]
    for key, text in (("daily-digest", "送货晚了三天"), ("order-ledger", "刘贺"), ("satisfaction-analysis", "满意率"),
                      ("monthly-feedback", "顾客建议")):
        [artifact] = httpx.post(f"{d.api}/artifacts/filter", json={"artifacts": {"key": {"any_": [key]}}, "limit": 1},
                                timeout=10).json()
        assert text in artifact["data"]

    # This week's work logs, from their deployment as Monday's schedule starts it (this week's, so
    # that today's order is in li.na's): one report case per agent, each mailed to its agent with
    # the workbook; li.na writes hers up on the CLI and it goes to the supervisors.
    smtp.received.clear()
    monday = today - timedelta(days=today.weekday())
    run_deployment(d, "weekly-work-logs", "30 7 * * 1", {"first": monday.isoformat()})
    agents = {"li.na@kefu.example", "wang.fang@kefu.example", "zhang.wei@kefu.example", "liu.yang@kefu.example"}
    until("the work logs' e-mails", lambda: len(smtp.received) >= 4, 120)
    assert {to for _, rcpt, _ in smtp.received for to in rcpt} == agents
    mine = next(m for _, rcpt, m in smtp.received if rcpt == ["li.na@kefu.example"])
    log_id = re.search(r"R-\d{8}-\d{4}", mine["Subject"]).group(0)
    assert "工作日志" in mine["Subject"] and f"kefu report write-up {log_id}" in mine.get_body(("plain",)).get_content()
    [workbook] = list(mine.iter_attachments())
    entries = load_workbook(io.BytesIO(workbook.get_content()))["工作日志 Log"]
    assert any("新订单" in str(row[2]) for row in entries.iter_rows(min_row=2, values_only=True))
    log_run = d.wait_until_waiting_at(d.kefu("case", "show", log_id)["flow_run_id"], "write-up", 120)
    refused = d.kefu_process("report", "write-up", log_id, "--summary", "代写", by="chen.jing")
    assert refused.returncode == 2 and "li.na" in refused.stdout + refused.stderr
    smtp.received.clear()
    written = d.kefu("report", "write-up", log_id, "--summary", "本周新订单一笔", "--special", "刘贺要求自提改送货")
    assert written["status"] == "closed"
    until("the written-up log's e-mails", lambda: len(smtp.received) >= 2, 90)
    assert {to for _, rcpt, _ in smtp.received for to in rcpt} == {"chen.jing@kefu.example", "zhao.lei@kefu.example"}
    assert "刘贺要求自提改送货" in smtp.received[0][2].get_body(("plain",)).get_content()
    until("the work log's run", lambda: (d.flow_run(log_run["id"]).get("state") or {}).get("type") == "COMPLETED", 60)
    versions = httpx.post(f"{d.api}/artifacts/filter", json={"artifacts": {"key": {"any_": [
        "report-" + log_id.lower()]}}}, timeout=10).json()
    assert "刘贺要求自提改送货" in max(versions, key=lambda a: a["created"])["data"]
