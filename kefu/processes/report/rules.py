"""The reports' rules (config/report.yaml): which period each covers, when it is compiled, to whom
it goes, who signs it off, and its templates."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator, Literal

from pydantic import Field

from kefu.core.config import Strict
from kefu.core.texts import template_problems

if TYPE_CHECKING:
    from kefu.core.rules import Rules

STEPS = ("sign-off",)


class StatisticsTemplates(Strict):
    markdown: str   # the report itself: the dashboard's artifact, the .md file, the sign-off form
    mail: str       # <name>.{subject,txt,html}.j2 of the e-mail that carries it


class StatisticsRules(Strict):
    # The period a report covers: the calendar month (or the week, Monday to Sunday) before the day
    # it is compiled on.
    period: Literal["month", "week"]
    day_of_month: int = Field(1, ge=1, le=28)  # a month's report: compiled on this day
    weekday: int = Field(1, ge=1, le=7)        # a week's report: on this day (1 = Monday)
    at: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    recipients: list[str] = Field(min_length=1)  # roles
    sign_off: list[str] = Field(min_length=1)    # roles
    top_improvements: int = Field(10, ge=1, le=100)
    templates: StatisticsTemplates


class MorningRules(Strict):
    at: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    recipients: list[str] = Field(min_length=1)  # roles
    oldest: int = Field(10, ge=1, le=100)        # how many of the longest-open cases it lists
    templates: StatisticsTemplates


class ReportRules(Strict):
    case_id_prefix: str = Field(pattern=r"^[A-Z]{1,4}$")
    complaint_statistics: StatisticsRules
    morning: MorningRules


def statistics_schedule(rules: "Rules") -> tuple[str, str]:
    """(cron, zone) of 《顾客投诉分类统计表》, in the department's zone."""
    statistics = rules.report.complaint_statistics
    hours, minutes = (int(part) for part in statistics.at.split(":"))
    if statistics.period == "month":
        return f"{minutes} {hours} {statistics.day_of_month} * *", rules.department.department.timezone
    return f"{minutes} {hours} * * {statistics.weekday % 7}", rules.department.department.timezone


def morning_schedule(rules: "Rules") -> tuple[str, str]:
    """(cron, zone) of the morning screen: every day, before the stand-up."""
    hours, minutes = (int(part) for part in rules.report.morning.at.split(":"))
    return f"{minutes} {hours} * * *", rules.department.department.timezone


def report_problems(rules: "Rules") -> Iterator[tuple[str, str, str]]:
    """Cross-file checks of report.yaml: roles from department.yaml, templates that exist."""
    report, roles = rules.report, rules.department.all_roles
    for section, key in (("complaint_statistics", "recipients"), ("complaint_statistics", "sign_off"),
                         ("morning", "recipients")):
        for role in getattr(getattr(report, section), key):
            if role not in roles:
                yield f"{section}.{key}", f"unknown role {role!r}", f"use roles from department.yaml: {roles}"
    for section in ("complaint_statistics", "morning"):
        templates = getattr(report, section).templates
        yield from template_problems(rules, [
            (f"{section}.markdown", templates.markdown),
            *((f"{section}.mail ({part})", f"{templates.mail}.{part}.j2") for part in ("subject", "txt", "html"))])
