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
