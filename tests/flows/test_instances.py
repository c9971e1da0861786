"""Two kefus never cross (kefu/executor/ownership.py): a second kefu — another home, another
database — pointed at the port of a running kefu's Prefect server is refused, told whose server
it is and how to pick another, and none of its cases runs there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.prefect
KEFU = str(Path(sys.executable).with_name("kefu"))


def other_kefu(tmp_path, port: int, *args: str, token: str | None = None) -> subprocess.CompletedProcess:
    """A second checkout's kefu (its own home and database) on the first one's port."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KEFU_", "PREFECT_"))}
    env.update(KEFU_HOME=str(tmp_path / "var"), KEFU_DATABASE_URL=f"sqlite:///{tmp_path / 'kefu.db'}",
               KEFU_PREFECT_PORT=str(port), **({"KEFU_TOKEN": token} if token else {}))
    return subprocess.run([KEFU, *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=240)


def test_a_second_kefu_is_refused_the_first_ones_server(kefu_e2e, tmp_path):
    up = other_kefu(tmp_path, kefu_e2e.port, "up", "--detach", "--json")
    assert up.returncode == 2, up.stdout + up.stderr
    error = json.loads(up.stdout)["error"]
    assert error["field"] == "prefect" and str(kefu_e2e.home.resolve()) in error["problem"]
    assert "KEFU_PREFECT_PORT=" in error["fix"]
    assert not (tmp_path / "var" / "run" / "runner.pid").exists()  # no runner of its own was started

    # Its own administrator issues its own staff their tokens (its own database).
    token = json.loads(other_kefu(tmp_path, kefu_e2e.port, "staff", "token", "issue", "li.na", "--json").stdout)["token"]
    opened = other_kefu(tmp_path, kefu_e2e.port, "complaint", "open", "--name", "张伟", "--phone", "13800138000",
                        "--channel", "phone", "--content", "快递送错了", "--json", token=token)
    data = json.loads(opened.stdout)
    assert opened.returncode == 0 and data["flow_run"].startswith("not started")  # recorded, not run there
    assert "belongs to another kefu" in data["flow_run"] and data["flow_run_id"] is None
