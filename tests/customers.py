"""The demo department's customer archive for tests (P5): registered like any customer, by an
agent, signed in. What used to be config/callback.yaml ``customers``."""

from __future__ import annotations

from people import signed_in

from kefu.core.rules import Rules
from kefu.core.store import CaseStore
from kefu.processes.customer import decisions as customers
from models.case import CaseState
from models.customer import CustomerRegistration

ARCHIVE = (
    dict(name="华东建材有限公司 王经理", phone="13900001111", email="wang@hdjc.example", member=True, key=True),
    dict(name="苏州装饰 刘总", phone="13900002222", key=True),
    dict(name="陈美玲", phone="13900003333", member=True, timezone="America/Los_Angeles"),
    dict(name="赵强", phone="13900004444", member=True),
)


def register(store: CaseStore, rules: Rules, by: str = "li.na", **profile) -> CaseState:
    with signed_in(by):
        return customers.register_customer(store, rules, CustomerRegistration(by=by, **profile))


def archive(store: CaseStore, rules: Rules) -> dict[str, CaseState]:
    """The four customers, by name."""
    return {p["name"]: register(store, rules, **p) for p in ARCHIVE}
