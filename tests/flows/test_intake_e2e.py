"""`kefu intake complaints --as open` against a real Prefect server (issue 13): each good row of
another channel's export opens a live complaint through the normal intake, and its flow run
waits at judgement like any other; a re-import opens nothing twice."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.prefect


def test_rows_opened_live_start_real_runs_that_wait_at_judgement_and_a_reimport_starts_none(kefu, tmp_path):
    from kefu.core import clock

    today = clock.now().strftime("%Y-%m-%d")
    path = tmp_path / "platform-export.csv"
    path.write_text("工单号,投诉时间,来源,类别,内容,客户,手机\n"
                    f"P-1,{today}T08:00:00+08:00,Web,物流,快递三天没到,王芳,13800138000\n"
                    f"P-2,{today}T08:05:00+08:00,Phone,质量,锅盖有裂纹,李雷,13900139000\n"
                    f"P-3,{today}T08:10:00+08:00,Web,质量,没有手机号,赵强,\n", encoding="gb18030")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("source: shop-platform\n"
                       "columns: {external_id: 工单号, received_at: 投诉时间, channel: 来源, category: 类别, "
                       "content: 内容, name: 客户, phone: 手机}\n"
                       "values: {channel: {Web: web, Phone: phone}, category: {物流: logistics, 质量: product_quality}}\n",
                       encoding="utf-8")
    result = kefu.ok("intake", "complaints", str(path), "--mapping", str(mapping), "--as", "open")
    assert (result["rows"], result["imported"], result["quarantined"]) == (3, 2, 1), result["reasons"]
    assert result["reasons"] == {"phone: missing": 1}
    from kefu import runtime

    cases = [runtime.store().state(c.id) for c in runtime.store().cases(status="open")
             if (runtime.store().state(c.id).intake.get("imported") or {}).get("source") == "shop-platform"]
    assert sorted(s.intake["imported"]["external_id"] for s in cases) == ["P-1", "P-2"]
    for state in cases:
        run = kefu.wait_until_waiting(state.case_id, "judgement")
        assert run.state.is_paused()
    again = kefu.ok("intake", "complaints", str(path), "--mapping", str(mapping), "--as", "open")
    assert (again["imported"], again["duplicates"]) == (0, 2)
    assert len([c for c in runtime.store().cases(status="open")
                if (runtime.store().state(c.id).intake.get("imported") or {}).get("source") == "shop-platform"]) == 2
