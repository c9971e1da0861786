"""《顾客投诉分类统计表》 The Complaint Classification Statistics of a period (seed 002 §4 (7) 总结评价;
PROCESSES.md P1 step 6, P8), from the record.

Every contact received in the period counts (complaints, consultations, queries; archived cases
taken in from files too): by kind, and the complaints by severity, category, channel and
responsible department; upheld or not (a complaint that is not upheld still counts); each step on
time or late; the mean and worst handling time; plan rounds; repeat complaints; the satisfaction
of their callbacks; the measures the reviews proposed; and the trend against the period before.

The grouping happens in SQL over ``kefu_complaint_fact`` (one GROUP BY over the period's rows, a
few hundred groups back), pandas shapes the groups into the report's tables: a million archived
complaints are a few seconds and flat memory, not a million replays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from kefu.core import clock, facts
from kefu.core.rules import Rules
from kefu.core.store import CaseStore
from kefu.processes.complaint import FACTS
from models.callback import PROCESS as CALLBACK
from models.callback import callback_of
from models.complaint import CONTACT, PROCESS, ComplaintFact
from models.order import PROCESS as ORDER
from models.records import Case, Deadline

if TYPE_CHECKING:
    import pandas as pd

FACT = ComplaintFact.__table__  # type: ignore[attr-defined]
# The dimensions of the one GROUP BY: every table of the report is a sum over some of them.
DIMENSIONS = ("process", "kind", "severity", "category", "channel", "department", "upheld", "archived", "status",
              "rounds", "follow_up")


@dataclass(frozen=True)
class Period:
    """Days in the department's zone, both included."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError(f"the period ends ({self.last}) before it starts ({self.first})")

    def bounds(self, rules: Rules) -> tuple[datetime, datetime]:
        """[start, end) in UTC: midnight of the first day to midnight after the last."""
        zone = rules.department.department.zone
        return (datetime.combine(self.first, time(), zone).astimezone(timezone.utc),
                datetime.combine(self.last + timedelta(days=1), time(), zone).astimezone(timezone.utc))

    def before(self) -> "Period":
        """The period just before, as long as this one (a calendar month's: the month before)."""
        if self.first.day == 1 and (self.last + timedelta(days=1)).day == 1:
            last = self.first - timedelta(days=1)
            return Period(last.replace(day=1), last)
        days = (self.last - self.first).days + 1
        return Period(self.first - timedelta(days=days), self.first - timedelta(days=1))


def month_before(day: date) -> Period:
    last = day.replace(day=1) - timedelta(days=1)
    return Period(last.replace(day=1), last)


def month_of(text: str) -> Period:
    """``YYYY-MM`` as the period of that calendar month; ValueError when it is not one."""
    first = date.fromisoformat(f"{text}-01")
    following = first.replace(year=first.year + first.month // 12, month=first.month % 12 + 1)
    return Period(first, date.fromordinal(following.toordinal() - 1))


def week_before(day: date) -> Period:
    monday = day - timedelta(days=day.weekday()) - timedelta(days=7)
    return Period(monday, monday + timedelta(days=6))


@dataclass
class ComplaintStatistics:
    period: Period
    total: int = 0                      # every contact received in the period
    complaints: int = 0
    archived: int = 0                   # of them taken in from files, closed as they ended there
    open: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    by_severity: dict[str, int] = field(default_factory=dict)
    by_category: dict[str, int] = field(default_factory=dict)
    by_channel: dict[str, int] = field(default_factory=dict)
    by_department: dict[str, int] = field(default_factory=dict)
    upheld: int = 0
    not_upheld: int = 0
    unjudged: int = 0                   # not judged yet, or archived without a judgement
    steps: dict[str, dict[str, int]] = field(default_factory=dict)  # step -> on_time, late, open
    closed: int = 0                     # complaints closed, whose handling time counts
    mean_handling_hours: float | None = None
    worst_handling_hours: float | None = None
    rounds: dict[int, int] = field(default_factory=dict)  # plans proposed -> complaints
    repeat_customers: int = 0           # complaints by a customer who had complained in the period already
    follow_ups: int = 0                 # complaints that follow up an earlier case
    callbacks: int = 0
    satisfaction: dict[str, int] = field(default_factory=dict)
    improvements: list[tuple[str, str]] = field(default_factory=list)  # (case, measure)
    previous: dict[str, Any] = field(default_factory=dict)  # the period before: from, to, total, complaints, by_category
    # The supervisor's KPIs (seed 000 第五篇 客服主管 2 负责对转化率,投诉率进行分析与统计): orders and
    # inquiries received, conversion = orders / inquiries and complaint rate = complaints / orders
    # in per cent (None where there is nothing to divide by).
    kpis: dict[str, Any] = field(default_factory=dict)

    @property
    def late_steps(self) -> int:
        return sum(counts["late"] for counts in self.steps.values())

    @property
    def empty(self) -> bool:
        return self.total == 0

    def share(self, count: int, of: int) -> str:
        """``count`` of ``of`` in per cent, as the report prints it; "-" where there is nothing to divide."""
        return f"{100 * count / of:.1f}%" if of else "-"

    def figures(self) -> dict[str, Any]:
        """The report as data (``kefu report complaints --json``, the case's ``report.compiled``):
        counts as integers keyed by the configured value."""
        return {
            "from": self.period.first.isoformat(), "to": self.period.last.isoformat(), "total": self.total,
            "complaints": self.complaints, "archived": self.archived, "open": self.open,
            "by_kind": self.by_kind, "by_severity": self.by_severity, "by_category": self.by_category,
            "by_channel": self.by_channel, "by_department": self.by_department,
            "upheld": self.upheld, "not_upheld": self.not_upheld, "unjudged": self.unjudged,
            "steps": self.steps, "late_steps": self.late_steps, "closed": self.closed,
            "mean_handling_hours": self.mean_handling_hours, "worst_handling_hours": self.worst_handling_hours,
            "rounds": {str(k): v for k, v in self.rounds.items()}, "repeat_customers": self.repeat_customers,
            "follow_ups": self.follow_ups, "callbacks": self.callbacks, "satisfaction": self.satisfaction,
            "improvements": [list(item) for item in self.improvements], "previous": self.previous,
            "kpis": self.kpis,
        }


def _in(period: Period, rules: Rules) -> sa.ColumnElement[bool]:
    start, end = period.bounds(rules)
    return sa.and_(FACT.c.opened_at >= start, FACT.c.opened_at < end)


def _groups(connection: sa.Connection, rules: Rules, period: Period) -> "pd.DataFrame":
    """The period's contacts grouped by every dimension the report splits them by (SQL), with
    each group's count and handling times."""
    import pandas as pd  # ~1 s to import: only a report pays it, never a flow run or a command
    follow_up = FACT.c.follows.isnot(None).label("follow_up")
    columns = [FACT.c[name] for name in DIMENSIONS if name != "follow_up"] + [follow_up]
    query = (sa.select(*columns, sa.func.count().label("n"),
                       sa.func.sum(FACT.c.handling_hours).label("hours"),
                       sa.func.count(FACT.c.handling_hours).label("timed"),
                       sa.func.max(FACT.c.handling_hours).label("worst"))
             .where(_in(period, rules)).group_by(*columns))
    frame = pd.DataFrame(connection.execute(query).mappings().all(),
                         columns=[*DIMENSIONS, "n", "hours", "timed", "worst"])
    for column in ("n", "hours", "timed", "worst", "rounds"):
        frame[column] = pd.to_numeric(frame[column])  # a group with no closed case has no hours: NaN, not None
    return frame


def _counts(frame: "pd.DataFrame", column: str, order: list[str] | None = None) -> dict[str, int]:
    """``n`` summed by ``column`` (groups without a value left out), in the configured order first."""
    sums = frame.dropna(subset=[column]).groupby(column)["n"].sum()
    counts = {str(key): int(value) for key, value in sums.items()}
    ordered = [key for key in order or [] if key in counts]
    return {**{key: counts[key] for key in ordered}, **{k: v for k, v in sorted(counts.items()) if k not in ordered}}


def _steps(connection: sa.Connection, rules: Rules, period: Period) -> dict[str, dict[str, int]]:
    """Each complaint step's deadlines in the period: met on time, late (met late, or overdue
    and still open), open and not yet due."""
    d, now = Deadline.__table__, clock.now()  # type: ignore[attr-defined]
    late = sa.or_(sa.and_(d.c.met_at.isnot(None), d.c.met_at > d.c.due_at),
                  sa.and_(d.c.met_at.is_(None), d.c.due_at < now))
    on_time = sa.and_(d.c.met_at.isnot(None), sa.or_(d.c.due_at.is_(None), d.c.met_at <= d.c.due_at))
    query = (sa.select(d.c.step, sa.func.sum(sa.case((on_time, 1), else_=0)).label("on_time"),
                       sa.func.sum(sa.case((late, 1), else_=0)).label("late"), sa.func.count().label("all"))
             .select_from(d.join(FACT, FACT.c.case_id == d.c.case_id))
             .where(_in(period, rules), FACT.c.process == PROCESS).group_by(d.c.step))
    steps = {}
    for row in connection.execute(query).mappings():
        steps[row["step"]] = {"on_time": int(row["on_time"]), "late": int(row["late"]),
                              "open": int(row["all"] - row["on_time"] - row["late"])}
    order = [*rules.complaint.permissions]  # the steps in the process's order, then the case-wide ones
    return dict(sorted(steps.items(), key=lambda item: (order.index(item[0]) if item[0] in order else len(order), item[0])))


def _repeat_customers(connection: sa.Connection, rules: Rules, period: Period) -> int:
    """Complaints by a customer (the same phone) who had already complained in the period."""
    per_customer = (sa.select(sa.func.count().label("n")).where(
        _in(period, rules), FACT.c.process == PROCESS, FACT.c.customer.isnot(None)).group_by(FACT.c.customer)
        .subquery())
    return int(connection.execute(sa.select(sa.func.coalesce(sa.func.sum(per_customer.c.n - 1), 0))).scalar())


def _improvements(connection: sa.Connection, rules: Rules, period: Period, top: int) -> list[tuple[str, str]]:
    """The measures the period's reviews proposed (改进措施), the earliest complaints' first. Only
    an upheld complaint is reviewed: a handful of rows, not the archive."""
    query = (sa.select(FACT.c.case_id, FACT.c.improvements)
             .where(_in(period, rules), FACT.c.process == PROCESS, FACT.c.upheld.is_(True))
             .order_by(FACT.c.opened_at, FACT.c.case_id))
    found = [(case_id, measure) for case_id, measures in connection.execute(query) for measure in measures or []]
    return found[:top]


def _satisfaction(store: CaseStore, rules: Rules, connection: sa.Connection, period: Period
                  ) -> tuple[int, dict[str, int]]:
    """The callbacks of the period's complaints and how their customers answered (P2): a callback
    opens after its complaint closes, so only the callbacks opened since the period began."""
    start, _ = period.bounds(rules)
    opened = connection.execute(sa.select(Case.id).where(Case.process == CALLBACK,  # type: ignore[arg-type]
                                                         Case.opened_at >= start)).scalars().all()
    states = [store.state(case_id) for case_id in opened]
    sources = {callback_of(s).source_case: s for s in states if callback_of(s).source_case}
    if not sources:
        return 0, {}
    ours = set(connection.execute(sa.select(FACT.c.case_id).where(
        _in(period, rules), FACT.c.case_id.in_(list(sources)))).scalars())
    answers: dict[str, int] = {}
    for source, state in sources.items():
        answer = callback_of(state).answer if source in ours else None
        if answer is not None:
            answers[answer.outcome] = answers.get(answer.outcome, 0) + 1
        elif source in ours and state.outcome:
            answers[state.outcome] = answers.get(state.outcome, 0) + 1
    return len(ours), answers


def _previous(connection: sa.Connection, rules: Rules, period: Period) -> dict[str, Any]:
    import pandas as pd

    before = period.before()
    query = (sa.select(FACT.c.process, FACT.c.category, sa.func.count().label("n"))
             .where(_in(before, rules)).group_by(FACT.c.process, FACT.c.category))
    frame = pd.DataFrame(connection.execute(query).mappings().all(), columns=["process", "category", "n"])
    complaints = frame[frame["process"] == PROCESS]
    return {"from": before.first.isoformat(), "to": before.last.isoformat(), "total": int(frame["n"].sum()),
            "complaints": int(complaints["n"].sum()),
            "by_category": _counts(complaints, "category", [c.id for c in rules.complaint.categories])}


def percent(count: int, of: int) -> float | None:
    """``count`` of ``of`` in per cent to one decimal; None where there is nothing to divide by."""
    return round(100 * count / of, 1) if of else None


def _kpis(connection: sa.Connection, rules: Rules, period: Period, stats: ComplaintStatistics) -> dict[str, Any]:
    """Conversion (访客寻单转化率: orders per inquiry) and the complaint rate (complaints per order)."""
    start, end = period.bounds(rules)
    orders = int(connection.execute(sa.select(sa.func.count()).where(
        Case.process == ORDER, Case.opened_at >= start, Case.opened_at < end)).scalar_one())  # type: ignore[arg-type]
    inquiries = sum(stats.by_kind.get(kind, 0) for kind in rules.report.complaint_statistics.inquiries)
    return {"orders": orders, "inquiries": inquiries, "conversion": percent(orders, inquiries),
            "complaint_rate": percent(stats.complaints, orders)}


def compile_statistics(store: CaseStore, rules: Rules, period: Period) -> ComplaintStatistics:
    """The period's statistics from the record (fact rows missing or behind their cases are made
    first, so a case recorded a moment ago counts)."""
    facts.refresh(store, (PROCESS, CONTACT), FACTS)
    stats = ComplaintStatistics(period=period)
    with store.engine.connect() as connection:
        frame = _groups(connection, rules, period)
        complaints = frame[frame["process"] == PROCESS]
        stats.total, stats.complaints = int(frame["n"].sum()), int(complaints["n"].sum())
        stats.archived = int(complaints.loc[complaints["archived"].astype(bool), "n"].sum())
        stats.open = int(frame.loc[frame["status"] == "open", "n"].sum())
        stats.by_kind = _counts(frame, "kind", list(rules.complaint.kinds))
        stats.by_severity = _counts(complaints, "severity", rules.complaint.severities)
        stats.by_category = _counts(complaints, "category", [c.id for c in rules.complaint.categories])
        stats.by_channel = _counts(complaints, "channel", rules.complaint.channels)
        stats.by_department = _counts(complaints, "department", [d.id for d in rules.department.departments])
        judged = complaints.dropna(subset=["upheld"])
        stats.upheld = int(judged.loc[judged["upheld"].astype(bool), "n"].sum())
        stats.not_upheld = int(judged.loc[~judged["upheld"].astype(bool), "n"].sum())
        stats.unjudged = stats.complaints - stats.upheld - stats.not_upheld
        stats.closed = int(complaints["timed"].sum())
        if stats.closed:
            stats.mean_handling_hours = round(float(complaints["hours"].sum()) / stats.closed, 2)
            stats.worst_handling_hours = round(float(complaints["worst"].max()), 2)
        planned = complaints[complaints["rounds"] > 0]
        stats.rounds = {int(k): int(v) for k, v in planned.groupby("rounds")["n"].sum().items()}
        stats.follow_ups = int(complaints.loc[complaints["follow_up"].astype(bool), "n"].sum())
        stats.steps = _steps(connection, rules, period)
        stats.repeat_customers = _repeat_customers(connection, rules, period)
        stats.improvements = _improvements(connection, rules, period, rules.report.complaint_statistics.top_improvements)
        stats.callbacks, stats.satisfaction = _satisfaction(store, rules, connection, period)
        stats.previous = _previous(connection, rules, period)
        stats.kpis = _kpis(connection, rules, period, stats)
    return stats
