"""``kefu complaint …`` (P1 complaint handling 投诉处理) and ``kefu contact answer``
(consultations 咨询 and queries 查询)."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

import typer
from pydantic import ValidationError

from kefu.cli.case import case_json, decide
from kefu.cli.support import BadInput, ByOpt, JsonOpt, caller, command, emit
from kefu.core.refusals import refusal_from_validation
from kefu.executor import service
from kefu.processes.complaint.decisions import FIELD_FIXES
from models.complaint import ContactRegistration, Step

complaint_app = typer.Typer(no_args_is_help=True, help="P1 complaint handling 投诉处理.")
contact_app = typer.Typer(no_args_is_help=True, help="Consultations 咨询 and queries 查询.")


@complaint_app.command("open")
@command
def complaint_open(
    name: str = typer.Option(..., "--name", help="Complainant 投诉人."),
    phone: str = typer.Option(..., "--phone", help="Contact phone."),
    channel: str = typer.Option(..., "--channel", help="phone, in_person, fax, chat, email, sms, web, mail, other (complaint.yaml channels)."),
    content: str = typer.Option(..., "--content", help="What the customer said 投诉内容."),
    email: Optional[str] = typer.Option(None, "--email", help="The customer's e-mail address: messages go there "
                                        "when customer_messages.yaml ways allow e-mail for the channel."),
    timezone: Optional[str] = typer.Option(None, "--timezone", help="The customer's IANA time zone (default: the "
                                           "phone number's, else the department's): no message in their rest hours."),
    kind: Optional[str] = typer.Option(None, "--kind", help="consultation, query or complaint (default: classified)."),
    severity: Optional[str] = typer.Option(None, "--severity", help="general, major or crisis (default: classified)."),
    category: Optional[str] = typer.Option(None, "--category", help="What it is about, one of complaint.yaml "
                                           "categories (default: classified by its words)."),
    member: bool = typer.Option(False, "--member", help="The customer is a member."),
    order: Optional[str] = typer.Option(None, "--order", help="Order reference."),
    received_at: Optional[str] = typer.Option(None, "--at", help="When it was received (ISO-8601 with offset)."),
    by: Optional[str] = ByOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Register a contact (step 1, 投诉受理) and start its flow run."""
    try:
        at = datetime.fromisoformat(received_at) if received_at else None
    except ValueError:
        raise BadInput("at", f"{received_at!r} is not a time", FIELD_FIXES["received_at"]) from None
    verified = caller()
    try:
        reg = ContactRegistration(name=name, phone=phone, email=email, timezone=timezone, channel=channel,
                                  content=content, kind=kind, category=category,
                                  severity=severity, member=member, order_ref=order, received_at=at, by=by or verified.staff)
    except ValidationError as exc:
        raise refusal_from_validation(exc, FIELD_FIXES) from None
    state, note = service.open_contact(reg, verified)
    if note != "started":
        typer.echo(f"warning: case recorded, but its flow run {note}", err=True)
    emit(as_json, {**case_json(state), "flow_run": note}, f"{state.case_id}")
    if not as_json:
        typer.echo(f"  {state.kind}/{state.severity or '-'}, waits at {state.step}; flow run {note}", err=True)


@complaint_app.command("judge")
@command
def complaint_judge(
    case_id: str = typer.Argument(..., help="Case id."),
    upheld: Optional[bool] = typer.Option(None, "--upheld/--not-upheld", help="Is the complaint upheld?"),
    department: Optional[str] = typer.Option(None, "--department", help="Responsible department (upheld)."),
    category: Optional[str] = typer.Option(None, "--category", help="What it is about (complaint.yaml categories; "
                                           "default: the category proposed at intake)."),
    reason: str = typer.Option(..., "--reason", help="Reason for the judgement."),
    by: Optional[str] = ByOpt, as_json: bool = JsonOpt,
) -> None:
    """Step 2, 投诉判定: upheld (naming the responsible department) or not upheld, and its category."""
    if upheld is None:
        raise BadInput("upheld", "say whether the complaint is upheld", "add --upheld --department D, or --not-upheld")
    decide(case_id, Step.JUDGEMENT, {"upheld": upheld, "department": department, "category": category,
                                     "reason": reason, "by": by}, as_json)


@complaint_app.command("investigate")
@command
def complaint_investigate(
    case_id: str = typer.Argument(...),
    cause: str = typer.Option(..., "--cause", help="The concrete cause."),
    responsible: str = typer.Option(..., "--responsible", help="The directly responsible person."),
    category: Optional[str] = typer.Option(None, "--category", help="A corrected category, when the cause shows "
                                           "the complaint is about something else."),
    by: Optional[str] = ByOpt, as_json: bool = JsonOpt,
) -> None:
    """Step 3, 展开调查: the cause and the responsible person (and a corrected category)."""
    decide(case_id, Step.INVESTIGATION, {"cause": cause, "responsible": responsible, "category": category,
                                         "by": by}, as_json)


@complaint_app.command("propose")
@command
def complaint_propose(
    case_id: str = typer.Argument(...),
    option: list[str] = typer.Option(..., "--option", help="A candidate solution (repeat for more)."),
    by: Optional[str] = ByOpt, as_json: bool = JsonOpt,
) -> None:
    """Step 4, 提出处理方案: one or more candidate solutions."""
    decide(case_id, Step.PROPOSAL, {"options": option, "by": by}, as_json)


@complaint_app.command("approve")
@command
def complaint_approve(
    case_id: str = typer.Argument(...),
    choice: int = typer.Option(..., "--choice", help="Number of the chosen option (1 = first)."),
    by: Optional[str] = ByOpt, as_json: bool = JsonOpt,
) -> None:
    """Step 4, 批示: a person with the approving role chooses one option."""
    decide(case_id, Step.APPROVAL, {"choice": choice, "by": by}, as_json)


@complaint_app.command("implement")
@command
def complaint_implement(
    case_id: str = typer.Argument(...),
    accepted: Optional[bool] = typer.Option(None, "--accepted/--rejected", help="Did the customer accept?"),
    signature: Optional[str] = typer.Option(None, "--signature", help="The customer's signature (name)."),
    feedback: Optional[str] = typer.Option(None, "--feedback", help="The customer's feedback."),
    by: Optional[str] = ByOpt, as_json: bool = JsonOpt,
) -> None:
    """Step 5, 实施处理方案: the customer accepts (signs) or rejects; a rejection goes back to step 4."""
    if accepted is None:
        raise BadInput("accepted", "say whether the customer accepted", "add --accepted --signature NAME, or --rejected")
    decide(case_id, Step.IMPLEMENTATION,
            {"accepted": accepted, "signature": signature, "feedback": feedback, "by": by}, as_json)


@complaint_app.command("review")
@command
def complaint_review(
    case_id: str = typer.Argument(...),
    summary: str = typer.Option(..., "--summary", help="Summary and evaluation."),
    improvement: list[str] = typer.Option([], "--improvement", help="An improvement measure (repeat for more)."),
    by: Optional[str] = ByOpt, as_json: bool = JsonOpt,
) -> None:
    """Step 6, 总结评价: summary and improvements; the case closes and a callback is requested."""
    decide(case_id, Step.REVIEW, {"summary": summary, "improvements": improvement, "by": by}, as_json)


@contact_app.command("answer")
@command
def contact_answer(
    case_id: str = typer.Argument(...),
    answer: str = typer.Option(..., "--answer", help="The answer given to the customer."),
    by: Optional[str] = ByOpt, as_json: bool = JsonOpt,
) -> None:
    """Answer a consultation or query; it closes."""
    decide(case_id, Step.ANSWER, {"answer": answer, "by": by}, as_json)
