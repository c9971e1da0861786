"""What ops see in the Prefect dashboard's run list: the step a case waits at and its deadline.

The run's tags carry them (``step:judgement``, ``due:2026-11-24 17:30``), so the runs page can
be filtered by step, and a glance at a run shows when its step is due."""

from __future__ import annotations

from prefect.client.orchestration import get_client
from prefect.context import FlowRunContext

from kefu import runtime
from models.case import CaseState

_VOLATILE = ("step:", "due:")


async def show_waiting(case: CaseState, step: str, round_: int) -> None:
    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        return
    deadline = case.deadline(step, round_)
    tags = [t for t in context.flow_run.tags if not t.startswith(_VOLATILE)] + [f"step:{step}"]
    if deadline is not None and deadline.due_at is not None:
        zone = runtime.rules().department.department.zone
        tags.append(f"due:{deadline.due_at.astimezone(zone):%Y-%m-%d %H:%M}")
    if sorted(tags) == sorted(context.flow_run.tags):
        return
    async with get_client() as client:
        await client.update_flow_run(context.flow_run.id, tags=tags)
