"""`kefu callback …` and `kefu report callbacks` answer bad input with exit 2, the field and the fix,
and record nothing (in-process CliRunner; Prefect is never reached: its client raises)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from offline_cli import app, invoke, runner

from kefu import runtime
from kefu.executor import orchestration


@pytest.fixture(autouse=True)
def no_prefect(monkeypatch, kefu_env):
    def refuse_client():
        raise RuntimeError("Prefect is down")

    monkeypatch.setattr(orchestration, "_client", refuse_client)


def kefu(*args: str) -> tuple[int, dict]:
    result = invoke([*args, "--json"])
    return result.exit_code, json.loads(result.stdout)


def new_callback() -> str:
    return new_callback_for("R1")


def new_callback_for(ref: str) -> str:
    code, data = kefu("callback", "new", "--trigger", "service_completed", "--ref", ref, "--service", "空调维修",
                      "--name", "张三", "--phone", "13800000000", "--member")
    assert code == 0 and data["flow_run"].startswith("not started"), data  # recorded even with Prefect down
    return data["case_id"]


@pytest.mark.parametrize("args, field", [
    (("--outcome", "not_convenient", "--at", "2026-11-24T22:30:00+08:00"), "at"),   # the customer's rest time
    (("--outcome", "not_convenient", "--at", "2026-11-24T10:00:00"), "at"),         # no UTC offset
    (("--outcome", "not_convenient"), "at"),                                        # no time booked
    (("--outcome", "average"), "note"),                                             # what to improve?
    (("--outcome", "happy"), "outcome"),
    (("--outcome", "satisfied", "--channel", "fax"), "channel"),
    (("--outcome", "satisfied", "--by", "nobody"), "by"),
])
def test_a_bad_call_record_names_the_field_and_records_nothing(args, field):
    case_id = new_callback()
    before = len(runtime.store().events(case_id))
    by = () if "--by" in args else ("--by", "li.na")
    code, data = kefu("callback", "record", case_id, *args, *by)
    assert code == 2 and data["error"]["field"] == field, data
    assert data["error"]["fix"]
    assert len(runtime.store().events(case_id)) == before


def test_a_booked_time_in_quiet_hours_is_refused_with_the_first_allowed_time():
    code, data = kefu("callback", "record", new_callback(), "--outcome", "not_convenient",
                      "--at", "2026-11-24T12:30:00+08:00", "--by", "li.na")
    assert code == 2 and "2026-11-24 14:00 (Asia/Shanghai)" in data["error"]["fix"]


@pytest.mark.parametrize("args, field", [
    (("--timezone", "Mars/Olympus"), "timezone"),
    (("--phone", "12"), "phone"),
    (("--trigger", "complaint_closed"), "trigger"),
    (("--at", "2030-01-01T10:00:00+08:00"), "at"),  # completed in the future
])
def test_a_bad_new_callback_names_the_field(args, field):
    base = {"--trigger": "service_completed", "--ref": "R9", "--service": "维修", "--name": "李四", "--phone": "13800000000"}
    base.update(dict(zip(args[::2], args[1::2])))
    code, data = kefu("callback", "new", *[x for kv in base.items() for x in kv])
    assert code == 2 and data["error"]["field"] == field, data


def test_show_and_report_refuse_what_they_cannot_do(tmp_path):
    code, data = kefu("callback", "show", "CB-20991231-0001")
    assert code == 2 and data["error"]["field"] == "case_id"
    code, data = kefu("report", "callbacks", "--from", "2026-11-30", "--to", "2026-11-01", "--out", str(tmp_path))
    assert code == 2 and data["error"]["field"] == "to"
    code, data = kefu("report", "callbacks", "--from", "30.11.2026", "--to", "2026-11-01", "--out", str(tmp_path))
    assert code == 2 and data["error"]["field"] == "from"


def test_due_lists_the_next_call_first_and_marks_the_overdue():
    from kefu.core import clock

    first = new_callback()
    clock.advance(timedelta(days=2))
    second = new_callback_for("R2")
    clock.advance(timedelta(days=1, hours=1))  # the first is past its three days, the second is not
    code, rows = kefu("callback", "due")
    assert code == 0 and [r["case_id"] for r in rows] == [first, second]
    assert [r["overdue"] for r in rows] == [True, False]
    text = runner.invoke(app, ["callback", "due"]).stdout
    assert "OVERDUE" in text.splitlines()[0] and "OVERDUE" not in text.splitlines()[1]


@pytest.mark.parametrize("answer", [
    {"outcome": "average"},                                                   # what to improve?
    {"outcome": "not_convenient", "booked_at": "2026-11-24T22:30:00+08:00"},  # the customer's rest time
    {"outcome": "satisfied", "by": "nobody"},
])
def test_the_cli_and_the_dashboard_refuse_a_call_record_alike(answer):
    """`kefu callback record` goes through kefu.executor.service.decide like every human step, so
    the CLI's refusal is the one the dashboard's form gets (tasks/waiting.py: the same parse and
    record through kefu.processes, then input.refused with field, problem and fix)."""
    from kefu import processes
    from kefu.core.refusals import InputRefused

    case_id = new_callback()
    data = {"by": "li.na", **answer}
    args = [f"--{'at' if k == 'booked_at' else k}={v}" for k, v in data.items()]
    code, cli = kefu("callback", "record", case_id, *args)
    store, rules = runtime.store(), runtime.rules()
    state = store.state(case_id)
    with pytest.raises(InputRefused) as form:
        processes.record_input(store, rules, state, "call", processes.parse_input(state, "call", data))
    field = "at" if form.value.field == "booked_at" else form.value.field  # --at is the form's booked_at
    assert code == 2 and (cli["error"]["field"], cli["error"]["problem"], cli["error"]["fix"]) == (
        field, form.value.problem, form.value.fix)


def test_select_with_an_empty_day_is_refused_not_taken_as_today():
    code, data = kefu("callback", "select", "--on", "")
    assert code == 2 and data["error"]["field"] == "on"
