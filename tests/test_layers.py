"""The shape of the code: imports point one way (pyproject.toml [tool.importlinter]), and the one
list of processes (kefu.processes.PROCESSES) is what the runner, prefect.yaml, the config loader
and the reducer all know — nothing registers itself by being imported."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from flows.deployments import DEPLOYMENTS
from kefu import processes
from models import reducer
from models.case import CaseState, RecordedEvent

REPO = Path(__file__).resolve().parents[1]


def test_imports_point_one_way_and_processes_do_not_import_each_other():
    """Layers models → core → escalation → processes → audit | runtime → executor → tasks → flows
    → demo → cli; a process imports another only in the declared direction; no Prefect in the domain."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout and "Contracts: 4 kept, 0 broken." in result.stdout


def test_prefect_yaml_deploys_what_the_runner_serves():
    """One declaration per deployment (the process list, and flows/serve.py's own): prefect.yaml
    for a work pool says the same — entrypoints, schedules (as the shipped config times them, in
    the department's zone), tags."""
    from kefu.processes import load_rules

    rules = load_rules(REPO / "config")
    declared = yaml.safe_load((REPO / "prefect.yaml").read_text(encoding="utf-8"))["deployments"]
    shipped = {d["name"]: (d["entrypoint"], tuple(d.get("tags", [])),
                           next(((s["cron"], s.get("timezone")) for s in d.get("schedules", []) if "cron" in s), None),
                           next((s.get("interval") for s in d.get("schedules", [])), None)) for d in declared}
    served = {d.name: (d.flow, d.tags, d.timed(rules), d.interval) for d in DEPLOYMENTS}
    assert shipped == served


def test_every_process_has_a_home_in_every_layer():
    """docs/adding-a-process.md: a process's files carry its name in models/, kefu/processes/,
    tasks/, flows/ and tests/processes/ (a consultation is P1's short branch: it lives with the
    complaint, and has a flow of its own)."""
    homes = {p.name for p in processes.PROCESSES if p.config is not None}
    assert homes == {"complaint", "callback", "order", "customer", "report"}
    for name in homes:
        for path in (f"models/{name}.py", f"kefu/processes/{name}/__init__.py", f"tasks/{name}.py",
                     f"flows/{name}.py", f"tests/processes/{name}", f"kefu/demo/{name}.py", f"kefu/cli/{name}.py"):
            assert (REPO / path).exists(), path
    assert len([p for p in (REPO / "kefu").glob("*.py") if p.name != "__init__.py"]) <= 6


def test_every_event_type_is_folded_by_exactly_one_module():
    """models/reducer.py: an unknown event type is an error, never silently ignored."""
    with pytest.raises(reducer.UnknownEvent, match="no module folds event type 'complaint.judgd'"):
        reducer.apply(CaseState(case_id="C-1"), RecordedEvent(seq=1, type="complaint.judgd", actor="x",
                                                               at=datetime(2026, 11, 23, tzinfo=timezone.utc)))


def test_every_step_belongs_to_one_process():
    """A human step's name says which form it is; two processes never share one."""
    names = [s.name for p in processes.PROCESSES for s in p.human_steps]
    assert len(names) == len(set(names))
    # A step's name is in the key of its wait (flows/waiting.py), and Prefect's keys allow only
    # lowercase letters, digits and dashes: `first-contact`, never `first_contact`.
    assert all(re.fullmatch(r"[a-z0-9-]+", name) for name in names), names
