"""P1 complaint handling 投诉处理 (PROCESSES.md P1; seed 002 §4 (7)), and its short branch:
consultations 咨询 and queries 查询, answered and closed (process ``contact``)."""

from __future__ import annotations

from kefu.core.process import Deployment, Facts, HumanStep, IntakeTarget, Process, Section
from kefu.processes.complaint import archive, decisions, replay
from kefu.processes.complaint.facts import fact_of
from kefu.processes.complaint.rules import (
    CASE_WIDE_DEADLINES,
    CONTACT_STEPS,
    STEPS,
    ComplaintRules,
    complaint_problems,
)
from models.case import StaffInput
from models.complaint import CONTACT as CONTACT_NAME
from models.complaint import CONTACT_INPUTS, INPUTS, PROCESS, ComplaintFact, Step

# Complaints, consultations and queries alike: the statistics count every contact by its kind.
FACTS = Facts(ComplaintFact, fact_of)


def _human_steps(inputs: dict[str, type[StaffInput]]) -> tuple[HumanStep, ...]:
    return tuple(HumanStep(str(step), model, decisions.recorder(step), decisions.COMMANDS[step],  # type: ignore[index]
                           may_decide=decisions.may_decide(step), choices=decisions.choices(step))
                 for step, model in inputs.items())


COMPLAINT = Process(
    name=PROCESS,
    label="P1 complaint handling 投诉处理",
    tag="p1",
    config=Section("complaint", "complaint.yaml", ComplaintRules, complaint_problems),
    deadline_steps=STEPS + CASE_WIDE_DEADLINES,
    severities=lambda rules: rules.complaint.severities,
    human_steps=_human_steps(INPUTS),
    automatic_steps=(Step.REPLY, Step.REMEDY, Step.CLOSING),
    deployments=(Deployment("complaint", "flows/complaint.py:complaint",
                            "P1 complaint handling 投诉处理 — one run per complaint, suspended at each human step."),),
    field_fixes=decisions.FIELD_FIXES,
    replay_checks=replay.CHECKS,
    intake=IntakeTarget("complaints", section=lambda rules: rules.complaint,
                        case_id_prefix=lambda rules: rules.department.department.case_id_prefix,
                        archived=archive.archived_complaint, registration=archive.complaint_registration,
                        opens=decisions.register_contact),
    facts=FACTS,
)

CONTACT = Process(
    name=CONTACT_NAME,
    label="P1 consultations 咨询 and queries 查询",
    tag="p1",
    config=None,  # complaint.yaml says who may answer (permissions.answer)
    deadline_steps=CONTACT_STEPS,
    human_steps=_human_steps(CONTACT_INPUTS),
    automatic_steps=(Step.CLOSING,),
    deployments=(Deployment("contact", "flows/contact.py:contact",
                            "Consultations 咨询 and queries 查询 — answered and closed."),),
    field_fixes=decisions.FIELD_FIXES,
    replay_checks=replay.CONTACT_CHECKS,
    facts=FACTS,
)
