"""The ``kefu`` command line, one module per command group. Every command takes ``--json``;
exit 0 on success, 2 on bad input (the message names the field and the fix), 1 on an internal
error."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from pydantic import ValidationError

from kefu.executor.prefect_env import configure_prefect

try:
    configure_prefect()  # before anything imports Prefect
except ValidationError as _bad_setting:  # a KEFU_* variable a person can fix: say which and how
    _error = _bad_setting.errors()[0]
    _name = "KEFU_" + str(_error["loc"][0]).upper() if _error["loc"] else "KEFU_*"
    print(f"error: {_name}: {_error['msg'].removeprefix('Value error, ')}\n  fix: correct or unset {_name}",
          file=sys.stderr)
    raise SystemExit(2)

from kefu import processes, runtime  # noqa: E402
from kefu.cli.audit import audit_app  # noqa: E402
from kefu.cli.callback import callback_app, report_app  # noqa: E402
from kefu.cli.case import case_app, deadlines_app  # noqa: E402
from kefu.cli.complaint import complaint_app, contact_app  # noqa: E402
from kefu.cli.order import order_app  # noqa: E402
from kefu.cli.outbox import outbox_app  # noqa: E402
from kefu.cli.support import BadInput, JsonOpt, command, emit  # noqa: E402

app = typer.Typer(no_args_is_help=True, add_completion=False, help="kefu 客服: a customer-service department on Prefect.")
config_app = typer.Typer(no_args_is_help=True, help="The department's rules (config/).")
for group, name in ((complaint_app, "complaint"), (contact_app, "contact"), (case_app, "case"), (config_app, "config"),
                    (deadlines_app, "deadlines"), (outbox_app, "outbox"), (order_app, "order"), (audit_app, "audit"),
                    (callback_app, "callback"), (report_app, "report")):
    app.add_typer(group, name=name)


@app.command("sweep")
@command
def sweep_now(as_json: bool = JsonOpt) -> None:
    """Run the deadline sweep once now: fire due rungs, deliver the outbox."""
    from kefu.escalation import mail, sweep
    from kefu.executor import prefect_env
    from kefu.settings import get_settings

    engine = runtime.store().engine
    fired = sweep.escalate_due(engine, runtime.rules(), dashboard_url=get_settings().dashboard_url,
                               commands=processes.command_for)
    delivered = mail.deliver_due(engine, prefect_env.mail_transport())
    data = {"rungs_fired": fired.rungs_fired, "cases": fired.cases, "messages_queued": fired.messages_queued,
            "sent": delivered.sent, "failed": delivered.failed, "pending": delivered.pending_left,
            "seconds": round(fired.seconds, 4), "fired": fired.fired}
    emit(as_json, data, f"{fired.rungs_fired} rungs fired on {fired.cases} cases, {fired.messages_queued} digests "
                         f"queued; outbox: {delivered.sent} sent, {delivered.failed} failed, "
                         f"{delivered.pending_left} waiting")


# -- rules and people --------------------------------------------------------------------------

@config_app.command("show")
@command
def config_show(as_json: bool = JsonOpt) -> None:
    """The effective, validated rules."""
    rules = runtime.rules()
    data = {"directory": str(rules.directory), "version": rules.version,
            "department": rules.department.model_dump(),
            **{name: section.model_dump(mode="json") for name, section in rules.sections.items()}}
    import yaml

    emit(as_json, data, yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


@config_app.command("check")
@command
def config_check(directory: Path = typer.Argument(..., help="A config folder to validate."), as_json: bool = JsonOpt) -> None:
    """Validate a config folder without using it."""
    rules = processes.load_rules(directory)
    emit(as_json, {"ok": True, "directory": str(directory), "version": rules.version},
          f"{directory}: ok (version {rules.version})")


@app.command("staff")
@command
def staff(role: Optional[str] = typer.Option(None, "--role"), as_json: bool = JsonOpt) -> None:
    """The roster: id, name, role, e-mail."""
    rules = runtime.rules()
    if role is not None and role not in rules.department.roles:
        raise BadInput("role", f"unknown role {role!r}", f"use one of {', '.join(rules.department.roles)}")
    rows = [s.model_dump() for s in rules.department.staff if role is None or s.role == role]
    emit(as_json, rows, "\n".join(f"{s['id']:<12} {s['name']:<6} {s['role']:<11} {s['email']}" for s in rows))


# -- running kefu ------------------------------------------------------------------------------

@app.command("up")
@command
def up(detach: bool = typer.Option(False, "--detach", help="Start and return; `kefu down` stops."),
       as_json: bool = JsonOpt) -> None:
    """Start the local Prefect server and the runner; print the dashboard URL."""
    from kefu.executor import local

    info = local.up(detach=detach, announce=lambda text: None if as_json else typer.echo(text))
    emit(as_json, info, "")


@app.command("down")
@command
def down(as_json: bool = JsonOpt) -> None:
    """Stop what `kefu up` started."""
    from kefu.executor import local

    stopped = local.down()
    emit(as_json, {"stopped": stopped}, "stopped: " + (", ".join(stopped) or "nothing was running"))


@app.command("demo")
@command
def demo(as_json: bool = JsonOpt) -> None:
    """A working day of a department, on the embedded default."""
    from kefu.demo import day

    day.run(as_json=as_json)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
