"""The dashboard's forms (kefu/core/forms.py), generated per case and step from config: a person
sees what they must decide and picks from what the rules allow."""

from __future__ import annotations

from typing import get_args

import pytest
from audit_cases import at_approval

from kefu import processes
from kefu.core.forms import NONE_LABEL, PIN, RECORDED_BY_CLI, form_for
from kefu.processes.callback import CALLBACK
from kefu.processes.complaint import decisions as complaints
from models.callback import Outcome
from models.case import CaseState
from models.complaint import ContactRegistration


def _choices(form, field: str) -> list:
    return list(form.model.model_json_schema()["properties"][field]["enum"])


def test_the_approval_form_lists_the_options_of_the_plan(store, rules, frozen_clock):
    case_id = at_approval(store, rules)
    form = processes.form(rules, store.state(case_id), "approval")
    assert _choices(form, "choice") == ["1. 退款 200 元", "2. 换货并补偿运费"]
    assert form.values({"choice": "2. 换货并补偿运费", "by": "chen.jing", PIN: "123456"}) == {"choice": 2, "by": "chen.jing"}


def test_an_agent_is_not_offered_as_the_approver(store, rules, frozen_clock):
    """complaint.yaml permissions.approval.general: supervisor, manager or director (seed 002 §4 (7))."""
    case_id = at_approval(store, rules)
    offered = _choices(processes.form(rules, store.state(case_id), "approval"), "by")
    assert "chen.jing 陈静" in offered and not any(o.startswith(("li.na", "wang.fang")) for o in offered)
    major = at_approval(store, rules, "major")
    assert not any(o.startswith("chen.jing") for o in _choices(processes.form(rules, store.state(major), "approval"), "by"))


def test_the_department_picker_shows_the_configured_departments_by_name(store, rules, frozen_clock):
    reg = ContactRegistration(name="张三", phone="13812345678", channel="phone", content="快递送错了", kind="complaint")
    state = complaints.register_contact(store, rules, reg)
    form = processes.form(rules, state, "judgement")
    assert _choices(form, "department")[0] == NONE_LABEL and "维修部 Repair" in _choices(form, "department")
    assert form.values({"department": "维修部 Repair"})["department"] == "repair"
    assert form.values({"department": NONE_LABEL})["department"] is None  # not upheld: no department


def test_every_form_asks_for_a_pin_as_a_password(store, rules, frozen_clock):
    reg = ContactRegistration(name="张三", phone="13812345678", channel="phone", content="快递送错了", kind="complaint")
    form = processes.form(rules, complaints.register_contact(store, rules, reg), "judgement")
    pin = form.model.model_json_schema()["properties"][PIN]
    assert pin["format"] == "password" and PIN in form.model.model_json_schema()["required"]


def test_a_cli_decision_wakes_the_form_without_a_secret(store, rules, frozen_clock):
    """The CLI verified the caller's token and recorded the decision; the run it wakes reads the
    record, so the form is filled with labels and a marker, never a PIN."""
    case_id = at_approval(store, rules)
    form = processes.form(rules, store.state(case_id), "approval")
    answer = form.answer({"choice": 1, "by": "chen.jing", "verified": {"method": "cli-token"}})
    assert answer == {"choice": "1. 退款 200 元", "by": "chen.jing 陈静", PIN: RECORDED_BY_CLI}
    form.model.model_validate(answer)


@pytest.mark.parametrize("outcome", ["满意 satisfied", "联系不上 unreachable"])
def test_the_call_form_shows_the_outcomes_in_chinese(rules, outcome):
    """Seed 001 回访流程《回访记录表》: the outcomes as callback.yaml labels them."""
    form = form_for(rules, CaseState(case_id="CB-1", process="callback"), CALLBACK.human_steps[0])
    assert outcome in _choices(form, "outcome")
    assert set(form.choices["outcome"]) == set(get_args(Outcome))
