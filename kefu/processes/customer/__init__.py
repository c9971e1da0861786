"""P5 the customer archive 客户资料管理 (PROCESSES.md P5; seed 001 客户服务部工作职责及规范 一、客户资料管理)."""

from __future__ import annotations

from kefu.core.process import Deployment, HumanStep, IntakeTarget, Process, Section
from kefu.processes.customer import decisions, replay
from kefu.processes.customer.rules import CUSTOMER_STEPS, CustomerRules, customer_problems, refresh_schedule
from models.customer import ASSIGNMENT, FIRST_CONTACT, PROCESS, AssignmentInput, FirstContactInput

CUSTOMER = Process(
    name=PROCESS,
    label="P5 customer archive 客户资料管理",
    tag="p5",
    config=Section("customer", "customer.yaml", CustomerRules, customer_problems),
    deadline_steps=CUSTOMER_STEPS,
    human_steps=(
        HumanStep(ASSIGNMENT, AssignmentInput, decisions.record_assignment, decisions.COMMANDS[ASSIGNMENT],
                  may_decide=decisions.may_assign, choices=decisions.owner_choices),
        HumanStep(FIRST_CONTACT, FirstContactInput, decisions.record_first_contact, decisions.COMMANDS[FIRST_CONTACT],
                  may_decide=decisions.may_contact, choices=decisions.channel_choices),
    ),
    deployments=(
        Deployment("customer", "flows/customer.py:customer",
                   "P5 customer 客户资料 — one run per new customer: assigned, then contacted within one week."),
        # Once a month each owner hears which of their customers' records nobody touched lately.
        Deployment("customer-refresh", "flows/customer.py:customer_refresh",
                   "P5 monthly refresh reminder — each owner's customers whose record is stale (customer.yaml refresh).",
                   schedule=refresh_schedule),
    ),
    field_fixes=decisions.FIELD_FIXES,
    commands=decisions.COMMANDS,
    form_description=decisions.form_description,
    replay_checks=replay.CHECKS,
    intake=IntakeTarget("customers", section=lambda rules: rules.customer,
                        case_id_prefix=lambda rules: rules.customer.case_id_prefix,
                        registration=decisions.customer_registration,
                        opens=decisions.register_customer,
                        modes=("open",)),
)
