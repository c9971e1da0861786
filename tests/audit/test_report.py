"""The auditor's report (issue 6): a summary over the period and each case's timeline in
business time, as Markdown and HTML, bilingual (zh-CN first)."""

from __future__ import annotations

import json

import sqlalchemy as sa
from audit_cases import answered_consultation, resolved_complaint
from typer.testing import CliRunner

from kefu import runtime


def test_the_report_counts_consistent_divergent_and_tampered_cases_and_lays_out_timelines(kefu_env, tmp_path):
    from kefu.cli import app

    store, rules = runtime.store(), runtime.rules()
    late = resolved_complaint(store, rules, escalate=True)
    tampered = answered_consultation(store, rules)
    divergent = answered_consultation(store, rules)
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE kefu_event SET actor = 'nobody' WHERE case_id = :c AND seq = 1"), {"c": tampered})
        conn.execute(sa.text("DELETE FROM kefu_config_snapshot"))
    # The divergent one: its rules version is no longer on record (and neither is the others').
    result = CliRunner().invoke(app, ["audit", "report", "--from", "2026-11-23", "--to", "2026-11-30",
                                      "--out", str(tmp_path / "out"), "--no-prefect", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert (summary["cases"], summary["tampered"], summary["divergent"], summary["consistent"]) == (3, 1, 2, 0)
    markdown = (tmp_path / "out" / "audit-2026-11-23-2026-11-30.md").read_text(encoding="utf-8")
    html = (tmp_path / "out" / "audit-2026-11-23-2026-11-30.html").read_text(encoding="utf-8")
    assert markdown.index("审计报告") < markdown.index("Audit report")
    for case_id in (late, tampered, divergent):
        assert case_id in markdown and case_id in html
    assert "missed by" in markdown, "the investigation ran late: the timeline says by how much"
    assert "not on record" in markdown and "tampered" in html


def test_a_period_without_closed_cases_reports_zero(kefu_env, tmp_path):
    from kefu.cli import app

    result = CliRunner().invoke(app, ["audit", "report", "--from", "2020-01-01", "--to", "2020-01-31",
                                      "--out", str(tmp_path), "--no-prefect", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["cases"] == 0


def test_a_period_ending_before_it_starts_is_refused(kefu_env, tmp_path):
    from kefu.cli import app

    result = CliRunner().invoke(app, ["audit", "report", "--from", "2026-11-30", "--to", "2026-11-01",
                                      "--out", str(tmp_path), "--json"])
    assert result.exit_code == 2
    assert json.loads(result.output)["error"]["field"] == "--to"


def test_the_report_reads_like_a_report_decisions_in_words_rungs_by_name_seals_and_a_sign_off(kefu_env, tmp_path):
    """Issue 17: decisions in words with the configured labels (no `upheld: True`, no `choice: 1`),
    each rung to the people it reached by name, a section for the seals and the anchor's check,
    a sign-off block, and no unmasked phone number."""
    from kefu.cli import app

    store, rules = runtime.store(), runtime.rules()
    case_id = resolved_complaint(store, rules, escalate=True)
    anchor_file = tmp_path / "anchor.json"
    assert CliRunner().invoke(app, ["audit", "anchor", str(anchor_file), "--json"]).exit_code == 0
    result = CliRunner().invoke(app, ["audit", "report", "--from", "2026-11-23", "--to", "2026-11-30",
                                      "--out", str(tmp_path / "out"), "--no-prefect", "--anchor", str(anchor_file),
                                      "--json"])
    assert result.exit_code == 0, result.output
    html = (tmp_path / "out" / "audit-2026-11-23-2026-11-30.html").read_text(encoding="utf-8")
    markdown = (tmp_path / "out" / "audit-2026-11-23-2026-11-30.md").read_text(encoding="utf-8")
    for text in (html, markdown):
        assert case_id in text
        assert "upheld: True" not in text and "choice: 1" not in text
        assert "判定 judged: 投诉成立" in text and "批示 approved: 方案 option 1「" in text
        assert "rung 1 → owner: 李娜 (li.na)" in text
        assert "封存与锚定 Seals and anchor" in text and "全部与锚定一致" in text
        assert "审计签字 Sign-off" in text and "审计人 Auditor" in text
    import re

    assert not re.search(r"(?<!\d)1[3-9]\d{9}(?!\d)", html + markdown), "an unmasked phone number"


def test_a_report_against_a_changed_anchor_file_is_refused(kefu_env, tmp_path):
    from kefu.cli import app

    anchor_file = tmp_path / "anchor.json"
    anchor_file.write_text('{"digest": "x", "seals": {"C-1": "y"}, "anchored_at": "2026-11-23", "cases": 1}')
    result = CliRunner().invoke(app, ["audit", "report", "--from", "2026-11-23", "--to", "2026-11-30",
                                      "--out", str(tmp_path / "out"), "--no-prefect", "--anchor", str(anchor_file),
                                      "--json"])
    assert result.exit_code == 2
    assert json.loads(result.output)["error"]["field"] == "--anchor"
