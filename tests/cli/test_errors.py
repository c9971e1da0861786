"""The CLI's answers to bad input, run in-process (typer's CliRunner on ``kefu.cli.app``).

kefu/cli/: "exit 0 on success, 2 on bad input (the message names the field and the fix),
1 on an internal error". A refused input records nothing, and none of these paths needs a
Prefect server: every test fails if the CLI so much as opens a Prefect client.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from audit_cases import complaint_form
from offline_cli import invoke

from kefu import runtime
from kefu.executor import orchestration
from kefu.processes.complaint import decisions as complaints
from models.complaint import ContactRegistration

CONFIG = Path(__file__).resolve().parents[2] / "config"


@pytest.fixture(autouse=True)
def no_prefect(monkeypatch, kefu_env):
    """Any attempt to reach Prefect is recorded (and fails the test at teardown)."""
    touched: list[str] = []

    def refuse_client():
        touched.append("prefect client")
        raise RuntimeError("these paths must not reach Prefect")

    monkeypatch.setattr(orchestration, "_client", refuse_client)
    yield touched
    assert touched == [], "an error path tried to reach Prefect"


def kefu(*args: str):
    return invoke(list(args))


def new_case(content: str = "快递送错了") -> str:
    reg = ContactRegistration(name="张三", phone="13812345678", channel="phone", content=content)
    return complaints.register_contact(runtime.store(), runtime.rules(), reg).case_id


def decide(case_id: str, step: str, **data) -> None:
    complaints.submit(runtime.store(), runtime.rules(), case_id, step, complaint_form(step, data))


def case_at_approval() -> str:
    case_id = new_case()
    decide(case_id, "judgement", upheld=True, department="logistics", reason="送错", by="li.na")
    decide(case_id, "investigation", cause="分拣错误", responsible="王五", by="li.na")
    decide(case_id, "proposal", options=["退款", "换货"], by="li.na")
    return case_id


def event_count(case_id: str) -> int:
    return len(runtime.store().events(case_id))


def assert_refused(result, field: str, *in_fix: str) -> str:
    """Exit 2, and the message names the field and says what to do."""
    assert result.exit_code == 2, result.output
    message = result.stderr
    assert message.startswith(f"error: {field}: "), message
    fix = message.split("\n  fix: ", 1)[1].strip()
    assert fix, message
    for words in in_fix:
        assert words in fix, message
    return message


OPEN = ["complaint", "open", "--name", "张三", "--phone", "13812345678"]


def test_an_unknown_channel_is_refused_with_the_channels_to_use():
    result = kefu(*OPEN, "--channel", "pigeon", "--content", "送错了")
    message = assert_refused(result, "channel", "use one of phone")
    assert "'pigeon'" in message
    assert runtime.store().cases() == []


@pytest.mark.parametrize("option, value, field, fix", [
    ("--email", "zhang.at.example.cn", "email", "name@host.domain"),
    ("--timezone", "Asia/Beijing", "timezone", "IANA time zone"),
])
def test_a_customer_address_or_zone_that_cannot_reach_them_is_refused_with_the_fix(option, value, field, fix):
    """Issue 12: the intake's e-mail and zone decide how and when the customer hears from us; a
    wrong one is refused at intake (nothing recorded), not found out when a message bounces."""
    result = kefu(*OPEN, "--channel", "email", "--content", "送错了", option, value)
    assert_refused(result, field, fix)
    assert runtime.store().cases() == []


def test_empty_content_is_refused():
    result = kefu(*OPEN, "--channel", "phone", "--content", "   ")
    message = assert_refused(result, "content", "what the customer said")
    assert "must not be empty" in message
    assert runtime.store().cases() == []


def test_an_unknown_case_id_is_refused_pointing_at_the_case_list():
    result = kefu("complaint", "judge", "C-20261123-9999", "--not-upheld", "--reason", "r", "--by", "li.na")
    message = assert_refused(result, "case_id", "kefu case list")
    assert "C-20261123-9999" in message
    assert_refused(kefu("case", "show", "C-20261123-9999"), "case_id", "kefu case list")


def test_approval_by_an_agent_is_refused_and_records_nothing():
    """Seed 002 §4 (7): the plan is approved by the supervising leader (complaint.yaml
    permissions.approval.general: supervisor, manager, director)."""
    case_id = case_at_approval()
    before = event_count(case_id)
    result = kefu("complaint", "approve", case_id, "--choice", "1", "--by", "li.na")
    message = assert_refused(result, "by", "chen.jing")
    assert "permissions.approval.general" in message
    assert event_count(case_id) == before
    assert runtime.store().state(case_id).step == "approval"


def test_judging_an_already_judged_case_is_refused_naming_the_next_action():
    case_id = new_case()
    decide(case_id, "judgement", upheld=True, department="logistics", reason="送错", by="li.na")
    before = event_count(case_id)
    result = kefu("complaint", "judge", case_id, "--upheld", "--department", "logistics", "--reason", "r",
                  "--by", "li.na")
    message = assert_refused(result, "step", "kefu complaint investigate", f"kefu case show {case_id}")
    assert "waits at 'investigation'" in message
    assert event_count(case_id) == before


def test_investigating_before_the_judgement_is_refused():
    case_id = new_case()
    before = event_count(case_id)
    result = kefu("complaint", "investigate", case_id, "--cause", "c", "--responsible", "p", "--by", "li.na")
    assert_refused(result, "step", "kefu complaint judge")
    assert event_count(case_id) == before


def test_a_judgement_without_upheld_or_not_upheld_is_refused():
    case_id = new_case()
    before = event_count(case_id)
    result = kefu("complaint", "judge", case_id, "--reason", "r", "--by", "li.na")
    assert_refused(result, "upheld", "--not-upheld")
    assert event_count(case_id) == before


def test_json_errors_are_an_error_object_with_field_problem_and_fix():
    case_id = case_at_approval()
    before = event_count(case_id)
    result = kefu("complaint", "approve", case_id, "--choice", "1", "--by", "li.na", "--json")
    assert result.exit_code == 2
    error = json.loads(result.stdout)
    assert list(error) == ["error"]
    assert set(error["error"]) == {"field", "problem", "fix"}
    assert error["error"]["field"] == "by" and "chen.jing" in error["error"]["fix"]
    assert event_count(case_id) == before
    unknown = json.loads(kefu(*OPEN, "--channel", "pigeon", "--content", "x", "--json").stdout)
    assert unknown["error"]["field"] == "channel"


def test_config_check_on_a_broken_folder_names_the_file_and_the_key(tmp_path):
    folder = tmp_path / "config"
    shutil.copytree(CONFIG, folder)
    path = folder / "department.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("timezone: Asia/Shanghai", "timezone: Asia/Beijing"),
                    encoding="utf-8")
    result = kefu("config", "check", str(folder))
    assert result.exit_code == 2, result.output
    assert "department.yaml: department.timezone:" in result.stderr
    assert "IANA" in result.stderr
    as_json = json.loads(kefu("config", "check", str(folder), "--json").stdout)["error"]
    assert as_json["field"].endswith("department.yaml: department.timezone")


def test_config_check_on_the_shipped_folder_passes():
    result = kefu("config", "check", str(CONFIG), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["ok"] is True


def test_staff_lists_the_managers():
    result = kefu("staff", "--role", "manager", "--json")
    assert result.exit_code == 0, result.output
    assert [s["id"] for s in json.loads(result.stdout)] == ["sun.li"]


def test_staff_with_an_unknown_role_is_refused():
    assert_refused(kefu("staff", "--role", "boss"), "role", "manager")


def test_a_bad_kefu_setting_is_refused_naming_the_variable_and_the_fix(tmp_path):
    """Settings come from KEFU_* variables (issue 2, Architecture: Settings); a bad one stops the
    CLI with exit 2, the variable's name and what to write, not a traceback."""
    import subprocess
    import sys

    env = {"PATH": "/usr/bin:/bin", "KEFU_HOME": str(tmp_path / "var"), "KEFU_NOW": "2026-11-23T09:00"}
    result = subprocess.run([sys.executable, "-m", "kefu.cli", "case", "list"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "KEFU_NOW" in result.stderr and "UTC offset" in result.stderr and "fix:" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("step", ["judgement", "remark", "call", "payment", "answer", "closing"])
def test_case_list_accepts_the_steps_of_every_process(step):
    """kefu.processes.step_names(): a complaint's, an order's, a callback's, a consultation's."""
    new_case()
    result = kefu("case", "list", "--step", step, "--json")
    assert result.exit_code == 0, result.output
    assert all(row["step"] == step for row in json.loads(result.stdout))


def test_case_list_refuses_a_step_no_process_has():
    assert_refused(kefu("case", "list", "--step", "remarks"), "step", "remark", "call", "judgement")


def test_config_show_has_every_process_section():
    """The effective rules of every process in the list (kefu.processes.PROCESSES), not a fixed few."""
    result = kefu("config", "show", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"department", "complaint", "callback", "order"} <= set(data)
    assert data["customer_messages"]["quiet_hours"]["daily"] and data["order"]["chain"]["payment"]


@pytest.mark.parametrize("field, value", [("--name", "张\u202e三"), ("--content", "退款\u202b没到账")])
def test_text_with_invisible_bidi_characters_is_refused(field, value):
    """A name or complaint with U+202E (right-to-left override) would read differently in every
    digest and report than it was recorded: refused, naming the character."""
    args = {"--name": "张三", "--channel": "phone", "--content": "快递送错了", field: value}
    result = kefu("complaint", "open", "--phone", "13812345678", *[x for kv in args.items() for x in kv])
    assert_refused(result, field.removeprefix("--"))
    assert "U+202" in result.stderr


def test_kefu_up_with_a_broken_config_starts_nothing(monkeypatch, config_copy, kefu_env):
    """The config is checked before the server and the runner start (they would only fail on it)."""
    from kefu.runtime import rules_from
    from kefu.settings import get_settings

    (config_copy / "sla.yaml").write_text("calendar: nowhere\npolicies: []\n", encoding="utf-8")
    monkeypatch.setenv("KEFU_CONFIG_DIR", str(config_copy))
    get_settings.cache_clear()
    rules_from.cache_clear()
    result = kefu("up", "--detach", "--json")
    assert result.exit_code == 2, result.output
    assert json.loads(result.stdout)["error"]["field"].startswith(str(config_copy))
    assert not (kefu_env / "run").exists() or not any((kefu_env / "run").iterdir())
