"""kefu.executor.service: what a person does, as one call — the record first, then the run."""

from __future__ import annotations

import pytest

from kefu import runtime
from kefu.core import casework, clock, identity
from kefu.executor import orchestration, service
from models.complaint import ContactRegistration

RUN_ID = "5b6f5d6c-0000-4000-8000-000000000042"


@pytest.fixture
def runs_start(monkeypatch, kefu_env):
    """Prefect accepts the run: start_run links it to the case, as the real one does."""
    def start_run(case, attempt=0):
        casework.link_flow_run(runtime.store(), runtime.rules(), case.case_id, RUN_ID)
        return RUN_ID

    monkeypatch.setattr(orchestration, "start_run", start_run)


def _caller(staff: str) -> identity.Verified:
    engine, rules = runtime.store().engine, runtime.rules()
    return identity.verify_token(engine, rules, identity.issue_token(engine, rules, staff, clock.now()), clock.now())


def test_a_new_contact_comes_back_with_the_run_that_executes_it(runs_start):
    """The state returned is read after the run was started (bench/complaint_throughput.py and
    `kefu complaint open --json` read its flow_run_id)."""
    state, note = service.open_contact(ContactRegistration(name="张三", phone="13812345678", channel="phone",
                                                           content="快递送错了", by="li.na"), _caller("li.na"))
    assert note == "started" and state.flow_run_id == RUN_ID


def test_a_new_order_comes_back_with_the_run_that_executes_it(runs_start):
    state, note = service.open_order(dict(buyer="刘贺", phone="13812345678", agent="li.na", items=["墙纸"],
                                          ship_by="2026-11-26", deliver_by="2026-11-28", delivery_mode="自提"),
                                     _caller("li.na"))
    assert note == "started" and state.flow_run_id == RUN_ID
