"""What ops see in the Prefect dashboard's run list: the step a case waits at, its deadline and
who owns it.

The run's tags carry them (``step:judgement``, ``due:2026-11-24 17:30``, ``owner:li.na``), so the
runs page can be filtered by step or by "my cases", and a glance at a run shows when its step is
due. A finished case waits for nothing: its run keeps no ``step:`` or ``due:`` tag."""

from __future__ import annotations

from typing import Any

from prefect.client.orchestration import get_client
from prefect.context import FlowRunContext

from kefu import runtime
from models.case import CaseState

_WAITING = ("step:", "due:")
_OWNER = "owner:"


async def show_waiting(case: CaseState, step: str, round_: int) -> None:
    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        return
    deadline = case.deadline(step, round_)
    # What ops look for first comes first: the dashboard shows a run's first few tags.
    tags = [f"step:{step}"]
    if deadline is not None and deadline.due_at is not None:
        zone = runtime.rules().department.department.zone
        tags.append(f"due:{deadline.due_at.astimezone(zone):%Y-%m-%d %H:%M}")
    if case.owner:
        tags.append(f"{_OWNER}{case.owner}")
    tags += [t for t in context.flow_run.tags if not t.startswith((*_WAITING, _OWNER))]
    if tags == list(context.flow_run.tags):
        return
    async with get_client() as client:
        await client.update_flow_run(context.flow_run.id, tags=tags)


def case_finished(flow: Any, flow_run: Any, state: Any) -> None:  # noqa: ARG001  (Prefect's hook signature)
    """The run of a finished case drops its waiting tags (the hook of every case's flow)."""
    with get_client(sync_client=True) as client:
        tags = client.read_flow_run(flow_run.id).tags
        kept = [t for t in tags if not t.startswith(_WAITING)]
        if kept != tags:
            client.update_flow_run(flow_run.id, tags=kept)
