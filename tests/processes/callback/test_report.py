"""《回访总结报告》 (kefu.processes.callback.report): the summary's figures match the record.

PROCESSES.md P2 "analyse the results and write the Callback Summary Report": the test computes
every figure again from the raw event rows (not through the reducer) and compares; the XLSX and
the Markdown carry the same figures; members' coverage shows who is still missing.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from sqlmodel import Session, select

from kefu.core import clock
from kefu.processes.callback import decisions as callbacks
from kefu.processes.callback import report as callback_report
from models.callback import CallAttemptInput, CallbackCustomer
from models.records import CaseEvent

SHANGHAI = ZoneInfo("Asia/Shanghai")
ANSWERED = ("satisfied", "average", "unsatisfied")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def open_one(store, rules, ref: str, name: str, member: bool) -> str:
    customer = CallbackCustomer(name=name, phone="13800000000", timezone="Asia/Shanghai", member=member)
    return callbacks.open_for_service(store, rules, reference=ref, service="安装", customer=customer,
                                      completed_at=clock.now()).case_id


def call(store, rules, case_id: str, outcome: str, **extra) -> None:
    callbacks.record_attempt(store, rules, case_id, CallAttemptInput(outcome=outcome, by="li.na", **extra))


def a_month_of_callbacks(store, rules) -> None:
    clock.set_now(local(2026, 11, 23, 9, 30))
    satisfied = open_one(store, rules, "R1", "甲", True)
    rebooked = open_one(store, rules, "R2", "乙", True)
    late = open_one(store, rules, "R3", "丙", False)
    unreachable = open_one(store, rules, "R4", "丁", True)
    open_one(store, rules, "R5", "戊", True)  # never called
    clock.set_now(local(2026, 11, 23, 10, 30))
    call(store, rules, satisfied, "satisfied", note="很好")
    call(store, rules, rebooked, "not_convenient", booked_at=local(2026, 11, 27, 10, 0))
    for _ in range(3):
        call(store, rules, unreachable, "unreachable")
        clock.advance(timedelta(hours=5))
    clock.set_now(local(2026, 11, 27, 10, 0))
    call(store, rules, rebooked, "average", note="送货太慢了，希望及时一点")
    call(store, rules, late, "unsatisfied", note="安装师傅态度不好，地板有破损")
    clock.set_now(local(2026, 12, 1, 10, 0))
    open_one(store, rules, "R6", "己", True)  # December: outside the period
    clock.set_now(local(2026, 12, 2, 10, 0))


def figures_from_events(store, rules, first: date, last: date) -> dict:
    """The figures, straight from the event rows."""
    with Session(store.engine) as session:
        rows = session.exec(select(CaseEvent).order_by(CaseEvent.case_id, CaseEvent.seq)).all()
    by_case: dict[str, list[CaseEvent]] = {}
    for row in rows:
        by_case.setdefault(row.case_id, []).append(row)
    figures = Counter()
    satisfaction, notes = Counter(), []
    for events in by_case.values():
        opened = next((e for e in events if e.type == "callback.opened"), None)
        if opened is None or not first <= opened.at.astimezone(SHANGHAI).date() <= last:
            continue
        figures["due"] += 1
        attempts = [e for e in events if e.type == "callback.attempted"]
        figures["attempts"] += len(attempts)
        figures["rebooked"] += any(e.payload["outcome"] == "not_convenient" for e in attempts)
        due = [datetime.fromisoformat(e.payload["due_at"]) for e in events
               if e.type in ("deadline.opened", "deadline.rescheduled")][-1]
        answer = next((e for e in attempts if e.payload["outcome"] in ANSWERED), None)
        closed = next((e for e in events if e.type == "case.closed"), None)
        member = opened.payload["customer"]["member"]
        if answer is not None:
            figures["done"] += 1
            satisfaction[answer.payload["outcome"]] += 1
            figures["on_time" if answer.at <= due else "late"] += 1
            if answer.payload["outcome"] != "satisfied":
                notes.append(answer.payload["note"])
        elif closed is not None and closed.payload["outcome"] == "unreachable":
            figures["unreachable"] += 1
        else:
            figures["open"] += 1
            figures["overdue"] += due < clock.now()
        figures["members_due"] += member
        figures["members_covered"] += member and closed is not None
    themes = Counter(theme for note in notes for theme, words in rules.callback.improvement_themes.items()
                     if any(w.lower() in note.lower() for w in words))
    return {**figures, "satisfaction": {k: satisfaction[k] for k in ANSWERED}, "themes": themes}


def test_the_summary_figures_match_the_records(store, rules, frozen_clock, tmp_path):
    a_month_of_callbacks(store, rules)
    first, last = date(2026, 11, 1), date(2026, 11, 30)
    summary = callback_report.summarize(store, rules, first, last)
    expected = figures_from_events(store, rules, first, last)
    got = summary.figures()
    for key in ("due", "done", "on_time", "late", "unreachable", "open", "overdue", "rebooked", "attempts",
                "members_due", "members_covered"):
        assert got[key] == expected.get(key, 0), key
    assert got["satisfaction"] == expected["satisfaction"]
    assert dict(summary.themes) == {theme: n for theme, n in expected["themes"].items()}
    # The booked time past three days is the customer's choice: that answer is on time.
    assert (got["due"], got["late"], got["on_time"]) == (5, 1, 2)
    assert len(summary.records) == got["attempts"]


def test_member_coverage_names_the_members_still_missing(store, rules, frozen_clock, tmp_path):
    """Seed 001 "必须保证会员客户的100%的回访": below 100 % the report says whose callback is open."""
    a_month_of_callbacks(store, rules)
    summary = callback_report.summarize(store, rules, date(2026, 11, 1), date(2026, 11, 30))
    assert summary.members_due == 4 and summary.members_covered == 3
    assert summary.member_coverage == 75.0 and len(summary.members_open) == 1
    text = callback_report.markdown(rules, summary)
    assert "75.0 %" in text and summary.members_open[0] in text


def test_the_xlsx_and_markdown_carry_the_same_figures(sqlite_store, rules, frozen_clock, tmp_path):
    store = sqlite_store
    a_month_of_callbacks(store, rules)
    summary = callback_report.summarize(store, rules, date(2026, 11, 1), date(2026, 11, 30))
    files = callback_report.write(rules, summary, tmp_path / "out")
    book = load_workbook(files["xlsx"])
    sheet = {row[0]: row[1] for row in book["回访总结报告"].iter_rows(values_only=True) if row[0]}
    for key, value in summary.figures().items():
        if key in sheet:
            assert sheet[key] == value, key
    assert sheet["satisfied"] == summary.satisfaction["satisfied"]
    records = list(book["回访记录表"].iter_rows(values_only=True))
    assert len(records) - 1 == summary.attempts
    assert {r[9] for r in records[1:]} == {"satisfied", "not_convenient", "unreachable", "average", "unsatisfied"}
    markdown = files["markdown"].read_text(encoding="utf-8")
    assert f"| 应回访 Due | {summary.due} |" in markdown and f"| 超时 Late | {summary.late} |" in markdown
