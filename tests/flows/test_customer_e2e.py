"""P5 the customer archive against a real Prefect server (issue 13): a day's customer file opens
one run per new customer, each waiting at the supervisor's assignment; the supervisor assigns one
in the dashboard's form (with the day's proposal above it) and confirms the rest on the CLI; the
owner's first contact completes the run."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.prefect


def test_a_customer_file_starts_runs_assigned_by_form_and_cli_then_contacted(kefu, tmp_path):
    path = tmp_path / "records.csv"
    path.write_text("编号,名称,电话,重点\n"
                    "E-1,华南五金 陈总,13500001111,是\n"
                    "E-2,林小姐,13500002222,否\n"
                    "E-3,没有电话,,否\n", encoding="gb18030")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("source: e2e-records\ncolumns: {external_id: 编号, name: 名称, phone: 电话, key: 重点}\n",
                       encoding="utf-8")
    result = kefu.ok("intake", "customers", str(path), "--mapping", str(mapping))
    assert (result["rows"], result["imported"], result["quarantined"]) == (3, 2, 1)
    assert result["reasons"] == {"phone: missing": 1}
    waiting = kefu.ok("customer", "list", "--unassigned")
    ids = {row["name"]: row["id"] for row in waiting}
    key, other = ids["华南五金 陈总"], ids["林小姐"]
    for case_id in (key, other):
        kefu.wait_until_waiting(case_id, "assignment")

    # The dashboard's form: the supervisor picks the owner the proposal names.
    proposal = {p["case_id"]: p["owner"] for p in kefu.ok("customer", "assign")}
    assert proposal[key] in ("li.na", "wang.fang")  # key customers go to agents with key_accounts
    kefu.resume(key, {"owner": proposal[key], "by": "chen.jing"})
    kefu.wait_until_waiting(key, "first-contact")
    # The rest of the day's proposal on the command line.
    confirmed = kefu.ok("customer", "assign", "--confirm", "--by", "chen.jing")
    assert [c["id"] for c in confirmed] == [other]
    kefu.wait_until_waiting(other, "first-contact")

    owner = kefu.ok("customer", "show", key)["owner"]
    refused = kefu.cli("customer", "contact", key, "--note", "打过电话", "--by", "zhang.wei", "--json")
    assert refused.exit_code == 2, refused.stdout
    # By e-mail: a call would be refused in the customer's quiet hours, and this test runs at any hour.
    done = kefu.ok("customer", "contact", key, "--note", "邮件沟通，确认地址 / e-mailed, confirmed the address",
                   "--channel", "email", "--by", owner)
    assert done["contacted_at"] is not None
    run = kefu.wait_until_waiting(key, None)
    assert run.state.is_completed()
