"""The customer archive's scenes (P5 客户资料管理): the agents' records of the day come in as a
spreadsheet with two bad rows, which are quarantined with their reasons; the supervisor confirms
the day's proposed assignment; the owners make their first contact. The key customers are the ones
the callback scene calls every two months."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from kefu import processes, runtime
from kefu.core import clock
from kefu.demo.staff import signed_in
from kefu.executor import service
from kefu.processes.customer import decisions as customers
from models.customer import ASSIGNMENT, FIRST_CONTACT, customer_of

DATA = Path(__file__).with_name("data")
COLLECTOR, SUPERVISOR = "li.na", "chen.jing"


def run(say: Callable[[str], None], problems: list[str]) -> dict[str, Any]:
    from kefu import intake
    from kefu.intake.mapping import load_mapping

    store, rules = runtime.store(), runtime.rules()
    say("\nThe customer archive 客户资料 — the day's records, the supervisor's assignment, first contacts "
        "(config/customer.yaml):")
    collector = signed_in(COLLECTOR)

    def opener(target: Any, registration: Any, origin: dict[str, Any], also: Any) -> Any:
        return service.open_from_file(target, registration, collector, origin, also)[0]

    result = intake.take_in(store, rules, processes.intake_target("customers"), DATA / "customers.csv",
                            load_mapping(DATA / "customers.mapping.yaml"), mode="open", actor=COLLECTOR,
                            opener=opener)
    say(f"  {result.batch}: {result.rows} rows from {COLLECTOR} — {result.imported} new customers, "
        f"{result.quarantined} quarantined, {result.duplicates} already in the archive")
    held = intake.held_rows(store, result.batch)
    for row in held:
        say(f"    row {row['row']}: {row['field']} {row['value']!r} — {row['reason']}")
    if result.rows != result.imported + result.quarantined + result.duplicates:
        problems.append(f"customer intake {result.batch}: the rows do not add up")
    if result.imported and len(held) != 2:
        problems.append(f"customer intake {result.batch}: {len(held)} rows held, the file has two bad ones")

    today = clock.now().astimezone(rules.department.department.zone).date()
    proposal = customers.propose(store, rules, today)
    for p in proposal:
        say(f"  proposed: {p.case_id} grade {p.grade} {p.name} → {p.owner or 'nobody today'} ({p.why})")
    supervisor = signed_in(SUPERVISOR)
    assigned = customers.confirm_proposal(store, rules, SUPERVISOR, record=lambda case_id, data: service.decide(
        case_id, ASSIGNMENT, data.model_dump(exclude={"by"}), supervisor)[0])
    if assigned:
        say(f"  {SUPERVISOR} confirmed the day's assignment: {len(assigned)} customers")
    # The owners write to their new key customers first (大客户应重点对待); the others are theirs this
    # week. By e-mail: the demo plays at any hour, and a call in the customer's quiet hours is refused.
    contacted = []
    for state in (s for s in assigned if customer_of(s).grade == rules.customer.grades[0].id):
        owner = customer_of(state).owner
        done, _ = service.decide(state.case_id, FIRST_CONTACT, {
            "channel": "email", "note": "自我介绍，确认联系人与地址；客户希望下季度看新品目录 / introduced myself, "
                                        "confirmed contact and address; wants next quarter's catalogue"},
            signed_in(owner))  # type: ignore[arg-type]
        contacted.append(done.case_id)
        say(f"  {done.case_id}  first contact by {owner} ({done.outcome})")
    return {"batch": result.as_json(), "held": [{k: r[k] for k in ("row", "field", "value", "reason")} for r in held],
            "assigned": {s.case_id: customer_of(s).owner for s in assigned}, "contacted": contacted}
