"""kefu's command line for in-process tests (typer's CliRunner on ``kefu.cli.app``), imported so
that its import-time Prefect settings stay out of the other suites' environment (tests/flows/).

Tests that use it make Prefect unreachable themselves (monkeypatching ``orchestration._client``):
what they check is what the CLI records and answers, not the run."""

from __future__ import annotations

import os

from typer.testing import CliRunner

_environ_before = dict(os.environ)
from kefu.cli import app  # noqa: E402  (puts Prefect settings into os.environ at import)

for _key in set(os.environ) - set(_environ_before):
    del os.environ[_key]

runner = CliRunner()

__all__ = ["app", "runner"]
