"""The ``kefu`` command line, one module per command group. Every command takes ``--json``;
exit 0 on success, 2 on bad input (the message names the field and the fix), 1 on an internal
error."""

from __future__ import annotations

import sys
from pathlib import Path

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
from kefu.cli.callback import callback_app  # noqa: E402
from kefu.cli.case import case_app, deadlines_app  # noqa: E402
from kefu.cli.complaint import complaint_app, contact_app  # noqa: E402
from kefu.cli.customer import customer_app  # noqa: E402
from kefu.cli.intake import intake_app  # noqa: E402
from kefu.cli.order import order_app  # noqa: E402
from kefu.cli.outbox import outbox_app  # noqa: E402
from kefu.cli.report import report_app  # noqa: E402
from kefu.cli.staff import login, logout, staff_app, whoami  # noqa: E402
from kefu.cli.support import BadInput, JsonOpt, command, emit  # noqa: E402

app = typer.Typer(no_args_is_help=True, add_completion=False, help="kefu 客服: a customer-service department on Prefect.")
config_app = typer.Typer(no_args_is_help=True, help="The department's rules (config/).")
for group, name in ((complaint_app, "complaint"), (contact_app, "contact"), (case_app, "case"), (config_app, "config"),
                    (deadlines_app, "deadlines"), (outbox_app, "outbox"), (order_app, "order"), (audit_app, "audit"),
                    (callback_app, "callback"), (report_app, "report"), (staff_app, "staff"), (intake_app, "intake"),
                    (customer_app, "customer")):
    app.add_typer(group, name=name)
for fn in (login, logout, whoami):
    app.command(fn.__name__)(fn)


@app.command("sweep")
@command
def sweep_now(as_json: bool = JsonOpt,
              watch: bool = typer.Option(False, "--watch", help="Keep watching instead: start a sweep run on "
                                         "Prefect whenever a rung or an e-mail is due, and run again every open "
                                         "case whose run crashed (scale-out: beside the workers; the embedded "
                                         "default's runner does it itself).")) -> None:
    """Run the deadline sweep once now: fire due rungs, deliver the outbox."""
    from kefu.escalation import mail, sweep
    from kefu.executor import prefect_env
    from kefu.settings import get_settings

    if watch:
        import threading

        from kefu.executor import watch as kefu_watch

        every = runtime.rules().escalation.sweep_check_seconds
        print(f"watching for due rungs and e-mail every {every} s; Ctrl-C stops", file=sys.stderr)
        try:
            kefu_watch.watch(threading.Event())
        except KeyboardInterrupt:
            pass
        return

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


# -- rules --------------------------------------------------------------------------

@config_app.command("show")
@command
def config_show(as_json: bool = JsonOpt) -> None:
    """The effective, validated rules."""
    rules = runtime.rules()
    data = {"directory": str(rules.directory), "version": rules.version,
            "department": rules.department.model_dump(),
            "customer_messages": rules.customer_messages.model_dump(mode="json"),
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


# -- running kefu ------------------------------------------------------------------------------

@app.command("up")
@command
def up(detach: bool = typer.Option(False, "--detach", help="Start and return; `kefu down` stops."),
       host: str = typer.Option("127.0.0.1", "--host", help="The address the Prefect server listens on; any "
                                "other than loopback needs PREFECT_SERVER_API_AUTH_STRING (Prefect's basic auth)."),
       as_json: bool = JsonOpt) -> None:
    """Start the local Prefect server and the runner; print the dashboard URL."""
    from kefu.executor import local

    try:
        info = local.up(detach=detach, announce=lambda text: None if as_json else typer.echo(text), host=host)
    except local.Unprotected:
        raise BadInput("host", f"a Prefect server on {host} would let anyone who reaches it resume cases and read "
                               "their forms: the open-source server has no login of its own",
                       "set PREFECT_SERVER_API_AUTH_STRING=user:password (kefu's CLI and runner send it), or "
                       "leave out --host to listen on 127.0.0.1 only") from None
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
