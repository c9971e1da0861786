"""``kefu outbox``: the mail that has not gone out yet, and a way to push it again.

Registered by kefu/cli/ (``app.add_typer(outbox_app, name="outbox")``). Same conventions
as the rest of the CLI: ``--json`` everywhere; exit 0 on success, 2 on bad input, 1 on an
internal error — and 1 from ``retry`` when messages are still failing afterwards, so a
script notices."""

from __future__ import annotations

from typing import Any, Optional

import sqlalchemy as sa
import typer

from kefu.cli.support import BadInput, JsonOpt, command, emit, local_iso
from models.outbox import FAILED, PENDING, SENDING, STATUSES, OutboxMessage

outbox_app = typer.Typer(
    invoke_without_command=True,
    help="Outgoing messages 待发消息 (staff e-mail; customers' e-mail, SMS, chat): list what is pending or failed; retry.",
)


def _row(m: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": m["id"], "key": m["key"], "channel": m["channel"], "to": list(m["to"]), "subject": m["subject"], "status": m["status"],
        "attempts": m["attempts"], "last_error": m["last_error"], "next_attempt_at": local_iso(m["next_attempt_at"]),
        "created_at": local_iso(m["created_at"]), "sent_at": local_iso(m["sent_at"]), "message_id": m["message_id"],
    }


def _list(status: str | None) -> list[dict[str, Any]]:
    from kefu.db import current_engine

    c = OutboxMessage.__table__.c
    wanted = [status] if status else [PENDING, SENDING, FAILED]
    query = sa.select(OutboxMessage.__table__).where(c.status.in_(wanted)).order_by(c.id)
    with current_engine().connect() as conn:
        return [_row(m) for m in conn.execute(query).mappings()]


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "outbox empty: nothing pending or failed 没有待发消息"
    lines = []
    for r in rows:
        parked = r["status"] == FAILED and r["next_attempt_at"] is None
        nxt = "parked: run `kefu outbox retry`" if parked else r["next_attempt_at"] or "-"
        lines.append(f"#{r['id']}  {r['channel']:<5}  {r['status']:<7}  attempts {r['attempts']}  next {nxt}")
        lines.append(f"    key      {r['key']}")
        lines.append(f"    to       {', '.join(r['to'])}")
        if r["subject"]:
            lines.append(f"    subject  {r['subject']}")
        if r["last_error"]:
            lines.append(f"    error    {r['last_error']}")
    return "\n".join(lines)


@outbox_app.callback()
@command
def outbox(
    ctx: typer.Context,
    status: Optional[str] = typer.Option(None, "--status", help="pending, sending, sent or failed."),
    as_json: bool = JsonOpt,
) -> None:
    """List pending and failed messages (default), or those of one --status."""
    if ctx.invoked_subcommand is not None:
        return
    if status is not None and status not in STATUSES:
        raise BadInput("--status", f"unknown status {status!r}", f"use one of {', '.join(STATUSES)}")
    rows = _list(status)
    emit(as_json, {"messages": rows}, _table(rows))


@outbox_app.command("retry")
@command
def retry(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Make failed messages due now and deliver everything that is due."""
    from kefu.db import current_engine
    from kefu.escalation.mail import deliver_due, retry_failed
    from kefu.executor import prefect_env

    engine = current_engine()
    made_due = retry_failed(engine)
    transport = prefect_env.mail_transport()
    report = deliver_due(engine, transport)
    still_failed = _list(FAILED)
    data = {"retried": made_due, "sent": report.sent, "failed": report.failed,
            "pending_left": report.pending_left, "transport": repr(transport), "still_failed": still_failed}
    text = (f"retried {made_due} failed message(s) via {transport!r}: sent {report.sent}, "
            f"failed {report.failed}, not yet sent {report.pending_left}")
    if still_failed:
        text += "\n" + _table(still_failed)
    emit(as_json, data, text)
    if still_failed:
        raise typer.Exit(1)


__all__ = ["outbox_app"]
