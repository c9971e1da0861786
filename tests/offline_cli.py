"""kefu's command line for in-process tests (typer's CliRunner on ``kefu.cli.app``), imported so
that its import-time Prefect settings stay out of the other suites' environment (tests/flows/).

Tests that use it make Prefect unreachable themselves (monkeypatching ``orchestration._client``):
what they check is what the CLI records and answers, not the run."""

from __future__ import annotations

import os

from people import signed_in_env, token_of
from typer.testing import CliRunner

_environ_before = dict(os.environ)
from kefu.cli import app  # noqa: E402  (puts Prefect settings into os.environ at import)

for _key in set(os.environ) - set(_environ_before):
    del os.environ[_key]

runner = CliRunner()

def invoke(args: list[str], as_: str | None = None, **kwargs):
    """``kefu ARGS`` in-process, signed in (people.signed_in_env)."""
    return runner.invoke(app, args, env={**signed_in_env(args, as_), **kwargs.pop("env", {})}, **kwargs)


__all__ = ["app", "runner", "invoke", "token_of"]
