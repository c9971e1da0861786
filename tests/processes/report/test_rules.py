"""report.yaml and the complaint categories are validated at load with a clear error naming the
key and the fix: roles that exist, templates that exist, a default category among the categories,
a Chinese label for every channel; the schedule follows the configured time."""

from __future__ import annotations

from configs import broken

from kefu.processes import load_rules
from kefu.processes.report.rules import statistics_schedule


def test_a_recipient_role_must_exist(config_copy):
    error = broken(config_copy, "report.yaml", "recipients: [supervisor, manager]", "recipients: [supervisor, boss]")
    assert "complaint_statistics.recipients" in str(error) and "boss" in str(error)


def test_the_report_template_must_exist(config_copy):
    error = broken(config_copy, "report.yaml", "markdown: report/complaint_statistics.md.j2",
                   "markdown: report/missing.md.j2")
    assert "report/missing.md.j2" in str(error)


def test_the_default_category_is_one_of_the_categories(config_copy):
    error = broken(config_copy, "complaint.yaml", "default_category: other", "default_category: misc")
    assert "default_category" in str(error) and "product_quality" in str(error)


def test_every_channel_has_a_chinese_label(config_copy):
    error = broken(config_copy, "complaint.yaml", "fax: 传真, ", "")
    assert "channel_labels" in str(error) and "fax" in str(error)


def test_the_schedule_is_the_configured_day_and_time_in_the_departments_zone(config_copy):
    assert statistics_schedule(load_rules(config_copy)) == ("0 9 1 * *", "Asia/Shanghai")
    path = config_copy / "report.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("period: month", "period: week"), encoding="utf-8")
    assert statistics_schedule(load_rules(config_copy)) == ("0 9 * * 1", "Asia/Shanghai")
