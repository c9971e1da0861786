"""The reports' rules (config/report.yaml): which period each covers, when it is compiled, to whom
it goes, who signs it off, and its templates."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Iterator, Literal

from pydantic import Field

from kefu.core.config import Strict
from kefu.core.texts import template_problems
from kefu.processes.callback.rules import TRIGGERS
from models.case import EventType
from models.order import CHASED, CREATED, CREDIT_MOVED, DELAY_RECORDED, LIABILITY_RECORDED
from models.reducer import FOLDS

if TYPE_CHECKING:
    from kefu.core.rules import Rules

STEPS = ("sign-off", "write-up")
# An order's events besides its hand-overs, which report.yaml order_ledger.events names.
LEDGER_EVENTS = (CREATED, CHASED, DELAY_RECORDED, LIABILITY_RECORDED, CREDIT_MOVED, EventType.CLOSED)


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
    # The contact kinds that count as inquiries for the conversion rate (complaint.yaml kinds).
    inquiries: list[str] = Field(min_length=1)
    templates: StatisticsTemplates


class MorningRules(Strict):
    at: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    recipients: list[str] = Field(min_length=1)  # roles
    oldest: int = Field(10, ge=1, le=100)        # how many of the longest-open cases it lists
    templates: StatisticsTemplates


class DigestRules(Strict):
    at: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    recipients: list[str] = Field(min_length=1)  # roles
    left_over: int = Field(20, ge=1, le=500)     # how many of the open complaints it lists
    templates: StatisticsTemplates


class LedgerRules(Strict):
    at: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    recipients: list[str] = Field(min_length=1)  # roles
    # What the ledger calls an order's events other than its hand-overs (those by their step's label).
    events: dict[str, str]
    templates: StatisticsTemplates


class SatisfactionRules(Strict):
    day_of_month: int = Field(1, ge=1, le=28)  # compiled on this day for the calendar month before
    at: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    recipients: list[str] = Field(min_length=1)  # roles
    # The complaint categories whose complaints the analysis lists as 产品质量问题 (none: it lists none).
    quality_categories: list[str] = []
    listed: int = Field(20, ge=1, le=500)  # quality complaints listed (all are counted)
    triggers: dict[str, str]  # why we called (callback.yaml's triggers), as the analysis names it
    themes: dict[str, str]    # callback.yaml improvement_themes (and "other"), as the analysis names them
    templates: StatisticsTemplates


class FeedbackRules(Strict):
    day_of_month: int = Field(1, ge=1, le=28)  # compiled on this day for the calendar month before
    at: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    recipients: list[str] = Field(min_length=1)  # roles
    departments: bool = True   # also to each department concerned, at its department.yaml email
    listed: int = Field(20, ge=1, le=500)  # complaints listed per department, suggestions listed
    templates: StatisticsTemplates


class WorkLogTemplates(Strict):
    markdown: str   # the log itself: the dashboard's artifact, the .md file, the write-up form
    mail: str       # <name>.{subject,txt,html}.j2 of the e-mail asking the agent to write it up
    written: str    # the one that carries the written-up log to the recipients


class WorkLogRules(Strict):
    roles: list[str] = Field(min_length=1)       # whose work is logged
    # Which logs kefu keeps, as they are named: week (Monday to Sunday, compiled on ``weekday``)
    # and month (the calendar month, compiled on ``day_of_month``), each for the one before.
    cadences: dict[Literal["week", "month"], str] = Field(min_length=1)
    weekday: int = Field(1, ge=1, le=7)
    day_of_month: int = Field(1, ge=1, le=28)
    at: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    recipients: list[str] = Field(min_length=1)  # roles who receive the written-up log
    # The agent's recorded events the log counts, as it names them.
    events: dict[str, str] = Field(min_length=1)
    listed: int = Field(200, ge=1, le=5000)      # entries the Markdown lists (the workbook has all)
    templates: WorkLogTemplates


class ReportRules(Strict):
    case_id_prefix: str = Field(pattern=r"^[A-Z]{1,4}$")
    complaint_statistics: StatisticsRules
    morning: MorningRules
    daily_digest: DigestRules
    order_ledger: LedgerRules
    satisfaction: SatisfactionRules
    feedback: FeedbackRules
    work_log: WorkLogRules

    @property
    def daily(self) -> dict[str, MorningRules | DigestRules | LedgerRules]:
        """The registers compiled every day, by their section."""
        return {"morning": self.morning, "daily_digest": self.daily_digest, "order_ledger": self.order_ledger}


def statistics_schedule(rules: "Rules") -> tuple[str, str]:
    """(cron, zone) of 《顾客投诉分类统计表》, in the department's zone."""
    statistics = rules.report.complaint_statistics
    hours, minutes = (int(part) for part in statistics.at.split(":"))
    if statistics.period == "month":
        return f"{minutes} {hours} {statistics.day_of_month} * *", rules.department.department.timezone
    return f"{minutes} {hours} * * {statistics.weekday % 7}", rules.department.department.timezone


def daily_schedule(section: str) -> "Callable[[Rules], tuple[str, str]]":
    """(cron, zone) of a register compiled every day at its section's ``at``, in the department's zone."""

    def schedule(rules: "Rules") -> tuple[str, str]:
        hours, minutes = (int(part) for part in rules.report.daily[section].at.split(":"))
        return f"{minutes} {hours} * * *", rules.department.department.timezone

    return schedule


def monthly_schedule(section: str) -> "Callable[[Rules], tuple[str, str]]":
    """(cron, zone) of a report compiled once a month, on its section's ``day_of_month`` at ``at``."""

    def schedule(rules: "Rules") -> tuple[str, str]:
        settings = getattr(rules.report, section)
        hours, minutes = (int(part) for part in settings.at.split(":"))
        return f"{minutes} {hours} {settings.day_of_month} * *", rules.department.department.timezone

    return schedule


def work_log_schedule(cadence: str) -> "Callable[[Rules], tuple[str, str] | None]":
    """(cron, zone) of the work logs of ``cadence`` (report.yaml work_log), in the department's zone;
    None for a cadence the department does not keep."""

    def schedule(rules: "Rules") -> tuple[str, str] | None:
        settings = rules.report.work_log
        hours, minutes = (int(part) for part in settings.at.split(":"))
        zone = rules.department.department.timezone
        if cadence not in settings.cadences:
            return None
        if cadence == "week":
            return f"{minutes} {hours} * * {settings.weekday % 7}", zone
        return f"{minutes} {hours} {settings.day_of_month} * *", zone

    return schedule


def _named(key: str, labels: dict[str, str], names: "list[str] | tuple[str, ...]", what: str
           ) -> Iterator[tuple[str, str, str]]:
    """``labels`` name exactly ``names``: none missing (it would show as kefu's own word), none unknown."""
    for name in names:
        if name not in labels:
            yield key, f"no label for {what} {name!r}", f"add {name}: <中文> <English> to {key}"
    for name in labels:
        if name not in names:
            yield key, f"{name!r} is not a {what}", f"use the {what}s {list(names)}"


def report_problems(rules: "Rules") -> Iterator[tuple[str, str, str]]:
    """Cross-file checks of report.yaml: roles from department.yaml, templates that exist."""
    report, roles = rules.report, rules.department.all_roles
    for section, key in (("complaint_statistics", "recipients"), ("complaint_statistics", "sign_off"),
                         *((daily, "recipients") for daily in report.daily), ("satisfaction", "recipients"),
                         ("feedback", "recipients"), ("work_log", "roles"), ("work_log", "recipients")):
        for role in getattr(getattr(report, section), key):
            if role not in roles:
                yield f"{section}.{key}", f"unknown role {role!r}", f"use roles from department.yaml: {roles}"
    # Hand-overs are named by their step's label; an event without a label would be left out.
    yield from _named("order_ledger.events", report.order_ledger.events, LEDGER_EVENTS, "ledger event")
    for kind in report.complaint_statistics.inquiries:
        if kind not in rules.complaint.kinds:
            yield ("complaint_statistics.inquiries", f"unknown kind {kind!r}",
                   f"use kinds from complaint.yaml: {list(rules.complaint.kinds)}")
    categories = [c.id for c in rules.complaint.categories]
    for category in report.satisfaction.quality_categories:
        if category not in categories:
            yield ("satisfaction.quality_categories", f"unknown category {category!r}",
                   f"use categories from complaint.yaml: {categories}")
    yield from _named("satisfaction.triggers", report.satisfaction.triggers, TRIGGERS, "callback trigger")
    yield from _named("satisfaction.themes", report.satisfaction.themes,
                      [*rules.callback.improvement_themes, "other"], "improvement theme")
    for event_type in report.work_log.events:
        if event_type not in FOLDS:
            yield ("work_log.events", f"{event_type!r} is not an event kefu records",
                   f"use event types such as {', '.join(sorted(FOLDS)[:6])} …")
    for section in ("complaint_statistics", *report.daily, "satisfaction", "feedback", "work_log"):
        templates = getattr(report, section).templates
        mails = [templates.mail] + ([templates.written] if section == "work_log" else [])
        yield from template_problems(rules, [
            (f"{section}.markdown", templates.markdown),
            *((f"{section}.mail ({part})", f"{mail}.{part}.j2") for mail in mails for part in ("subject", "txt", "html"))])
