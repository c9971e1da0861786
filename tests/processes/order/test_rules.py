"""config/order.yaml is validated at load: a mistake names the file, the key and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from kefu.core.config import ConfigError
from kefu.processes import load_rules


def refused(folder: Path, old: str, new: str, name: str = "order.yaml") -> ConfigError:
    path = folder / name
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_rules(folder)
    return caught.value


@pytest.mark.parametrize("old, new, key", [
    ("  stock-check: {role: business_assistant}", "  stock-check: {department: warehouse}", "chain.stock-check.department"),
    ("  director-approval: {role: marketing_director}", "  director-approval: {role: boss}", "chain.director-approval.role"),
    ("  invoice: {role: finance}", "", "chain.invoice"),
    ("supervisor_role: supervisor", "supervisor_role: lead", "supervisor_role"),
    ("default_urgency: normal", "default_urgency: urgent", "default_urgency"),
    ('agreed_due_local_time: "18:00"', 'agreed_due_local_time: "6pm"', "agreed_due_local_time"),
    ("agreed_date_ladder_span: 24 hours", "agreed_date_ladder_span: a day", "agreed_date_ladder_span"),
    ("  to_building: [送货到楼下]", "  to_building: [送货到楼下, 自提]", "delivery_modes.to_building"),
    ("  tracking_notice: order/tracking_notice.txt.j2", "  tracking_notice: order/missing.txt.j2",
     "templates.tracking_notice"),
])
def test_a_mistake_in_order_yaml_names_the_key(config_copy, old, new, key):
    error = refused(config_copy, old, new)
    assert error.file.endswith("order.yaml") and error.key == key, error
    assert error.fix


def test_every_order_step_with_an_allowance_needs_an_sla_policy(config_copy):
    """sla.yaml: seed 000 第四篇 — the remark within 20 minutes of payment."""
    error = refused(config_copy, "  - {process: order, step: remark, allow: 20 minutes}\n", "", name="sla.yaml")
    assert error.key == "policies" and "order remark" in error.problem
