"""kefu.core.clock: the one business clock; a home's clock runs ahead only forward, for every
kefu process of the home (issue 17: the demo's clock jumps left a case's record out of order)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from kefu.core import clock


@pytest.fixture
def running_clock(kefu_env):
    """The wall clock (kefu_env freezes it), under a fresh KEFU_HOME; frozen again afterwards."""
    clock.set_now(None)
    yield kefu_env


def test_a_homes_clock_runs_ahead_for_every_process_of_the_home(running_clock):
    target = datetime.now(timezone.utc) + timedelta(days=3)
    moved = clock.run_ahead_to(target)
    assert abs((moved - target).total_seconds()) < 5
    seen = subprocess.run([sys.executable, "-c", "from kefu.core import clock; print(clock.now().isoformat())"],
                          env={**os.environ}, capture_output=True, text=True, timeout=60)
    assert seen.returncode == 0, seen.stderr
    assert abs((datetime.fromisoformat(seen.stdout.strip()) - target).total_seconds()) < 10


def test_a_homes_clock_never_moves_back(running_clock):
    ahead = clock.run_ahead_to(datetime.now(timezone.utc) + timedelta(days=1))
    with pytest.raises(ValueError, match="only moves forward"):
        clock.run_ahead_to(ahead - timedelta(hours=1))
    assert clock.now() >= ahead


def test_without_a_run_ahead_the_clock_is_the_wall_clock(running_clock):
    assert abs((clock.now() - datetime.now(timezone.utc)).total_seconds()) < 1
