"""What the registers share (the morning screen, the daily digest, the order ledger, the monthly
satisfaction analysis): a day in the department's zone, the cases worked on in a span of time, a
workbook of plain sheets, and the e-mail each role report.yaml names receives once a period —
however often the schedule's run is retried."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlmodel import Session

from kefu.core.rules import Rules
from kefu.core.store import CaseStore
from models.case import CaseState, RecordedEvent
from models.records import Case, CaseEvent
from models.reducer import reduce

if TYPE_CHECKING:
    from kefu.escalation.mail import Attachment

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHORT = 80  # characters of a customer's words a register quotes (the case holds all of them)


def day_bounds(rules: Rules, day: date) -> tuple[datetime, datetime]:
    """``day`` in the department's zone, as a half-open UTC interval."""
    zone = rules.department.department.zone
    return (datetime.combine(day, time(), zone).astimezone(timezone.utc),
            datetime.combine(day + timedelta(days=1), time(), zone).astimezone(timezone.utc))


def local(rules: Rules, at: datetime | None, fmt: str = "%m-%d %H:%M") -> str:
    return at.astimezone(rules.department.department.zone).strftime(fmt) if at else "-"


def staff_name(rules: Rules, staff_id: str | None) -> str:
    """A staff member as a register names them (their id when they are not on the roster)."""
    member = rules.staff_member(staff_id) if staff_id else None
    return member.name if member else (staff_id or "-")


def short(text: str | None) -> str:
    """A customer's words on one line, cut at ``SHORT`` characters."""
    text = " ".join((text or "").split())
    return text if len(text) <= SHORT else text[:SHORT - 1] + "…"


@dataclass(frozen=True)
class DayOfCase:
    """A case as it stands now, and what was recorded on it during the day."""

    state: CaseState
    events: list[RecordedEvent]


def worked_on(store: CaseStore, rules: Rules, processes: tuple[str, ...], day: date) -> list[DayOfCase]:
    """The cases of ``processes`` that something was recorded on during ``day``, oldest first."""
    return cases_between(store, processes, *day_bounds(rules, day))


def cases_between(store: CaseStore, processes: tuple[str, ...], start: datetime, end: datetime) -> list[DayOfCase]:
    """The cases of ``processes`` that something was recorded on in [start, end), oldest first,
    with those events. A case with an event then is open now or closed since ``start`` (the close
    is a case's last event), so the candidates come from the indexed case table, not a scan of
    the whole event log; of them, only those with an event in the span are read and folded (each
    asked through its own events' index), not every case still open."""
    e = CaseEvent.__table__  # type: ignore[attr-defined]
    touched = sa.exists().where(e.c.case_id == Case.id, e.c.at >= start, e.c.at < end)
    with Session(store.engine) as session:
        ids = session.execute(sa.select(Case.id).where(
            Case.process.in_(processes), Case.opened_at < end,  # type: ignore[attr-defined]
            sa.or_(Case.status == "open", Case.closed_at >= start), touched)  # type: ignore[operator]
            .order_by(Case.opened_at, Case.id)).scalars().all()
    days = []
    for case_id, events in store.histories(ids).items():
        today = [e for e in events if start <= e.at < end]
        if today:
            days.append(DayOfCase(reduce(case_id, events), today))
    return days


@dataclass(frozen=True)
class Sheet:
    """One worksheet: a bilingual title (its tab), bilingual column headers, and its rows."""

    title: str
    columns: list[str]
    rows: list[list[Any]]


def workbook(sheets: list[Sheet], chart: bytes | None = None) -> bytes:
    """The sheets as an XLSX workbook: a bold header row, frozen, and columns wide enough to read;
    a chart, when there is one, beside the first sheet's table."""
    from openpyxl import Workbook
    from openpyxl.drawing.image import Image
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    for sheet in sheets:
        page = book.create_sheet(sheet.title[:31])  # Excel's limit on a tab's name
        page.append(sheet.columns)
        for cell in page[1]:
            cell.font = Font(bold=True)
        page.freeze_panes = "A2"
        for row in sheet.rows:
            page.append(row)
        for index, header in enumerate(sheet.columns, start=1):
            widest = max([len(str(header))] + [len(str(row[index - 1])) for row in sheet.rows[:200]])
            page.column_dimensions[page.cell(1, index).column_letter].width = min(60, max(10, widest + 2))
    if chart is not None:
        first = book.worksheets[0]
        first.add_image(Image(io.BytesIO(chart)), f"{first.cell(1, len(sheets[0].columns) + 2).column_letter}2")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def mail_register(store: CaseStore, rules: Rules, name: str, day: date, recipients: list[str], mail_template: str,
                  markdown_text: str, attachments: "list[Attachment] | None" = None, departments: list[str] = (),
                  **context: Any) -> list[str]:
    """Mail a register to the active staff in ``recipients`` (roles), once each for ``day`` (the
    day, or the first of the period, it covers): the Markdown as the text part, rendered to HTML
    for the HTML part, the workbook (and a chart, shown inline) attached; also to the mailbox of
    each of ``departments`` that has one (department.yaml). Returns who it was addressed to."""
    members = [s for s in rules.department.staff if s.role in recipients and s.active]
    addressees = [(m.id, m.model_dump()) for m in members] + [
        (f"dept:{d.id}", {"id": d.id, "name": d.name, "email": d.email})
        for d in rules.department.departments if d.id in departments and d.email]
    with Session(store.engine) as session, session.begin():
        enqueue_register(session, rules, f"{name}:{day.isoformat()}", addressees, mail_template, markdown_text,
                         attachments or [], **context)
    return [key for key, _ in addressees]


def enqueue_register(session: Session, rules: Rules, key: str, addressees: list[tuple[str, dict[str, Any]]],
                     mail_template: str, markdown_text: str, attachments: "list[Attachment]", **context: Any) -> None:
    """Queue a register's e-mail to each of ``addressees`` ((id, who they are)) in ``session``: the
    Markdown as the text part, rendered to HTML for the HTML part (outbox key ``<key>:<id>``)."""
    import markdown as md

    from kefu.escalation import mail

    html_body = md.markdown(markdown_text, extensions=["tables"])
    for addressee, recipient in addressees:
        subject, text, html = mail.render_message(
            rules.directory, mail_template, recipient=recipient, agenda=markdown_text, agenda_html=html_body,
            **context)
        mail.enqueue(session, key=f"{key}:{addressee}", to=[recipient["email"]], subject=subject, text=text,
                     html=html, attachments=attachments)


def write_register(out: Path, stem: str, markdown_text: str, sheets: list[Sheet], chart: bytes | None = None
                   ) -> dict[str, Path]:
    """``<stem>.md`` and ``<stem>.xlsx`` in ``out`` (and ``<stem>.png``, the chart, also in the
    workbook's first sheet)."""
    out.mkdir(parents=True, exist_ok=True)
    files = {"markdown": out / f"{stem}.md", "xlsx": out / f"{stem}.xlsx"}
    files["markdown"].write_text(markdown_text + "\n", encoding="utf-8")
    files["xlsx"].write_bytes(workbook(sheets, chart))
    if chart is not None:
        files["chart"] = out / f"{stem}.png"
        files["chart"].write_bytes(chart)
    return files


def mailed_files(files: dict[str, Path]) -> "list[Attachment]":
    """A register's files as its e-mail carries them: the workbook, and the chart inline (cid "chart")."""
    from kefu.escalation.mail import Attachment

    attached = [Attachment(files["xlsx"].name, XLSX, files["xlsx"].read_bytes())]
    if "chart" in files:
        attached.insert(0, Attachment(files["chart"].name, "image/png", files["chart"].read_bytes(), cid="chart"))
    return attached


def publish(store: CaseStore, rules: Rules, name: str, day: date, settings: Any, out: Path, stem: str,
            markdown_text: str, sheets: list[Sheet], chart: bytes | None = None, departments: list[str] = (),
            **context: Any) -> dict[str, Path]:
    """Write a register to ``out`` (:func:`write_register`) and mail it with its files to the roles
    of its report.yaml section ``settings`` (and ``departments``), once each for ``day``."""
    files = write_register(out, stem, markdown_text, sheets, chart)
    mail_register(store, rules, name, day, settings.recipients, settings.templates.mail, markdown_text,
                  mailed_files(files), departments=departments, chart_cid="chart" if chart else None, **context)
    return files
