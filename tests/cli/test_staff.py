"""Who decided is who decided (kefu/core/identity.py, kefu/cli/staff.py): the CLI acts as the
owner of the token it is given — KEFU_TOKEN or `kefu login` — and nobody else. In-process, with
real tokens (argon2 hashes in the test's kefu database); Prefect is out of reach on purpose."""

from __future__ import annotations

import json
import os
import stat
from datetime import timedelta

import pytest
from offline_cli import app, invoke, runner, token_of

from kefu import runtime
from kefu.audit import replay
from kefu.core import clock
from kefu.executor import orchestration
from models.records import StaffCredential


@pytest.fixture(autouse=True)
def prefect_down(monkeypatch, kefu_env):
    def unreachable():
        raise ConnectionError("Prefect is down in this test")

    monkeypatch.setattr(orchestration, "_client", unreachable)


def as_(staff: str | None, *args: str):
    """``kefu ARGS --json`` with ``staff``'s token (None: no token at all)."""
    if staff is None:
        return runner.invoke(app, [*args, "--json"], env={"KEFU_TOKEN": ""})
    return invoke([*args, "--json"], as_=staff)


def refused(result, field: str) -> dict:
    assert result.exit_code == 2, result.output
    error = json.loads(result.stdout)["error"]
    assert error["field"] == field, error
    return error


def major_complaint_at_approval() -> str:
    """A major complaint: complaint.yaml permissions.approval.major is manager or director."""
    opened = as_("li.na", "complaint", "open", "--name", "张三", "--phone", "13812345678", "--channel", "phone",
                 "--content", "热水器漏水", "--kind", "complaint", "--severity", "major")
    case_id = json.loads(opened.stdout)["case_id"]
    for args in (("judge", case_id, "--upheld", "--department", "repair", "--reason", "安装问题"),
                 ("investigate", case_id, "--cause", "接口未拧紧", "--responsible", "王五"),
                 ("propose", case_id, "--option", "免费维修并赔偿地板", "--option", "换新")):
        assert as_("li.na", "complaint", *args).exit_code == 0
    return case_id


def events(case_id: str):
    return runtime.store().events(case_id)


def test_an_agents_token_cannot_approve_as_the_manager():
    """The hole issue 19 closes: `--by sun.li` from li.na's token is refused and nothing is stored."""
    case_id = major_complaint_at_approval()
    before = len(events(case_id))
    error = refused(as_("li.na", "complaint", "approve", case_id, "--choice", "1", "--by", "sun.li"), "by")
    assert "you are li.na" in error["problem"] and "leave out --by" in error["fix"]
    assert len(events(case_id)) == before


def test_a_decision_is_recorded_for_the_tokens_owner_and_says_how_they_were_verified():
    case_id = major_complaint_at_approval()
    assert as_("sun.li", "complaint", "approve", case_id, "--choice", "1").exit_code == 0
    approved = next(e for e in events(case_id) if e.type == "plan.approved")
    assert approved.actor == "sun.li"
    assert approved.payload["verified"] == {"method": "cli-token", "staff": "sun.li"}
    (result,) = replay.replay(runtime.store().engine, [case_id])
    assert result.verdict == "consistent", result.summary()


def test_a_deputy_decision_records_both_people():
    """department.yaml access.deputies: chen.jing (supervisor) may approve for a manager."""
    case_id = major_complaint_at_approval()
    assert as_("chen.jing", "complaint", "approve", case_id, "--choice", "2", "--by", "sun.li").exit_code == 0
    approved = next(e for e in events(case_id) if e.type == "plan.approved")
    assert approved.actor == "sun.li"
    assert approved.payload["verified"] == {"method": "deputy", "staff": "chen.jing", "for": "sun.li",
                                            "via": "cli-token"}
    (result,) = replay.replay(runtime.store().engine, [case_id])
    assert result.verdict == "consistent", result.summary()


def test_a_deputy_only_stands_in_where_the_rules_say():
    """chen.jing is a deputy at the approval only: she cannot judge as sun.li."""
    opened = as_("li.na", "complaint", "open", "--name", "张三", "--phone", "13812345678", "--channel", "phone",
                 "--content", "快递送错了", "--kind", "complaint", "--severity", "general")
    case_id = json.loads(opened.stdout)["case_id"]
    refused(as_("chen.jing", "complaint", "judge", case_id, "--not-upheld", "--reason", "r", "--by", "sun.li"), "by")


def test_without_a_token_a_decision_is_refused_with_how_to_get_one(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-login"))
    case_id = major_complaint_at_approval()
    error = refused(as_(None, "complaint", "approve", case_id, "--choice", "1"), "token")
    assert "kefu staff token issue" in error["fix"] and "kefu login" in error["fix"]


def test_an_expired_token_is_refused():
    token = json.loads(invoke(["staff", "token", "issue", "sun.li", "--expires", "1", "--json"]).stdout)["token"]
    case_id = major_complaint_at_approval()
    clock.set_now(clock.now() + timedelta(days=2))
    result = runner.invoke(app, ["complaint", "approve", case_id, "--choice", "1", "--json"], env={"KEFU_TOKEN": token})
    assert "expired" in refused(result, "token")["problem"]


def test_a_revoked_token_is_refused_and_the_roster_shows_who_can_sign_in():
    token = json.loads(invoke(["staff", "token", "issue", "zhao.lei", "--json"]).stdout)["token"]
    roster = {r["id"]: r for r in json.loads(invoke(["staff", "--json"]).stdout)}
    assert roster["zhao.lei"]["token_until"] is not None
    assert json.loads(invoke(["staff", "token", "revoke", "zhao.lei", "--json"]).stdout)["revoked"] == 1
    result = runner.invoke(app, ["whoami", "--json"], env={"KEFU_TOKEN": token})
    assert "revoked" in refused(result, "token")["problem"]
    roster = {r["id"]: r for r in json.loads(invoke(["staff", "--json"]).stdout)}
    assert roster["zhao.lei"]["token_until"] is None


def test_tokens_are_kept_only_as_hashes():
    token = token_of("wang.fang")
    secret = token.split(".", 1)[1]
    from sqlmodel import Session, select

    with Session(runtime.store().engine) as session:
        hashes = [c.secret_hash for c in session.exec(select(StaffCredential)).all()]
    assert hashes and all(h.startswith("$argon2") and secret not in h for h in hashes)


def test_login_keeps_the_token_readable_only_by_its_owner(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home-config"))
    result = runner.invoke(app, ["login", "--json"], input=token_of("liu.yang") + "\n", env={"KEFU_TOKEN": ""})
    assert result.exit_code == 0, result.output
    kept = tmp_path / "home-config" / "kefu" / "token"
    assert stat.S_IMODE(os.stat(kept).st_mode) == 0o600
    whoami = runner.invoke(app, ["whoami", "--json"], env={"KEFU_TOKEN": ""})
    assert json.loads(whoami.stdout)["staff"] == "liu.yang"
    runner.invoke(app, ["logout"], env={"KEFU_TOKEN": ""})
    assert not kept.exists()


def test_kefu_up_on_another_address_without_an_auth_string_is_refused(monkeypatch, kefu_env):
    """Prefect's open-source server has no login: off loopback it must run behind its basic auth."""
    monkeypatch.delenv("PREFECT_SERVER_API_AUTH_STRING", raising=False)
    error = refused(invoke(["up", "--host", "0.0.0.0", "--detach", "--json"]), "host")
    assert "PREFECT_SERVER_API_AUTH_STRING" in error["fix"]
    assert not (kefu_env / "run").exists() or not any((kefu_env / "run").iterdir())  # nothing was started


def test_kefus_prefect_clients_send_the_servers_auth_string(monkeypatch, kefu_env):
    from kefu.executor.prefect_env import prefect_environment

    monkeypatch.setenv("PREFECT_SERVER_API_AUTH_STRING", "ops:s3cret-basic")
    assert prefect_environment()["PREFECT_API_AUTH_STRING"] == "ops:s3cret-basic"
