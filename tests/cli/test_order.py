"""`kefu order …` in-process: --json everywhere, exit 0 on success and 2 on bad input with the
field and the fix (kefu/cli/support.py). Prefect is out of reach on purpose: the order is
recorded anyway, and the command says its run is not started."""

from __future__ import annotations

import json

import pytest
from offline_cli import invoke

from kefu.executor import orchestration


@pytest.fixture(autouse=True)
def prefect_down(monkeypatch, kefu_env):
    def unreachable():
        raise ConnectionError("Prefect is down in this test")

    monkeypatch.setattr(orchestration, "_client", unreachable)


def kefu(*args: str):
    return invoke(list(args))


def new_order(*extra: str) -> str:
    result = kefu("order", "new", "--buyer", "刘贺", "--phone", "13812345678", "--agent", "li.na", "--item", "墙纸",
                  "--ship-by", "2026-11-26", "--deliver-by", "2026-11-28", "--delivery", "包送货安装", *extra, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["flow_run"].startswith("not started") and data["delivery_mode"] == "delivery_installation"
    return data["order_id"]


def test_an_order_is_recorded_even_when_prefect_is_down():
    order_id = new_order()
    shown = json.loads(kefu("order", "show", order_id, "--json").stdout)
    assert (shown["order_id"], shown["step"], shown["agent"]) == (order_id, "stock-check", "li.na")


@pytest.mark.parametrize("args, field", [
    (("--delivery", "送货"), "delivery_mode"),
    (("--ship-by", "2026-11-31"), "--ship-by"),
    (("--agent", "chen.jing"), "agent"),
    (("--urgency", "asap"), "urgency"),
])
def test_bad_order_values_exit_2_with_the_field(args, field):
    base = {"--buyer": "刘贺", "--phone": "13812345678", "--agent": "li.na", "--item": "墙纸",
            "--ship-by": "2026-11-26", "--deliver-by": "2026-11-28", "--delivery": "自提"}
    base[args[0]] = args[1]
    result = kefu("order", "new", *[part for pair in base.items() for part in pair], "--json")
    assert result.exit_code == 2 and json.loads(result.stdout)["error"]["field"] == field


def test_the_seeds_remark_exits_2_and_show_lists_every_version():
    """Seed 000 第四篇 备注: the example without a height is refused; amendments keep the original."""
    order_id = new_order()
    assert kefu("order", "paid", order_id, "--by", "li.na").exit_code == 0
    bad = kefu("order", "remark", order_id, "--text", "刘贺,3米*米,图案正常,11月26发货,自提。送胶。", "--by", "li.na")
    assert bad.exit_code == 2 and "remark.size.height" in bad.stderr and "3米*2.5米" in bad.stderr
    for mode in ("自提", "送货到楼下"):
        ok = kefu("order", "remark", order_id, "--text", f"刘贺,3米*2.5米,图案正常,11月26日发货,{mode}。送胶。",
                  "--by", "li.na")
        assert ok.exit_code == 0, ok.output
    shown = kefu("order", "show", order_id)
    assert "remark v1" in shown.stdout and "remark v2" in shown.stdout and "changed: delivery_mode" in shown.stdout


def test_unknown_steps_and_channels_exit_2():
    order_id = new_order()
    step = kefu("order", "step", "shipment", order_id, "--by", "li.na", "--json")
    assert step.exit_code == 2 and json.loads(step.stdout)["error"]["field"] == "step"
    chase = kefu("order", "chase", order_id, "--via", "qq", "--by", "li.na", "--json")
    assert chase.exit_code == 2 and json.loads(chase.stdout)["error"]["field"] == "via"
    other = kefu("order", "show", "O-20991231-0001", "--json")
    assert other.exit_code == 2 and json.loads(other.stdout)["error"]["field"] == "case_id"


def test_show_says_met_only_when_met_and_how_late_a_late_stage_was(frozen_clock):
    """An order paid two hours after its 24-hour window (seed 000 第四篇) is not "met": show says
    when it was done and how late."""
    from datetime import timedelta

    order_id = new_order()
    frozen_clock.advance(timedelta(hours=26))
    assert kefu("order", "step", "stock-check", order_id, "--by", "ma.lin").exit_code == 0
    assert kefu("order", "paid", order_id, "--by", "li.na").exit_code == 0
    lines = {line.split()[0]: line for line in kefu("order", "show", order_id).stdout.splitlines()
             if line.startswith("    ")}
    assert "late by 2 h" in lines["payment"] and " met " not in lines["payment"]
    assert "late by" in lines["stock-check"]  # 4 working hours (sla.yaml), done a day later
