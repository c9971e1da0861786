"""`kefu customer …` and `kefu intake customers` (issue 13, P5): the day's records come in with
their bad rows held; the supervisor sees and confirms the balanced proposal; the owner records
the first contact; every change is shown with who and when; an absence keeps an agent out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from offline_cli import invoke

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "kefu" / "demo" / "data"


@pytest.fixture(autouse=True)
def _home(kefu_env):
    yield


def ok(args: list[str], as_: str | None = None) -> object:
    done = invoke([*args, "--json"], as_=as_)
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout)


def test_the_demo_file_is_taken_in_with_its_two_bad_rows_held(tmp_path):
    """Every row accounted for: 8 rows = 6 customers + 2 quarantined (a missing name, a phone that
    is not one); GB18030 as a Chinese Excel export writes it; a re-import adds nothing."""
    gb = tmp_path / "records.csv"
    gb.write_bytes((DEMO / "customers.csv").read_text(encoding="utf-8").encode("gb18030"))
    mapping = str(DEMO / "customers.mapping.yaml")
    result = ok(["intake", "customers", str(gb), "--mapping", mapping])
    assert (result["rows"], result["imported"], result["quarantined"], result["duplicates"]) == (8, 6, 2, 0)
    assert result["reasons"] == {"name: missing": 1, "phone: not a phone number": 1}
    held = ok(["intake", "quarantine", "--batch", result["batch"]])
    assert [(r["row"], r["field"]) for r in held] == [(8, "name"), (9, "phone")]
    again = ok(["intake", "customers", str(gb), "--mapping", mapping])
    assert (again["imported"], again["duplicates"], again["quarantined"]) == (0, 6, 2)
    listed = ok(["customer", "list", "--grade", "A"])
    assert sorted(r["name"] for r in listed) == ["华东建材有限公司 王经理", "成都天府装饰 黄总"]
    shown = invoke(["customer", "show", listed[0]["id"]]).stdout
    assert "from demo-daily-records #K001" in shown and "collected by li.na" in shown


def test_the_supervisor_confirms_the_proposal_and_an_agent_may_not(tmp_path):
    ok(["intake", "customers", str(DEMO / "customers.csv"), "--mapping", str(DEMO / "customers.mapping.yaml")])
    proposal = ok(["customer", "assign"])
    assert [p["grade"] for p in proposal][:2] == ["A", "A"] and all(p["owner"] for p in proposal)
    refused = invoke(["customer", "assign", "--confirm", "--json"], as_="li.na")
    assert refused.exit_code == 2 and '"field": "by"' in refused.stdout
    confirmed = ok(["customer", "assign", "--confirm"], as_="chen.jing")
    assert {c["id"]: c["owner"] for c in confirmed} == {p["case_id"]: p["owner"] for p in proposal}
    assert ok(["customer", "list", "--unassigned"]) == []
    mine = ok(["customer", "list", "--owner", "li.na"])
    assert mine and all(r["waiting_for"] == "first-contact" for r in mine)


def test_the_owner_records_the_first_contact_and_changes_show_who_and_when():
    added = ok(["customer", "add", "--name", "王五", "--phone", "13900005555", "--address", "旧地址"])
    assert added["grade"] == "D" and added["waiting_for"] == "assignment"
    ok(["customer", "assign", added["id"], "--owner", "zhang.wei"], as_="chen.jing")
    refused = invoke(["customer", "contact", added["id"], "--note", "x", "--json"], as_="li.na")
    assert refused.exit_code == 2 and "zhang.wei does" in refused.stdout
    ok(["customer", "contact", added["id"], "--note", "确认了地址", "--channel", "email"], as_="zhang.wei")
    changed = ok(["customer", "update", added["id"], "--address", "新地址", "--key", "--reason", "搬迁"], as_="zhang.wei")
    assert changed["grade"] == "A" and changed["changes"][-1]["by"] == "zhang.wei"
    assert changed["changes"][-1]["fields"]["address"] == {"from": "旧地址", "to": "新地址"}
    text = invoke(["customer", "show", added["id"]]).stdout
    assert "first contact:" in text and "address '旧地址' → '新地址'" in text
    twice = invoke(["customer", "add", "--name", "王五", "--phone", "139-0000-5555", "--json"])
    assert twice.exit_code == 2 and added["id"] in twice.stdout


def test_an_absent_agent_is_left_out_of_the_proposal():
    """PROCESSES.md P5: never to an agent on leave — `kefu staff away` by a supervisor."""
    from kefu.core import clock

    today = clock.now().astimezone().date().isoformat()
    refused = invoke(["staff", "away", "li.na", "--from", today, "--reason", "年假", "--json"], as_="wang.fang")
    assert refused.exit_code == 2 and '"field": "by"' in refused.stdout
    away = ok(["staff", "away", "li.na", "--from", today, "--reason", "年假"], as_="chen.jing")
    assert away[0]["staff"] == "li.na"
    ok(["customer", "add", "--name", "大客户", "--phone", "13900005555", "--key"])
    assert [p["owner"] for p in ok(["customer", "assign"])] == ["wang.fang"]
