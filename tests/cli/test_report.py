"""`kefu report complaints` and `kefu report open / sign-off` (issue 15, P8 《顾客投诉分类统计表》): the
statistics of any period as JSON, text and files; a report case a supervisor opens and signs off;
bad periods refused naming the field."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from offline_cli import invoke
from openpyxl import load_workbook

from kefu.core import clock


@pytest.fixture(autouse=True)
def _home(kefu_env, monkeypatch):
    from kefu.executor import orchestration

    def unreachable():
        raise ConnectionError("Prefect is down in this test")

    monkeypatch.setattr(orchestration, "_client", unreachable)
    yield


def ok(args: list[str], as_: str | None = None) -> object:
    done = invoke([*args, "--json"], as_=as_)
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout)


def complaint(content: str, **extra: str) -> str:
    args = ["complaint", "open", "--name", "王芳", "--phone", "13800138000", "--channel", "phone", "--content", content]
    for key, value in extra.items():
        args += [f"--{key}", value]
    return ok(args)["case_id"]


def test_the_statistics_of_a_period_as_json_with_the_configured_keys(tmp_path):
    complaint("快递三天没到")
    complaint("收到的杯子有破损", category="product_quality")
    figures = ok(["report", "complaints", "--from", "2026-11-01", "--to", "2026-11-30", "--out", str(tmp_path)])
    assert (figures["total"], figures["by_category"]) == (2, {"product_quality": 1, "logistics": 1})
    assert figures["by_kind"] == {"complaint": 2} and figures["by_channel"] == {"phone": 2}
    assert figures["unjudged"] == 2 and figures["mean_handling_hours"] is None
    book = load_workbook(figures["files"]["xlsx"])
    assert book.sheetnames == ["顾客投诉分类统计表"]


def test_the_text_report_speaks_in_chinese_labels_first():
    complaint("快递三天没到")
    text = invoke(["report", "complaints", "--from", "2026-11-01", "--to", "2026-11-30"]).stdout
    assert "| 物流配送 Logistics and delivery | 1 | 100.0% | 0 |" in text and "| 来电 phone | 1 | 100.0% |" in text
    assert "logistics |" not in text.split("By category")[1].split("###")[0].replace("Logistics", "")


@pytest.mark.parametrize("args, field", [
    (["--from", "2026-11-31", "--to", "2026-12-01"], "from"),
    (["--from", "2026-11-01", "--to", "yesterday"], "to"),
    (["--from", "2026-11-02", "--to", "2026-11-01"], "to"),
])
def test_a_bad_period_is_refused_naming_the_field(args, field):
    done = invoke(["report", "complaints", *args, "--json"])
    assert done.exit_code == 2 and json.loads(done.stdout)["error"]["field"] == field


def test_a_supervisor_opens_the_period_and_signs_it_off_an_agent_may_not(tmp_path):
    complaint("快递三天没到")
    refused = invoke(["report", "open", "--from", "2026-11-01", "--to", "2026-11-30", "--json"], as_="li.na")
    assert refused.exit_code == 2 and json.loads(refused.stdout)["error"]["field"] == "by"
    opened = ok(["report", "open", "--from", "2026-11-01", "--to", "2026-11-30"], as_="chen.jing")
    assert opened["step"] == "compile" and opened["flow_run"].startswith("not started")
    # Its run compiles it (a task: kefu.processes.report.decisions.compile_report) …
    from kefu import runtime
    from kefu.processes.report import decisions as reports

    reports.compile_report(runtime.store(), runtime.rules(), opened["case_id"], tmp_path)
    signed = ok(["report", "sign-off", opened["case_id"], "--analysis", "物流为主", "--measure", "承运商考核"],
                as_="chen.jing")
    assert signed["status"] == "closed"
    again = ok(["report", "open", "--from", "2026-11-01", "--to", "2026-11-30"], as_="chen.jing")
    assert again["case_id"] == opened["case_id"]  # one report per period


def test_a_complaint_is_judged_with_its_category_on_the_cli():
    case_id = complaint("态度很差")
    clock.set_now(clock.now() + timedelta(hours=1))
    judged = ok(["complaint", "judge", case_id, "--upheld", "--department", "service", "--category", "service_attitude",
                 "--reason", "录音属实"])
    assert judged["category"] == "service_attitude"
    refused = invoke(["complaint", "investigate", case_id, "--cause", "x", "--responsible", "y", "--category", "mood",
                      "--json"])
    assert refused.exit_code == 2 and json.loads(refused.stdout)["error"]["field"] == "category"


def test_the_daily_digest_counts_the_days_complaints_and_suggestions_and_writes_its_workbook(tmp_path):
    """Seed 003 超市客服部经理岗位职责 2: 负责汇总每日顾客投诉意见或建议,及时向店长汇报."""
    complaint("快递三天没到")
    complaint("我想提个建议，周末多开一个收银台")
    digest = ok(["report", "digest", "--on", "2026-11-23", "--out", str(tmp_path)])
    assert (digest["day"], digest["complaints"], digest["contacts"]) == ("2026-11-23", 1, {"suggestion": 1})
    assert digest["left_over"] == 1 and digest["by_category"] == {"logistics": 1}
    assert load_workbook(digest["files"]["xlsx"]).sheetnames[0].startswith("投诉")
    assert "快递三天没到" in (tmp_path / "daily-digest-2026-11-23.md").read_text(encoding="utf-8")
    assert ok(["report", "digest", "--on", "2026-11-22"])["complaints"] == 0  # the day before: nothing yet


def test_the_order_ledger_lists_the_days_orders_by_agent():
    """PROCESSES.md P8 / seed 000 订单整理: the day's orders in a ledger, each agent's part."""
    ordered = ok(["order", "new", "--buyer", "刘贺", "--phone", "13812345678", "--agent", "li.na", "--item", "墙纸",
                  "--ship-by", "2026-11-26", "--deliver-by", "2026-11-28", "--delivery", "自提"])
    ledger = ok(["report", "ledger", "--on", "2026-11-23"])
    assert (ledger["orders"], list(ledger["by_agent"])) == (1, ["li.na"]) and ledger["open_orders"] == 1
    assert ledger["by_agent"]["li.na"]["created"] == 1
    text = invoke(["report", "ledger", "--on", "2026-11-23"]).stdout
    assert ordered["order_id"] in text and "新订单 new order" in text


def test_a_register_of_a_day_that_is_not_a_date_is_refused_naming_the_field():
    done = invoke(["report", "digest", "--on", "2026-11-31", "--json"])
    assert done.exit_code == 2 and json.loads(done.stdout)["error"]["field"] == "on"


def test_the_satisfaction_analysis_of_a_month_lists_its_quality_problems_and_draws_its_chart(tmp_path):
    """Seed 002 客服部经理职责 7: 满意度调查的分析 … 及產品質量問題; a month nobody answered has no rate."""
    complaint("杯子质量太差，有裂纹", category="product_quality")
    figures = ok(["report", "satisfaction", "--month", "2026-11", "--out", str(tmp_path)])
    assert (figures["from"], figures["to"], figures["quality_problems"]) == ("2026-11-01", "2026-11-30", 1)
    assert figures["answered"] == 0 and figures["rate"] is None
    with open(figures["files"]["chart"], "rb") as chart:
        assert chart.read(4) == b"\x89PNG"
    assert load_workbook(figures["files"]["xlsx"]).sheetnames[0] == "满意度 Satisfaction"


def test_a_month_that_is_not_one_is_refused_naming_the_field():
    done = invoke(["report", "satisfaction", "--month", "2026-13", "--json"])
    assert done.exit_code == 2 and json.loads(done.stdout)["error"]["field"] == "month"


def test_the_monthly_feedback_of_a_month_as_json(tmp_path):
    """Seed 002 第五條 (5): 每月反饋 … 用戶意見 — the month's suggestions are in it."""
    complaint("我想提个建议，周末多开收银台")
    figures = ok(["report", "feedback", "--month", "2026-11", "--out", str(tmp_path)])
    assert (figures["suggestions"], figures["upheld"], figures["concerned"]) == (1, 0, [])
    assert load_workbook(figures["files"]["xlsx"]).sheetnames[0] == "按部门 By department"


def test_a_folder_that_cannot_be_written_is_refused_naming_the_field(tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    done = invoke(["report", "digest", "--on", "2026-11-23", "--out", str(blocked / "reports"), "--json"])
    assert done.exit_code == 2 and json.loads(done.stdout)["error"]["field"] == "out"


def test_an_agents_work_log_of_a_week_counts_what_they_recorded(tmp_path):
    """Seed 002 第五條 (4): 負責做好工作日志、周報、月報 — kefu's part, from the record."""
    ok(["order", "new", "--buyer", "刘贺", "--phone", "13812345678", "--agent", "li.na", "--item", "墙纸",
        "--ship-by", "2026-11-26", "--deliver-by", "2026-11-28", "--delivery", "自提"])
    log = ok(["report", "work-log", "--agent", "li.na", "--week", "2026-11-23", "--out", str(tmp_path)])
    assert (log["first"], log["last"], log["cadence"]) == ("2026-11-23", "2026-11-29", "week")
    assert log["done"] == {"新订单 new orders": 1} and log["open"] == {"order": 1}
    assert load_workbook(log["files"]["xlsx"]).sheetnames[0] == "工作日志 Log"
    month = ok(["report", "work-log", "--agent", "li.na", "--month", "2026-11"])
    assert (month["first"], month["last"], month["entries_total"]) == ("2026-11-01", "2026-11-30", 1)


@pytest.mark.parametrize("args, field", [(["--agent", "nobody"], "agent"),
                                         (["--agent", "li.na", "--week", "2026-11-24"], "week"),
                                         (["--agent", "li.na", "--week", "2026-11-23", "--month", "2026-11"], "week")])
def test_a_work_log_of_an_unknown_agent_or_a_week_not_starting_on_monday_is_refused(args, field):
    done = invoke(["report", "work-log", *args, "--json"])
    assert done.exit_code == 2 and json.loads(done.stdout)["error"]["field"] == field
