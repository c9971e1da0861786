"""customer.yaml is validated at load with a clear error naming the key and the fix: the
classification standard (《客户分类管理标准》) must grade everybody, skills must be held, staff and
roles must exist."""

from __future__ import annotations

import configs

from kefu.core.config import ConfigError
from kefu.processes import load_rules


def broken(config_copy, old: str, new: str) -> ConfigError:
    return configs.broken(config_copy, "customer.yaml", old, new)


def test_the_last_grade_takes_everybody_else(config_copy):
    error = broken(config_copy, "- {id: D, label: 一般客户 general customer}",
                   "- {id: D, label: 一般客户 general customer, when: {member: false}}")
    assert "grades.3.when" in str(error) and "remove its criteria" in str(error)


def test_a_grade_criterion_names_a_known_flag(config_copy):
    error = broken(config_copy, "when: {member: true}", "when: {vip: true}")
    assert "unknown flag 'vip'" in str(error)


def test_a_grade_skill_must_be_held_by_an_agent(config_copy):
    error = broken(config_copy, "skill: key_accounts}", "skill: big_accounts}")
    assert "no agent has skill 'big_accounts'" in str(error)


def test_skills_name_staff_on_the_roster(config_copy):
    error = broken(config_copy, "  li.na: [key_accounts]", "  li.nna: [key_accounts]")
    assert "skills.li.nna" in str(error) and "department.yaml staff" in str(error)


def test_assigners_are_roles_of_the_department(config_copy):
    error = broken(config_copy, "assigned_by: [supervisor, manager, director]", "assigned_by: [boss]")
    assert "unknown role 'boss'" in str(error)


def test_a_new_intake_rule_checks_customer_rows_without_code(config_copy, tmp_path, store, frozen_clock):
    """A rule added to customer.yaml intake (an address required) quarantines the rows without one."""
    from kefu import intake, processes
    from kefu.intake.mapping import load_mapping

    path = config_copy / "customer.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("address: {max_length: 500}",
                                                             "address: {required: true, max_length: 500}"),
                    encoding="utf-8")
    rules = load_rules(config_copy)
    rows = tmp_path / "rows.csv"
    rows.write_text("id,name,phone,address\nA,甲,13500001111,北京\nB,乙,13500002222,\n", encoding="utf-8")
    mapping = tmp_path / "m.yaml"
    mapping.write_text("source: t\ncolumns: {external_id: id, name: name, phone: phone, address: address}\n",
                       encoding="utf-8")
    result = intake.take_in(store, rules, processes.intake_target("customers"), rows, load_mapping(mapping),
                            mode="open", actor="li.na", dry_run=True, opener=lambda *a: None)
    assert (result.imported, result.quarantined) == (1, 1) and result.reasons == {"address: missing": 1}
