"""`kefu case …` when Prefect is not there: the record stands, the command says what to do."""

from __future__ import annotations

import pytest
from offline_cli import app, runner

from kefu.executor import orchestration


@pytest.fixture(autouse=True)
def prefect_down(monkeypatch, kefu_env):
    def unreachable_client():
        raise ConnectionRefusedError("[Errno 111] Connection refused")

    monkeypatch.setattr(orchestration, "_client", unreachable_client)


def test_case_sync_with_prefect_unreachable_is_a_refusal_not_a_traceback():
    result = runner.invoke(app, ["case", "sync"])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: prefect: Prefect is not reachable at ")
    assert "kefu up" in result.stderr and "Traceback" not in result.stderr


def test_case_show_says_what_was_decided_on_each_line():
    """A timeline reads as what happened (issue 17), with the department by name from config."""
    import json

    from offline_cli import invoke

    opened = invoke(["complaint", "open", "--name", "张三", "--phone", "13812345678", "--channel", "phone",
                     "--content", "热水器漏水", "--kind", "complaint", "--json"])
    case_id = json.loads(opened.stdout)["case_id"]
    assert invoke(["complaint", "judge", case_id, "--upheld", "--department", "repair", "--reason", "安装不规范"]).exit_code == 0
    shown = invoke(["case", "show", case_id]).stdout
    assert "complaint.judged  判定 judged: 投诉成立 upheld → 维修部 Repair（安装不规范）" in shown
    events = json.loads(invoke(["case", "show", case_id, "--json"]).stdout)["events"]
    judged = next(e for e in events if e["type"] == "complaint.judged")
    assert judged["verified"] == "cli-token" and judged["said"].startswith("判定")


def test_the_intake_records_the_customers_zone_and_where_it_came_from():
    """Given (--timezone), else the phone number's (phonenumbers), else the department's."""
    import json

    from offline_cli import invoke

    from kefu import runtime

    given = json.loads(invoke(["complaint", "open", "--name", "张三", "--phone", "13812345678", "--channel", "email", "--content", "送错了", "--email", "zhang@example.cn",
                            "--timezone", "Europe/Rome", "--json"]).stdout)
    by_phone = json.loads(invoke(["complaint", "open", "--name", "Mario", "--phone", "+39 06 1234 5678",
                                 "--channel", "phone", "--content", "consegna in ritardo", "--json"]).stdout)
    store = runtime.store()
    intake = store.state(given["case_id"]).intake
    assert (intake["timezone"], intake["timezone_from"], intake["email"]) == ("Europe/Rome", "given", "zhang@example.cn")
    assert store.state(by_phone["case_id"]).intake["timezone"] == "Europe/Rome"
    assert store.state(by_phone["case_id"]).intake["timezone_from"] == "phone"
