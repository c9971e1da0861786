"""The customer archive's automated steps as Prefect tasks; each records through its decisions
(``kefu.processes.customer.decisions``)."""

from __future__ import annotations

from kefu import runtime
from kefu.processes.customer import decisions as customers
from tasks import step


@step(name="send-refresh-reminders")
def send_refresh_reminders() -> dict[str, list[str]]:
    """Queue each owner's monthly reminder of their stale customer records (once a month each)."""
    return customers.send_refresh_reminders(runtime.store(), runtime.rules())
