"""The demo's callbacks 回访 (PROCESSES.md P2), after the working day of kefu/demo.py.

The day's resolved complaints opened their callbacks; the agents call them. A repaired water
heater's owner cannot talk and books another time, and is called then; key customers are picked
from the archive and called; one callback nobody makes misses its three days and climbs the
ladder — the supervisor's digest lands in the outbox. Every call goes through
:func:`kefu.executor.service.decide`, the same path as the dashboard form and ``kefu callback record``.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any, Callable

from kefu import processes, runtime
from kefu.core import clock
from kefu.core.customer_messages import quiet_time
from kefu.demo.staff import signed_in
from kefu.escalation import mail, sweep
from kefu.executor import prefect_env, service
from kefu.processes.callback import decisions as callbacks
from kefu.settings import get_settings
from models.callback import CALL, CallbackCustomer, callback_of
from models.complaint import complaint_of

# What the customers of the day's complaints answer, in turn (the notes feed the summary's themes).
ANSWERS = [
    {"outcome": "satisfied", "note": "处理很及时 / quick handling"},
    {"outcome": "average", "note": "送货还是慢了一点 / delivery still a bit slow"},
    {"outcome": "satisfied"},
    {"outcome": "average", "note": "客服态度可以再耐心些 / the agent could be more patient"},
]
WAIT_S = 60.0


def _callbacks_of(complaint_ids: list[str]) -> list[str]:
    """The callbacks the complaints' runs opened (each run opens its own as it closes)."""
    store, found = runtime.store(), {}
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline and len(found) < len(complaint_ids):
        for complaint_id in complaint_ids:
            callback_id = callbacks.find_by_trigger(store, f"complaint_closed:{complaint_id}")
            if callback_id:
                found[complaint_id] = callback_id
        time.sleep(0.5)
    return [found[c] for c in complaint_ids if c in found]


def _call(case_id: str, say: Callable[[str], None], **answer: Any) -> None:
    rules, case = runtime.rules(), runtime.store().state(case_id)
    agent, zone = case.owner, callbacks.customer_zone(rules, callback_of(case).customer)
    # Seed 001 一个避免: the agent phones when the customer is awake (kefu refuses a call in their
    # quiet hours); the demo's day may be played at night, so its clock runs on to their morning.
    awake = quiet_time(rules).next_waking_moment(clock.now(), zone)
    if awake > clock.now():
        say(f"  {case_id}  {agent} waits for the customer's morning: {callbacks.customer_local(awake, zone)}")
        clock.run_ahead_to(awake)
    state, note = service.decide(case_id, CALL, {"channel": "phone", **answer}, signed_in(agent))
    callback = callback_of(state)
    after = (f"next call {callbacks.customer_local(callback.proposed_at, callbacks.customer_zone(runtime.rules(), callback.customer))}"
             f" (set by {callback.proposed_by})" if state.status == "open" else f"closed: {state.outcome}")
    say(f"  {case_id}  {agent}: {answer['outcome']}{' — ' + answer['note'] if answer.get('note') else ''}; {after}")


def run(say: Callable[[str], None], complaint_ids: list[str], problems: list[str]) -> dict[str, Any]:
    store, rules = runtime.store(), runtime.rules()
    say("\nCallbacks 回访 — within three days, never in the customer's rest time (config/callback.yaml):")
    resolved = [c for c in complaint_ids if complaint_of(store.state(c)).callback is not None]
    answered = _callbacks_of(resolved)
    if len(answered) < len(resolved):
        problems.append(f"callbacks: {len(resolved) - len(answered)} resolved complaint(s) opened no callback")
    for case_id, answer in zip(answered, ANSWERS * len(answered)):
        _call(case_id, say, **answer)

    # A repair: the customer is in a meeting and books tomorrow 10:00 her time.
    customer = CallbackCustomer(name="周敏", phone="13700001111", member=True, timezone="Asia/Shanghai")
    run_id = f"{clock.now():%Y%m%d%H%M%S%f}"  # a re-run of the demo opens new callbacks
    repair = callbacks.open_for_service(store, rules, reference=f"demo-repair-{run_id}", service="热水器维修",
                                        customer=customer, completed_at=clock.now())
    service_run = service.start(repair)
    zone = callbacks.customer_zone(rules, customer)
    tomorrow = (clock.now().astimezone(zone) + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    say(f"  {repair.case_id}  repair callback for {customer.name} (member), run {service_run}")
    _call(repair.case_id, say, outcome="not_convenient", booked_at=tomorrow.isoformat())

    # Key customers every two months (seed 002 §3 6.2), picked from the archive.
    today = clock.now().astimezone(rules.department.department.zone).date()
    picked = callbacks.select_due_customers(store, rules, today)
    say(f"  key customers and occasions picked today: {', '.join(s.case_id for s in picked) or 'none'}")
    for state in (s for s in picked if s.status == "open"):  # a re-run in the same period picks nobody new
        service.start(state)
        _call(state.case_id, say, outcome="satisfied")

    # A callback nobody makes: three days later the sweep climbs the ladder.
    forgotten = callbacks.open_for_service(store, rules, reference=f"demo-forgotten-{run_id}", service="门锁更换",
                                           customer=CallbackCustomer(name="郑凯", phone="13600002222", member=True,
                                                                     timezone="Asia/Shanghai"),
                                           completed_at=clock.now())
    service.start(forgotten)
    # The days pass forward for every kefu process of the home (kefu.core.clock.run_ahead_to).
    start = clock.now()
    clock.run_ahead_to(tomorrow)  # the agent calls at the time the customer booked
    _call(repair.case_id, say, outcome="satisfied")
    clock.run_ahead_to(start + timedelta(days=3, minutes=1))
    fired = sweep.escalate_due(store.engine, rules, dashboard_url=get_settings().dashboard_url,
                               commands=processes.command_for)
    delivered = mail.deliver_due(store.engine, prefect_env.mail_transport())
    rungs = [f for f in fired.fired if f["case_id"] == forgotten.case_id]
    for f in rungs:
        say(f"  {forgotten.case_id}  three days without a call: rung {f['rung'] + 1} → {f['notify']} "
            f"({', '.join(f['recipients'])})")
    say(f"  {'':16}  sweep: {fired.messages_queued} digest(s) queued, {delivered.sent} e-mailed")
    if any(f["case_id"] == repair.case_id for f in fired.fired):
        problems.append(f"{repair.case_id}: escalated although it was called at the time the customer booked")
    if not rungs:
        problems.append(f"{forgotten.case_id}: the missed callback did not escalate")
    return {"answered": answered, "rescheduled": repair.case_id, "picked": [s.case_id for s in picked],
            "escalated": {"case_id": forgotten.case_id, "rungs": rungs}}
