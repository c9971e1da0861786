"""The deadline sweep: every minute, every process (issue "Deadlines that cannot be missed quietly").

A manager learns about a stalled case within a minute, never twice, and never not at all:
the rungs are recorded with the cases' events and the e-mails queued in the same transaction,
then the outbox is delivered.
"""

from __future__ import annotations

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from tasks.sweep import deliver_outbox, escalate_due_deadlines


@flow(name="sweep", log_prints=True)
async def sweep() -> dict:
    """Fire due escalation rungs and deliver queued e-mail."""
    fired = escalate_due_deadlines()
    delivered = deliver_outbox()
    if fired.rungs_fired:
        rows = "\n".join(f"| {f['case_id']} | {f['step']} | {f['round']} | {f['rung']} | {f['notify']} | "
                         f"{', '.join(f['recipients'])} |" for f in fired.fired)
        await create_markdown_artifact(
            key="sweep", description="Escalations fired by this sweep",
            markdown="| case | step | round | rung | notify | recipients |\n|---|---|---|---|---|---|\n" + rows,
        )
    print(f"{fired.rungs_fired} rungs on {fired.cases} cases, {fired.messages_queued} digests queued; "
          f"outbox: {delivered.sent} sent, {delivered.failed} failed, {delivered.pending_left} waiting")
    return {"rungs_fired": fired.rungs_fired, "messages_queued": fired.messages_queued,
            "sent": delivered.sent, "failed": delivered.failed}
