"""Config validation: the shipped config loads; a broken config fails at load with a
ConfigError naming the file, the key and a fix (kefu/core/rules.py: "A bad file fails at load
with the file, the key and the fix").

Deadline config (config/sla.yaml, config/escalation.yaml, config/calendar.yaml), issue
"Deadlines that cannot be missed quietly": a deadline nobody configured is a deadline nobody
watches, so every step of every process (each process's deadline_steps in kefu.processes) must be matched by an SLA
policy for every severity, and a broken policy, ladder or calendar fails at load. PROCESSES.md
P1: step deadlines are "(our choice) per-severity SLA in config".

Each breaking test copies the shipped config/ to tmp_path and breaks one thing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from kefu.core.config import ConfigError
from kefu.core.rules import version_of
from kefu.processes import PROCESSES, load_rules


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


# Step deadlines (sla.yaml), the ladder and the calendar: the sections below.


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


def test_a_misspelt_key_is_named_with_the_key_it_should_be(config_copy):
    """A typo is an unknown key and a missing one at once: the error names the key found
    ("policiez") and the nearest valid one, not only "policies: missing"."""
    edit(config_copy, "sla.yaml", "\npolicies:", "\npoliciez:")
    error = refused(config_copy)
    assert error.file.endswith("sla.yaml") and error.key == "policiez"
    assert error.problem == "unknown key 'policiez'" and "'policies'" in error.fix


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



GENERAL_APPROVAL = "  - {process: complaint, step: approval, allow: 4 working hours}\n"
MAJOR_APPROVAL = "  - {process: complaint, step: approval, severity: [major, crisis], allow: 2 hours}\n"


# -- sla.yaml: every step is covered -----------------------------------------------------------

def test_every_deadline_step_of_every_process_is_matched_for_every_severity(rules):
    """sla.yaml header: "a step of a process with no matching policy is a config error at load"."""
    for process, steps in ((p.name, p.deadline_steps) for p in PROCESSES):
        severities = rules.complaint.severities if process == "complaint" else [None]
        for step in steps:
            for severity in severities:
                allowance, policy = rules.sla_for(process, step, severity)
                assert allowance.amount > timedelta(0)
                assert policy.startswith("sla.yaml policies.") and f" {process} {step} " in policy


def test_an_unmatched_step_is_refused_naming_sla_yaml_and_the_step(config_copy):
    edit(config_copy, "sla.yaml", GENERAL_APPROVAL, "")
    error = refused(config_copy)
    assert error.file.endswith("sla.yaml")
    assert error.key == "policies"
    assert error.problem == "no policy matches complaint approval general"
    assert "complaint" in error.fix and "approval" in error.fix


def test_a_step_unmatched_for_one_severity_is_refused_naming_the_severity(config_copy):
    """The general policy no longer catches every severity: major approval has no policy."""
    edit(config_copy, "sla.yaml", MAJOR_APPROVAL,
         "  - {process: complaint, step: approval, severity: [crisis], allow: 2 hours}\n")
    edit(config_copy, "sla.yaml", "{process: complaint, step: approval, allow: 4 working hours}",
         "{process: complaint, step: approval, severity: [general], allow: 4 working hours}")
    error = refused(config_copy)
    assert error.file.endswith("sla.yaml")
    assert error.problem == "no policy matches complaint approval major"


def test_an_unmatched_step_of_the_contact_process_is_refused(config_copy):
    edit(config_copy, "sla.yaml", "  - {process: contact, step: answer, allow: 4 working hours}\n", "")
    error = refused(config_copy)
    assert error.file.endswith("sla.yaml")
    assert error.problem == "no policy matches contact answer"
    assert "contact" in error.fix and "answer" in error.fix


# -- sla.yaml: allowances ----------------------------------------------------------------------

def test_an_allowance_that_is_not_an_allowance_is_refused_naming_the_policy(config_copy):
    edit(config_copy, "sla.yaml", "step: judgement, allow: 24 working hours", "step: judgement, allow: 24x")
    error = refused(config_copy)
    assert error.file.endswith("sla.yaml")
    assert error.key == "policies.10.allow"
    assert "24x" in error.problem
    assert "24 working hours" in error.fix and "2 hours" in error.fix


def test_working_days_are_refused_as_ambiguous_with_working_hours_as_the_fix(config_copy):
    """A working day is 7.5 h on cn-office but not on another calendar: write working hours."""
    edit(config_copy, "sla.yaml", "step: judgement, allow: 24 working hours", "step: judgement, allow: 3 working days")
    error = refused(config_copy)
    assert error.file.endswith("sla.yaml")
    assert error.key == "policies.10.allow"
    assert "3 working days" in error.problem and "ambiguous" in error.problem
    assert "working hours" in error.fix


@pytest.mark.parametrize("text, amount, basis", [
    ("24 working hours", timedelta(hours=24), "working"),
    ("90 working minutes", timedelta(minutes=90), "working"),
    ("2 hours", timedelta(hours=2), "calendar"),
    ("5 days", timedelta(days=5), "calendar"),
])
def test_allowances_read_as_working_or_calendar_time(config_copy, text, amount, basis):
    edit(config_copy, "sla.yaml", "step: judgement, allow: 24 working hours", f"step: judgement, allow: {text}")
    allowance, policy = load_rules(config_copy).sla_for("complaint", "judgement", "general")
    assert (allowance.amount, allowance.basis, allowance.text) == (amount, basis, text)
    assert policy == f"sla.yaml policies.10: complaint judgement any {text}"


# -- sla.yaml: what a policy may name ----------------------------------------------------------

def test_a_policy_for_an_unknown_process_is_refused(config_copy):
    edit(config_copy, "sla.yaml", "{process: complaint, step: review, allow", "{process: complain, step: review, allow")
    error = refused(config_copy)
    assert error.file.endswith("sla.yaml")
    assert error.key == "policies.15.process"
    assert "complain" in error.problem
    assert "complaint" in error.fix and "contact" in error.fix


def test_a_policy_for_an_unknown_step_is_refused(config_copy):
    edit(config_copy, "sla.yaml", "{process: complaint, step: review, allow", "{process: complaint, step: reveiw, allow")
    error = refused(config_copy)
    assert error.file.endswith("sla.yaml")
    assert error.key == "policies.15.step"
    assert "reveiw" in error.problem
    assert "review" in error.fix and "resolution" in error.fix


def test_a_policy_for_an_unknown_severity_is_refused(config_copy):
    edit(config_copy, "sla.yaml", "severity: [major], allow: 2 hours", "severity: [serious], allow: 2 hours")
    error = refused(config_copy)
    assert error.file.endswith("sla.yaml")
    assert error.key == "policies.1.severity"
    assert "serious" in error.problem
    assert "general" in error.fix and "crisis" in error.fix


def test_sla_calendar_naming_an_unknown_calendar_is_refused(config_copy):
    edit(config_copy, "sla.yaml", "calendar: cn-office", "calendar: hk-office")
    error = refused(config_copy)
    assert error.file.endswith("sla.yaml")
    assert error.key == "calendar"
    assert "hk-office" in error.problem
    assert "cn-office" in error.fix and "calendar.yaml" in error.fix


# -- sla.yaml: first match wins ----------------------------------------------------------------

def test_the_first_matching_policy_wins_a_specific_one_above_a_general_one(config_copy):
    """sla.yaml: "The FIRST policy matching a deadline's process, step and severity wins"."""
    edit(config_copy, "sla.yaml", "policies:\n",
         "policies:\n  - {process: complaint, step: review, severity: [major], allow: 3 working hours}\n")
    rules = load_rules(config_copy)
    allowance, policy = rules.sla_for("complaint", "review", "major")
    assert (allowance.amount, allowance.basis) == (timedelta(hours=3), "working")
    assert policy == "sla.yaml policies.0: complaint review major 3 working hours"
    # The others still take the policy they took before (each one index further down).
    assert rules.sla_for("complaint", "review", "crisis")[1] == "sla.yaml policies.8: complaint review major/crisis 24 hours"
    assert rules.sla_for("complaint", "review", "general")[1] == "sla.yaml policies.16: complaint review any 8 working hours"


def test_a_general_policy_above_a_specific_one_wins_for_every_severity(config_copy):
    """First match, not most specific: a catch-all placed first shadows the severity policies."""
    edit(config_copy, "sla.yaml", "policies:\n",
         "policies:\n  - {process: complaint, step: judgement, allow: 8 working hours}\n")
    rules = load_rules(config_copy)
    for severity in ("general", "major", "crisis"):
        allowance, policy = rules.sla_for("complaint", "judgement", severity)
        assert (allowance.amount, allowance.basis) == (timedelta(hours=8), "working")
        assert policy == "sla.yaml policies.0: complaint judgement any 8 working hours"


def test_the_shipped_specific_major_policy_wins_over_the_general_one(rules):
    """Shipped order: major judgement (2 hours, policies.1) above general (24 working hours, .10)."""
    assert rules.sla_for("complaint", "judgement", "major")[1] == "sla.yaml policies.1: complaint judgement major 2 hours"
    assert rules.sla_for("complaint", "judgement", "general")[1] == (
        "sla.yaml policies.10: complaint judgement any 24 working hours")


# -- escalation.yaml ---------------------------------------------------------------------------

def test_the_shipped_ladders(rules):
    """escalation.yaml (issue example; PROCESSES.md P1 "agent → supervisor → manager → director"):
    standard at 50/100/150/200 %; major and crisis use `serious`, which starts at the supervisor."""
    name, rungs = rules.escalation.ladder_for("complaint", "general")
    assert name == "standard"
    assert [(r.at, r.notify, r.kind) for r in rungs] == [
        (0.5, "owner", "reminder"), (1.0, "supervisor", "breach"), (1.5, "manager", "breach"), (2.0, "director", "breach")]
    for severity in ("major", "crisis"):
        name, rungs = rules.escalation.ladder_for("complaint", severity)
        assert name == "serious"
        assert [(r.at, r.notify) for r in rungs] == [(0.5, "supervisor"), (1.0, "manager"), (1.5, "director")]
    assert rules.escalation.ladder_for("contact", None)[0] == "standard"


def test_ladder_rungs_out_of_order_are_refused(config_copy):
    edit(config_copy, "escalation.yaml", "    - {at: 150%, notify: manager, kind: breach}\n",
         "    - {at: 150%, notify: manager, kind: breach}\n    - {at: 120%, notify: manager, kind: breach}\n")
    error = refused(config_copy)
    assert error.file.endswith("escalation.yaml")
    assert error.key == "ladders.standard"
    assert "climb" in error.problem
    assert "order them by 'at'" in error.fix


def test_a_rung_share_that_is_not_a_percentage_is_refused(config_copy):
    edit(config_copy, "escalation.yaml", "{at: 200%, notify: director", "{at: 200, notify: director")
    error = refused(config_copy)
    assert error.file.endswith("escalation.yaml")
    assert error.key == "ladders.standard.3.at"
    assert "50%" in error.fix


def test_an_unknown_ladder_in_use_is_refused(config_copy):
    edit(config_copy, "escalation.yaml", "ladder: serious}", "ladder: urgent}")
    error = refused(config_copy)
    assert error.file.endswith("escalation.yaml")
    assert error.key == "use.0.ladder"
    assert "urgent" in error.problem
    assert "standard" in error.fix and "serious" in error.fix


def test_a_rung_notifying_an_unknown_role_is_refused(config_copy):
    edit(config_copy, "escalation.yaml", "{at: 200%, notify: director", "{at: 200%, notify: ceo")
    error = refused(config_copy)
    assert error.file.endswith("escalation.yaml")
    assert error.key == "ladders.standard.3.notify"
    assert "ceo" in error.problem
    assert "owner" in error.fix and "director" in error.fix and "department.yaml" in error.fix


# -- calendar.yaml -----------------------------------------------------------------------------

def test_a_default_calendar_that_is_not_defined_is_refused(config_copy):
    edit(config_copy, "calendar.yaml", "default: cn-office", "default: hk-office")
    error = refused(config_copy)
    assert error.file.endswith("calendar.yaml")
    assert error.key == "default"
    assert "hk-office" in error.problem
    assert "cn-office" in error.fix


def test_overlapping_working_hours_are_refused(config_copy):
    edit(config_copy, "calendar.yaml", 'mon: ["09:00-12:00", "13:30-18:00"]', 'mon: ["09:00-12:00", "11:30-18:00"]')
    error = refused(config_copy)
    assert error.file.endswith("calendar.yaml")
    assert error.key == "calendars.cn-office.working_hours"
    assert "overlaps" in error.problem and "11:30-18:00" in error.problem
    assert "non-overlapping" in error.fix


def test_every_step_kefu_shows_needs_its_chinese_label(config_copy):
    """Issue 17/12: the Chinese part of forms and e-mails says 投诉判定, never `judgement`; a step
    without its label in department.yaml labels is a config error at load, naming key and fix."""
    path = config_copy / "department.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("    judgement: 投诉判定\n", ""), encoding="utf-8")
    error = refused(config_copy)
    assert error.file.endswith("department.yaml") and error.key == "labels.steps"
    assert "judgement" in error.problem and "labels.steps" in error.fix


def test_the_chinese_label_of_a_name_comes_from_config(rules):
    assert (rules.label("steps", "judgement"), rules.label("severities", "tight"), rules.label("roles", "owner")) \
        == ("投诉判定", "加急", "负责人")
    assert rules.label("kinds", None) == "-"


def test_an_older_folder_gains_the_daily_registers_and_the_store_manager_as_shipped(config_copy):
    """A snapshot written before the daily registers and the satisfaction analysis (4 Dec 2026) loads again:
    kefu.core.rules.upgrade_older_folder adds them as shipped, the rules it held unchanged."""
    import yaml

    from kefu.core.rules import upgrade_older_folder

    report = yaml.safe_load((config_copy / "report.yaml").read_text(encoding="utf-8"))
    del report["daily_digest"], report["order_ledger"], report["satisfaction"]
    (config_copy / "report.yaml").write_text(yaml.safe_dump(report, allow_unicode=True), encoding="utf-8")
    for register in ("daily_digest", "order_ledger", "satisfaction"):
        for template in (config_copy / "templates" / "report").glob(f"{register}.*"):
            template.unlink()
    edit(config_copy, "department.yaml", ", store_manager]", "]")
    edit(config_copy, "department.yaml",
         "  - {id: wu.gang, name: 吴刚, role: store_manager, email: wu.gang@kefu.example, department: sales}\n", "")
    edit(config_copy, "department.yaml", " store_manager: 店长,", "")
    assert "daily_digest" in str(refused(config_copy))
    upgrade_older_folder(config_copy)
    rules = load_rules(config_copy)
    assert rules.report.daily_digest.recipients == ["store_manager", "manager"]
    assert rules.report.order_ledger.at == "17:45" and rules.label("roles", "store_manager") == "店长"
    assert rules.report.satisfaction.recipients == ["gm", "manager"]


def test_an_older_folder_gains_the_work_logs_with_their_policy_and_labels_as_shipped(config_copy):
    """A snapshot written before the agents' work logs (5 Dec 2026) loads again: its report.yaml
    gains work_log and the statistics' inquiries, its sla.yaml the write-up's policy, its labels the
    new step and kind."""
    import yaml

    from kefu.core.rules import upgrade_older_folder

    report = yaml.safe_load((config_copy / "report.yaml").read_text(encoding="utf-8"))
    del report["work_log"], report["complaint_statistics"]["inquiries"]
    (config_copy / "report.yaml").write_text(yaml.safe_dump(report, allow_unicode=True), encoding="utf-8")
    for template in (config_copy / "templates" / "report").glob("work_log*"):
        template.unlink()
    edit(config_copy, "sla.yaml", "  - {process: report, step: write-up, allow: 8 working hours}\n", "")
    edit(config_copy, "department.yaml", "    write-up: 填写工作日志\n", "")
    edit(config_copy, "department.yaml", ", work_log: 工作日志}", "}")
    assert "report.yaml" in str(refused(config_copy))
    upgrade_older_folder(config_copy)
    rules = load_rules(config_copy)
    assert rules.report.work_log.roles == ["agent"] and rules.report.work_log.recipients == ["supervisor"]
    assert rules.label("steps", "write-up") == "填写工作日志" and rules.label("kinds", "work_log") == "工作日志"
    assert any(p.process == "report" and p.step == "write-up" for p in rules.sla.policies)
    assert rules.report.complaint_statistics.inquiries == ["consultation"]
