"""Config validation: the shipped config loads; a broken config fails at load with a
ConfigError naming the file, the key and a fix (kefu/rules.py: "A bad file fails at load
with the file, the key and the fix")."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from kefu.rules import ConfigError, load_rules, version_of

CONFIG = Path(__file__).resolve().parents[2] / "config"


@pytest.fixture
def config_copy(tmp_path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(CONFIG, target)
    return target


def edit(folder: Path, name: str, old: str, new: str) -> None:
    path = folder / name
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {name}: the test no longer breaks anything"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def refused(folder: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_rules(folder)
    return info.value


def test_the_shipped_config_loads(rules):
    assert rules.department.department.timezone == "Asia/Shanghai"
    assert rules.complaint.severities == ["general", "major", "crisis"]
    assert rules.staff_member("sun.li").role == "manager"
    assert len(rules.version) == 16


def test_the_shipped_per_severity_sla_is_as_the_spec_example(rules):
    """PROCESSES.md P1 (our choice) per-severity SLA: general judged within 24 h and resolved
    within 5 days; major judged within 2 h and resolved within 48 h. config/sla.yaml: general
    complaints count working hours (the cn-office calendar), major and crisis run on the clock."""
    allowance, policy = rules.sla_for("complaint", "judgement", "general")
    assert (allowance.amount, allowance.basis) == (timedelta(hours=24), "working")
    assert policy == "sla.yaml policies.10: complaint judgement any 24 working hours"
    allowance, policy = rules.sla_for("complaint", "resolution", "general")
    assert (allowance.amount, allowance.basis) == (timedelta(days=5), "calendar")
    assert policy == "sla.yaml policies.16: complaint resolution any 5 days"
    allowance, policy = rules.sla_for("complaint", "judgement", "major")
    assert (allowance.amount, allowance.basis) == (timedelta(hours=2), "calendar")
    assert policy == "sla.yaml policies.1: complaint judgement major 2 hours"
    allowance, policy = rules.sla_for("complaint", "resolution", "major")
    assert (allowance.amount, allowance.basis) == (timedelta(hours=48), "calendar")
    assert policy == "sla.yaml policies.9: complaint resolution major 48 hours"
    assert rules.sla.calendar == "cn-office"


def test_an_unknown_role_in_permissions_is_refused_naming_the_step(config_copy):
    edit(config_copy, "complaint.yaml", "major: [manager, director]", "major: [boss, director]")
    error = refused(config_copy)
    assert error.file.endswith("complaint.yaml")
    assert error.key == "permissions.approval.major"
    assert "boss" in error.problem
    assert "agent" in error.fix and "director" in error.fix


def test_staff_in_an_unknown_department_is_refused(config_copy):
    edit(config_copy, "department.yaml", "role: manager, email: sun.li@kefu.example, department: service",
         "role: manager, email: sun.li@kefu.example, department: marketing")
    error = refused(config_copy)
    assert error.file.endswith("department.yaml")
    assert error.key == "staff.6.department"
    assert "marketing" in error.problem
    assert error.fix


# Step deadlines (sla.yaml), the ladder and the calendar: tests/kefu/test_sla_rules.py.


def test_an_unknown_time_zone_is_refused(config_copy):
    edit(config_copy, "department.yaml", "timezone: Asia/Shanghai", "timezone: Asia/Beijing")
    error = refused(config_copy)
    assert error.file.endswith("department.yaml")
    assert error.key == "department.timezone"
    assert "Asia/Beijing" in error.problem
    assert "IANA" in error.fix


def test_a_duplicate_staff_id_is_refused(config_copy):
    edit(config_copy, "department.yaml", "{id: wang.fang, name: 王芳", "{id: li.na, name: 王芳")
    error = refused(config_copy)
    assert error.file.endswith("department.yaml")
    assert error.key == "staff.1.id"
    assert "li.na" in error.problem and "twice" in error.problem
    assert "unique" in error.fix


def test_a_missing_template_file_is_refused(config_copy):
    (config_copy / "templates" / "complaint" / "plan_notice.txt.j2").unlink()
    error = refused(config_copy)
    assert error.file.endswith("complaint.yaml")
    assert error.key == "templates.plan_notice"
    assert "plan_notice.txt.j2" in error.problem
    assert "create templates/complaint/plan_notice.txt.j2" in error.fix


def test_invalid_yaml_is_refused_naming_the_line(config_copy):
    edit(config_copy, "complaint.yaml", "severities: [general, major, crisis]", "severities: [general, major, crisis")
    error = refused(config_copy)
    assert error.file.endswith("complaint.yaml")
    assert error.key.startswith("line ")
    assert "YAML" in error.problem
    assert "syntax" in error.fix


def test_an_unknown_key_is_refused(config_copy):
    edit(config_copy, "complaint.yaml", "default_kind: complaint", "default_kind: complaint\ndefault_kinds: complaint")
    error = refused(config_copy)
    assert error.file.endswith("complaint.yaml")
    assert error.key == "default_kinds"
    assert "spelling" in error.fix


def test_a_missing_file_is_refused(config_copy):
    (config_copy / "department.yaml").unlink()
    error = refused(config_copy)
    assert error.file.endswith("department.yaml")
    assert error.problem == "missing"


def test_the_error_message_names_file_key_and_fix(config_copy):
    edit(config_copy, "department.yaml", "timezone: Asia/Shanghai", "timezone: Mars/Olympus")
    message = str(refused(config_copy))
    assert "department.yaml" in message and "department.timezone" in message and "fix:" in message


@pytest.mark.parametrize("changed", ["complaint.yaml", "department.yaml", "templates/complaint/plan_notice.txt.j2"])
def test_the_config_version_changes_when_any_file_changes(config_copy, changed):
    before = load_rules(config_copy).version
    assert version_of(config_copy) == before  # stable while nothing changes
    path = config_copy / changed
    path.write_text(path.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    assert load_rules(config_copy).version != before
