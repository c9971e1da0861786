"""The order process's decisions (PROCESSES.md P3): what each order command and step records.

"买家拍下付款不是客服工作的结束而是开始" (seed 000 第四篇): payment starts the agent's work. The CLI
and the flow's tasks call these functions, so the same decision ends in the same event. Each
re-reads the order, decides and appends through :func:`kefu.core.casework.record`; an order opens,
meets and escalates its own deadlines with the shared deadline events (swept by ``kefu sweep``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlmodel import Session

from kefu.core import clock, customer_messages
from kefu.core.casework import SYSTEM, open_deadline, record
from kefu.core.refusals import FIELD_FIXES as SHARED_FIXES
from kefu.core.refusals import InputRefused, refusal_from_validation, unknown_staff
from kefu.core.rules import Rules
from kefu.core.store import CaseStore, NewEvent
from kefu.core.texts import local_time, mask_phone, render_file
from kefu.processes.order.remark import EXAMPLE, delivery_mode_words, parse_remark
from kefu.processes.order.rules import AGREED_DATE_STEPS
from models.case import (
    PHONE_PATTERN,
    CaseState,
    EventType,
    RecordedEvent,
    StaffInput,
    plain,
)
from models.order import (
    AFTER,
    CHASED,
    CREATED,
    CREDIT_MOVED,
    DELAY_RECORDED,
    INPUTS,
    LIABILITY_RECORDED,
    PROCESS,
    STAGES,
    STEP_EVENT,
    OrderState,
    order_of,
)
from models.records import CaseEvent
from models.reducer import apply

# What to write instead when an order's field is wrong (the CLI's and the dashboard's).
FIELD_FIXES = {
    **SHARED_FIXES,
    "text": "write the remark as 姓名,宽*高,图案,M月D日发货,配送方式。特殊备注",
    "confirmation": "paste the buyer's written confirmation (e.g. the chat message)",
    "tracking": "give the logistics tracking number, e.g. SF1234567890",
}
# Which command records each hand-over (followed by the order id), and the chase reply window's.
COMMANDS = {
    "payment": "kefu order paid", "remark": "kefu order remark", "verification": "kefu order verify",
    "shipment": "kefu order shipped", "delivery": "kefu order delivered",
    **{step: f"kefu order step {step}" for step in ("stock-check", "finance-confirmation", "director-approval",
                                                    "handover", "invoice")},
}
CHASE_REPLY_COMMAND = {"chase-reply": "kefu order chase --via phone"}

STAGE_WORDS = {  # stage -> (zh, en, en past participle)
    "payment": ("付款", "payment", "paid"),
    "shipment": ("发货", "shipment", "shipped"),
    "delivery": ("到货", "delivery", "delivered"),
}


class NewOrder(BaseModel):
    """An order as the agent takes it: buyer, agent, items, agreed dates, delivery mode, urgency."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    buyer: str = Field(min_length=1, max_length=200)
    _buyer = field_validator("buyer")(classmethod(lambda cls, v: plain(v)))
    phone: str = Field(pattern=PHONE_PATTERN)
    agent: str = Field(min_length=1)
    items: list[str] = Field(min_length=1)
    ship_by: date
    deliver_by: date
    delivery_mode: str
    urgency: str | None = None
    invoice_requested: bool = False


# -- deadlines ------------------------------------------------------------------------------------

def agreed_deadline(rules: Rules, state: CaseState, step: str, opened_at: datetime) -> NewEvent:
    """A deadline on a date agreed with the buyer (not from sla.yaml): due at the agreed day's
    ``agreed_due_local_time``; the ladder's shares counted on ``agreed_date_ladder_span``."""
    order, config = order_of(state), rules.order
    field = AGREED_DATE_STEPS[step]
    agreed: date = getattr(order, field)
    zone = rules.department.department.zone
    due = clock.as_utc(datetime.combine(agreed, config.agreed_due_local_time, tzinfo=zone))
    span = config.agreed_date_ladder_span.amount
    ladder, rungs = rules.escalation.ladder_for(PROCESS, state.severity)
    return NewEvent(EventType.DEADLINE_OPENED, SYSTEM, opened_at, {
        "step": step, "round": 1, "due_at": due.isoformat(),
        "policy": f"order.yaml agreed_due_local_time: {field} {agreed.isoformat()} agreed with the buyer",
        "allowed": f"until {agreed.isoformat()} {config.agreed_due_local_time:%H:%M}", "basis": "calendar",
        "calendar": rules.sla.calendar, "ladder": ladder,
        "rungs": [{"rung": i, "share": r.at, "notify": r.notify, "kind": r.kind,
                   "at": max(due + span * (r.at - 1), opened_at).isoformat()} for i, r in enumerate(rungs)],
        # Not from deadlines.plan: replay recomputes it from these (the brief's auditor convention).
        "set_by": "agreement", "input": {"field": field, "date": agreed.isoformat(),
                                         "local_time": f"{config.agreed_due_local_time:%H:%M}",
                                         "ladder_span": config.agreed_date_ladder_span.text},
    })


def with_deadlines(rules: Rules, before: CaseState, events: list[NewEvent]) -> list[NewEvent]:
    """``events`` and the deadline events they cause: a done hand-over meets its deadline, a
    hand-over that becomes ready opens its own; an instant-message chase opens the reply window,
    a phone chase or the stage done meets it; closing meets whatever is still open."""
    after = before.model_copy(deep=True)
    out: list[NewEvent] = []
    for event in events:
        out.append(event)
        for extra in _deadline_events(rules, after, event):
            _fold(after, extra)
            out.append(extra)
    return out


def _fold(state: CaseState, event: NewEvent) -> None:
    apply(state, RecordedEvent(seq=state.last_seq + 1, type=event.type, actor=event.actor, at=event.at,
                               payload=event.payload))


def _deadline_events(rules: Rules, state: CaseState, event: NewEvent) -> list[NewEvent]:
    """Fold ``event`` into ``state`` and return the deadline events it causes."""
    _fold(state, event)
    order, extra = order_of(state), []

    def met(step: str, round_: int) -> NewEvent:
        return NewEvent(EventType.DEADLINE_MET, SYSTEM, event.at, {"step": step, "round": round_})

    open_ = {(d.step, d.round) for d in state.open_deadlines()}
    known = {d.step for d in state.deadlines}
    if state.status == "closed":
        return [met(step, round_) for step, round_ in sorted(open_)]
    if event.type == CREATED:
        extra += [agreed_deadline(rules, state, step, event.at) for step in AGREED_DATE_STEPS]
    for step in order.needed():
        if step in order.done and (step, 1) in open_:
            extra.append(met(step, 1))
        elif step not in order.done and step not in known and step not in AGREED_DATE_STEPS and order.ready(step):
            extra.append(open_deadline(rules, state, step, 1, event))
    replies = [(s, r) for s, r in open_ if s == "chase-reply"]
    if event.type == CHASED and event.payload["stage"] in AGREED_DATE_STEPS:  # the supervisor was asked
        if event.payload["via"] == rules.order.chase.first_via:
            round_ = 1 + sum(d.step == "chase-reply" for d in state.deadlines)
            extra.append(open_deadline(rules, state, "chase-reply", round_, event))
        else:
            extra += [met(s, r) for s, r in replies]
    elif event.type in (STEP_EVENT["shipment"], STEP_EVENT["delivery"]):
        extra += [met(s, r) for s, r in replies]
    return extra


# -- the commands ---------------------------------------------------------------------------------

def today(rules: Rules) -> date:
    return clock.now().astimezone(rules.department.department.zone).date()


def _validated(model: type[BaseModel], data: dict[str, Any]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise refusal_from_validation(exc, FIELD_FIXES) from None


def create(store: CaseStore, rules: Rules, data: dict[str, Any], by: str) -> CaseState:
    """Take an order (seed 001: 客服部接收订单): buyer, agent, items, agreed dates, mode, urgency."""
    new: NewOrder = _validated(NewOrder, data)
    config = rules.order
    member = _staff(rules, by)
    agent = rules.staff_member(new.agent)
    if agent is None or agent.role != rules.department.roles[0]:
        agents = ", ".join(s.id for s in rules.department.staff if s.role == rules.department.roles[0])
        raise InputRefused("agent", f"{new.agent!r} is not an agent",
                           f"give the staff id of the agent whose flag is on the order: {agents}")
    mode = config.delivery_mode(new.delivery_mode)
    if mode is None:
        raise InputRefused("delivery_mode", f"{new.delivery_mode!r} is not a delivery mode",
                           f"use one of {delivery_mode_words(config)}")
    urgency = new.urgency or config.default_urgency
    if urgency not in config.urgencies:
        raise InputRefused("urgency", f"unknown urgency {urgency!r}", f"use one of {', '.join(config.urgencies)}")
    if new.ship_by < today(rules):
        raise InputRefused("ship_by", f"{new.ship_by} is in the past", "give the ship date agreed with the buyer")
    if new.deliver_by < new.ship_by:
        raise InputRefused("deliver_by", f"{new.deliver_by} is before the ship date {new.ship_by}",
                           "give a delivery date on or after the ship date")
    payload = new.model_dump(mode="json")
    payload.update(delivery_mode=mode, urgency=urgency, taken_by=member.id)
    at = clock.now()
    events = with_deadlines(rules, CaseState(case_id=""), [NewEvent(CREATED, member.id, at, payload)])
    day = at.astimezone(rules.department.department.zone).strftime("%Y%m%d")
    return store.create(config.case_id_prefix, day, PROCESS, new.buyer, events, rules.version)


def submit(store: CaseStore, rules: Rules, order_id: str, step: str, data: dict[str, Any]) -> CaseState:
    """Record a hand-over of the chain (the CLI's command or the dashboard's form)."""
    if step not in INPUTS:
        raise InputRefused("step", f"unknown step {step!r}", f"use one of {', '.join(INPUTS)}")
    parsed = _validated(INPUTS[step], data)
    values = parsed.model_dump(mode="json", exclude={"by"})
    mail: list[Any] = []

    def decide(state: CaseState) -> list[NewEvent]:
        mail.clear()
        order = _open_order(state)
        member = _staff(rules, parsed.by)
        _check_turn(rules, state, order, step, member.id)
        _check_owner(rules, state, order, step, member)
        now = clock.now()
        payload = dict(values)
        extra: list[NewEvent] = []
        if step == "remark":
            payload = _remark_payload(rules, state, order, values["text"], member.id, now, mail)
        elif step == "payment":
            extra = _credit_for_chase(state, order, now)
        elif step in AGREED_DATE_STEPS:
            extra = _lateness(rules, state, order, step, now)
        key = f"{step}:{len(order.remarks) + 1}" if step == "remark" else step
        return with_deadlines(rules, state, [NewEvent(STEP_EVENT[step], member.id, now, payload, idem_key=key)] + extra)

    def send(session: Session, state: CaseState) -> None:
        for item in mail:
            _enqueue(session, rules, state, **item)

    return record(store, rules, order_id, decide, also=send)


def _remark_payload(rules: Rules, state: CaseState, order: OrderState, text: str, by: str, now: datetime,
                    mail: list[Any]) -> dict[str, Any]:
    # A late order's amendment still names the agreed (now past) ship date: that one is not "in the past".
    remark = parse_remark(text, rules.order, min(today(rules), order.ship_by))
    if remark.ship_date != order.ship_by:
        # Seed 000 第四篇 订单整理: a wrong ship date is a severe error ("11月2日发货写成11月20日发货").
        raise InputRefused("remark.ship_date", f"{remark.ship_date:%m月%d日} differs from the ship date agreed on "
                           f"the order ({order.ship_by:%m月%d日})", f"write {order.ship_by.month}月{order.ship_by.day}日发货")
    fields = remark.model_dump(mode="json", exclude={"text"})
    version = len(order.remarks) + 1
    payload: dict[str, Any] = {"version": version, "text": remark.text, "fields": fields}
    previous = order.remark
    if previous is not None:
        changes = [name for name, value in fields.items() if previous.fields.get(name) != value]
        if not changes:
            raise InputRefused("text", f"the remark is the same as version {previous.version}",
                               "change what the buyer changed; nothing was recorded")
        recipients = _supervisors(rules)
        payload.update(amended=True, previous_version=previous.version, changes=changes,
                       reported_to=[s.id for s in recipients])
        agent = _staff(rules, by)
        context = dict(order_id=state.case_id, buyer=order.buyer, agent_name=f"{agent.name} ({agent.id})",
                       changed_at=local_time(rules, now), version=version, previous_version=previous.version,
                       previous_text=previous.text, text=remark.text,
                       changes_zh="、".join(changes), changes_en=", ".join(changes))
        mail.append(dict(template="amendment_notice", key=f"order-amended:{state.case_id}:{version}",
                         recipients=recipients, context=context))
    return payload


def _credit_for_chase(state: CaseState, order: OrderState, now: datetime) -> list[NewEvent]:
    """Seed 000 第四篇 追单: "追单成功计入追单客服销售业绩" — the last other agent who chased the unpaid order."""
    chasers = [c for c in order.chases if c.stage == "payment" and c.by != order.agent]
    if not chasers:
        return []
    return [NewEvent(CREDIT_MOVED, SYSTEM, now, {"from": order.credit_agent, "to": chasers[-1].by,
                                                  "chase_seq": chasers[-1].seq,
                                                  "rule": "seed 000 第四篇: 追单成功计入追单客服销售业绩"})]


def _lateness(rules: Rules, state: CaseState, order: OrderState, stage: str, now: datetime) -> list[NewEvent]:
    """Done after its agreed date: liable unless the agent chased (seed 000 第四篇: 有追问环节则可以免责)."""
    deadline = state.deadline(stage, 1)
    if deadline is None or deadline.due_at is None or now <= deadline.due_at:
        return []
    chases = [c for c in order.chases if c.stage == stage]
    return [NewEvent(LIABILITY_RECORDED, SYSTEM, now, {
        "stage": stage, "agent": order.agent, "liable": not chases, "due_at": deadline.due_at.isoformat(),
        "done_at": now.isoformat(), "chases": [c.seq for c in chases],
        "rule": "seed 000 第四篇 订单跟踪: 有追问环节则可以免责",
    }, idem_key=f"liability:{stage}")]


def chase(store: CaseStore, rules: Rules, order_id: str, via: str, by: str) -> CaseState:
    """Chase an overdue stage: the agent asks the supervisor (IM first, phone when IM gets no
    answer), or another agent chases an unpaid order whose agent is offline (追单)."""
    config = rules.order
    if via not in (config.chase.first_via, config.chase.then_via):
        raise InputRefused("via", f"unknown channel {via!r}", f"use {config.chase.first_via} (instant message, "
                           f"e-mailed to the supervisors) or {config.chase.then_via}")
    mail: list[Any] = []

    def decide(state: CaseState) -> list[NewEvent]:
        mail.clear()
        order = _open_order(state)
        member = _staff(rules, by)
        now = clock.now()
        stage = overdue_stage(state, order, now)
        if stage is None:
            raise InputRefused("order", f"{order_id} has nothing overdue to chase (next: {state.step})",
                               "chase once an agreed date (or 24 h unpaid) has passed; see `kefu order show`")
        payload: dict[str, Any] = {"via": via, "stage": stage}
        if stage == "payment":
            _check_unpaid_chaser(store, rules, order, member, now)
        elif member.id != order.agent and not rules.department.above_agents(member.role):
            raise InputRefused("by", f"{member.id} is not the order's agent ({order.agent})",
                               f"the agent whose flag is on the order chases: --by {order.agent}")
        if stage != "payment" and via == config.chase.first_via:
            recipients = _supervisors(rules)
            payload["to"] = [s.id for s in recipients]
            low, _, done_en = STAGE_WORDS[stage]
            agreed = getattr(order, AGREED_DATE_STEPS[stage])
            mail.append(dict(template="chase_message", key=f"order-chase:{order_id}:{len(order.chases) + 1}",
                             recipients=recipients, context=dict(
                                 order_id=order_id, buyer=order.buyer, agreed=agreed.isoformat(), stage_zh=low,
                                 stage_done_en=done_en, tracking=order.tracking, chased_at=local_time(rules, now),
                                 agent_name=f"{member.name} ({member.id})")))
        return with_deadlines(rules, state, [NewEvent(CHASED, member.id, now, payload,
                                                      idem_key=f"chase:{len(order.chases) + 1}")])

    def send(session: Session, state: CaseState) -> None:
        for item in mail:
            _enqueue(session, rules, state, **item)

    return record(store, rules, order_id, decide, also=send)


def overdue_stage(state: CaseState, order: OrderState, now: datetime) -> str | None:
    """The first stage past its deadline and not done: unpaid, not shipped, not delivered."""
    for stage in STAGES:
        deadline = state.deadline(stage, 1)
        if stage not in order.done and deadline is not None and deadline.due_at is not None and now > deadline.due_at:
            return stage
    return None


def _check_unpaid_chaser(store: CaseStore, rules: Rules, order: OrderState, member: Any, now: datetime) -> None:
    if member.role != rules.department.roles[0]:
        raise InputRefused("by", f"{member.id} is not an agent", "an agent chases an unpaid order (追单)")
    if member.id == order.agent:
        return
    seen = last_active(store, order.agent)
    away = rules.order.offline_after
    if seen is not None and now - seen < away.amount:
        raise InputRefused("by", f"the order's agent {order.agent} is online (last active {local_time(rules, seen)}; "
                           f"offline after {away.text} without activity, order.yaml offline_after)",
                           f"leave it to {order.agent}; another agent may chase only while they are offline")


def last_active(store: CaseStore, staff_id: str) -> datetime | None:
    """When the staff member last recorded anything in kefu: presence, derived from the record."""
    with Session(store.engine) as session:
        return session.execute(sa.select(sa.func.max(CaseEvent.at)).where(CaseEvent.actor == staff_id)).scalar()


def record_delay(store: CaseStore, rules: Rules, order_id: str, cause: str, by: str) -> CaseState:
    """A delay from causes outside our control: record the cause and send the buyer the after-care
    message (seed 002 §2: 若因其他不可控因素导致货品延误，应及时做好客户的善后处理)."""
    if not cause.strip():
        raise InputRefused("cause", "must not be empty", "say what delays the order, e.g. 暴雪封路 / snow closed the roads")

    def decide(state: CaseState) -> list[NewEvent]:
        order = _open_order(state)
        member = _staff(rules, by)
        now = clock.now()
        stage = next((s for s in AGREED_DATE_STEPS if s not in order.done), None)
        if stage is None:
            raise InputRefused("order_id", f"{order_id} was delivered", "a delivered order has no delay to record")
        zh, en, _ = STAGE_WORDS[stage]
        agreed = getattr(order, AGREED_DATE_STEPS[stage])
        text = render_file(rules, rules.order.templates.after_care, buyer=order.buyer, order_id=order_id,
                           cause=cause.strip(), stage_zh=zh, stage_en=en, agreed=agreed.isoformat(),
                           agent_name=member.name)
        n = len(order.delays) + 1
        return [NewEvent(DELAY_RECORDED, member.id, now, {"cause": cause.strip(), "stage": stage, "n": n},
                         idem_key=f"delay:{n}"),
                customer_messages.notice(rules, "after_care", text, _buyer(order), f"after-care:{n}", n)]

    return record(store, rules, order_id, decide)


def _buyer(order: Any) -> dict[str, Any]:
    """How the buyer is reached: in the shop's chat, where the order was taken (seed 000: a Taobao
    shop's 旺旺), on their phone."""
    return {"channel": "chat", "phone": order.phone}


def tell_tracking(store: CaseStore, rules: Rules, order_id: str) -> CaseState:
    """Tell the buyer the tracking number (seed 001: 由客服部通知客户，并跟踪客户收货)."""

    def decide(state: CaseState) -> list[NewEvent]:
        order = order_of(state)
        if "tracking_notice" in state.notices or order.tracking is None:
            return []
        mode = rules.order.delivery_modes[order.delivery_mode][0]
        text = render_file(rules, rules.order.templates.tracking_notice, buyer=order.buyer, order_id=order_id,
                           tracking=order.tracking, deliver_by=order.deliver_by.isoformat(),
                           delivery_mode_zh=mode, delivery_mode_en=order.delivery_mode.replace("_", " "))
        return [customer_messages.notice(rules, "tracking_notice", text, _buyer(order), "tracking-notice")]

    return record(store, rules, order_id, decide)


def form_description(rules: Rules, state: CaseState, step: str, round_: int) -> str:
    """What the dashboard shows above a wait's form: the order, every remark version, the format,
    the deadline, and the last refusal to correct."""
    order, owner = order_of(state), rules.order.chain[step]
    deadline = state.deadline(step, round_)
    return render_file(
        rules, rules.order.templates.form, order_id=state.case_id, urgency=order.urgency, step=step,
        owner=order.agent if owner.role == "owner" else owner.role or owner.department, buyer=order.buyer,
        phone_masked=mask_phone(order.phone), agent=order.agent, items="；".join(order.items),
        ship_by=order.ship_by.isoformat(), deliver_by=order.deliver_by.isoformat(), delivery_mode=order.delivery_mode,
        remarks=[{"version": r.version, "at": local_time(rules, r.at), "by": r.by, "text": r.text}
                 for r in order.remarks],
        example=EXAMPLE, due_at=local_time(rules, deadline.due_at) if deadline and deadline.due_at else None,
        allowed=deadline.allowed if deadline else None, refusal=state.last_refusal.get(f"{step}:{round_}"),
    )


def complete(store: CaseStore, rules: Rules, order_id: str) -> CaseState:
    """Close the order once every hand-over is done; what is still open is met with it."""

    def decide(state: CaseState) -> list[NewEvent]:
        if state.status == "closed" or order_of(state).next_step() is not None:
            return []
        return with_deadlines(rules, state, [NewEvent(EventType.CLOSED, SYSTEM, clock.now(), {"outcome": "completed"},
                                                      idem_key="closed")])

    return record(store, rules, order_id, decide)


# -- checks ---------------------------------------------------------------------------------------

def _open_order(state: CaseState) -> OrderState:
    if state.process != PROCESS:
        raise InputRefused("order_id", f"{state.case_id} is a {state.process} case, not an order",
                           "give an order id (O-…); see `kefu case list`")
    if state.status != "open":
        raise InputRefused("order_id", f"{state.case_id} is closed ({state.outcome})", "nothing more can be recorded")
    return order_of(state)


def _staff(rules: Rules, staff_id: str) -> Any:
    member = rules.staff_member(staff_id)
    if member is None:
        raise unknown_staff(staff_id)
    return member


def _check_turn(rules: Rules, state: CaseState, order: OrderState, step: str, by: str) -> None:
    if step not in order.needed():
        raise InputRefused("step", f"{state.case_id} needs no {step} (no invoice was requested)",
                           "record the steps `kefu order show` lists")
    if step in order.done and step != "remark":
        raise InputRefused("step", f"{step} of {state.case_id} was recorded on {local_time(rules, order.done[step])}",
                           "nothing to do; a remark can be amended with `kefu order remark`")
    missing = [before for before in AFTER[step] if before not in order.done]
    if missing:
        raise InputRefused("step", f"{step} comes after {', '.join(missing)}, not recorded yet",
                           f"first `{COMMANDS[missing[0]]} {state.case_id}`")


def _check_owner(rules: Rules, state: CaseState, order: OrderState, step: str, member: Any) -> None:
    """The chain's owner of each hand-over (order.yaml chain): ``owner`` is the order's agent, an agent
    who chased it unpaid (追单), or anyone above the agent in the service line; a role must match
    (finance confirms payment, nobody else); a department's hand-over is recorded by its staff. A
    configured deputy decides as the owner (department.yaml access.deputies: ``by`` names the owner)."""
    owner = rules.order.chain[step]
    roles = rules.department.roles
    if owner.role == "owner":
        chasers = {c.by for c in order.chases if c.stage == "payment"}
        if member.id in {order.agent, *chasers} or rules.department.above_agents(member.role):
            return
        raise InputRefused("by", f"{member.id} is not the order's agent ({order.agent}) (order.yaml chain.{step})",
                           f"ask {order.agent} or a {roles[1]}")
    if owner.role is not None and member.role != owner.role:
        raise InputRefused("by", f"{step} needs a {owner.role} (order.yaml chain.{step}); {member.id} is a {member.role}",
                           f"ask one of {', '.join(s.id for s in rules.department.staff if s.role == owner.role)}")
    if owner.department is not None and member.department != owner.department:
        raise InputRefused("by", f"{step} is {owner.department}'s (order.yaml chain.{step}); {member.id} works in "
                                 f"{member.department}",
                           f"ask one of {', '.join(s.id for s in rules.department.staff if s.department == owner.department)}")


def may_decide(step: str) -> Any:
    """Who the form of hand-over ``step`` offers: the chain's owner of it (order.yaml chain)."""

    def allowed(rules: Rules, state: CaseState, member: Any) -> bool:
        try:
            _check_owner(rules, state, order_of(state), step, member)
            return True
        except InputRefused:
            return False

    return allowed


def _supervisors(rules: Rules) -> list[Any]:
    return [s for s in rules.department.staff if s.role == rules.order.supervisor_role]


def _enqueue(session: Session, rules: Rules, state: CaseState, template: str, key: str, recipients: list[Any],
             context: dict[str, Any]) -> None:
    from kefu.escalation import mail

    name = getattr(rules.order.templates, template)
    for member in recipients:
        subject, text, html = mail.render_message(rules.directory, name, supervisor_name=member.name, **context)
        mail.enqueue(session, key=f"{key}:{member.id}", to=[member.email], subject=subject, text=text, html=html)


def recorder(step: str) -> Any:
    """How a hand-over's form is recorded (the process list's human steps): the same path as the CLI."""

    def record_form(store: CaseStore, rules: Rules, order_id: str, data: StaffInput) -> CaseState:
        return submit(store, rules, order_id, step, data.model_dump(mode="json"))

    return record_form
