"""The sweep's steps: fire due escalation rungs, then deliver the outbox."""

from __future__ import annotations

from kefu import processes, runtime
from kefu.escalation import mail, sweep
from kefu.executor import prefect_env
from kefu.settings import get_settings
from tasks import step


@step(name="escalate-due-deadlines")
def escalate_due_deadlines() -> sweep.SweepReport:
    """Record every rung that has come due (once) and queue one digest per recipient."""
    return sweep.escalate_due(runtime.store().engine, runtime.rules(), dashboard_url=get_settings().dashboard_url,
                              commands=processes.command_for)


@step(name="deliver-outbox", retries=0)
def deliver_outbox() -> mail.DeliveryReport:
    """Send what the outbox holds; a failure stays queued with back-off, never dropped."""
    return mail.deliver_due(runtime.store().engine, prefect_env.mail_transport())
