"""Cross-check replayed cases against Prefect's own record of their flow runs (states and task
runs), where Prefect still has them: a run past the server's retention is said to be gone, and
an unreachable server is said to be so, never an error."""

from __future__ import annotations

import uuid
from typing import Any

from kefu.audit.replay import DIVERGENT, CaseReplay, Divergence

PAGE = 200  # the API's largest page (STACK-FACTS.md)


def cross_check(results: list[CaseReplay]) -> str:
    """Fill ``result.prefect`` for each case with linked runs; returns one line on what was possible."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL

    linked = [r for r in results if r.flow_run_ids]
    if not linked:
        return "no flow runs linked: nothing to cross-check in Prefect"
    if not PREFECT_API_URL.value():
        # Without an address the client would start a temporary server of its own: not the record.
        return "no Prefect server configured (PREFECT_API_URL): not cross-checked"
    with get_client(sync_client=True) as client:
        problem = client.api_healthcheck()
        if problem is not None:
            for result in linked:
                result.prefect = {"reachable": False, "runs": []}
            return f"Prefect not reachable at {PREFECT_API_URL.value()}: not cross-checked ({problem})"
        for result in linked:
            result.prefect = {"reachable": True, "runs": [_run(client, result.case_id, run_id) for run_id in result.flow_run_ids]}
            _compare(result)
    return f"cross-checked {sum(len(r.flow_run_ids) for r in linked)} flow runs of {len(linked)} cases in Prefect"


def _run(client: Any, case_id: str, run_id: str) -> dict[str, Any]:
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.sorting import TaskRunSort
    from prefect.exceptions import ObjectNotFound

    try:
        run = client.read_flow_run(uuid.UUID(run_id))
    except ObjectNotFound:
        return {"id": run_id, "found": False, "note": "not in Prefect (retention)"}
    tasks: list[Any] = []
    while True:
        page = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id])),
                                     sort=TaskRunSort.EXPECTED_START_TIME_ASC, limit=PAGE, offset=len(tasks))
        tasks += page
        if len(page) < PAGE:
            break
    return {
        "id": run_id, "found": True, "name": run.name, "state": run.state_type.value if run.state_type else None,
        "case_id": run.parameters.get("case_id"),
        "task_runs": [{"name": t.name, "state": t.state_type.value if t.state_type else None} for t in tasks],
    }


def _compare(result: CaseReplay) -> None:
    """Prefect must agree on whose runs these are, and a closed case must have a completed run."""
    runs = result.prefect["runs"]  # type: ignore[index]
    for run in runs:
        if run["found"] and run["case_id"] != result.case_id:
            _diverge(result, f"flow run {run['id']} belongs to", result.case_id, run["case_id"])
            return
    found = [run for run in runs if run["found"]]
    if result.status == "closed" and found and len(found) == len(runs) \
            and not any(run["state"] == "COMPLETED" for run in found):
        _diverge(result, "a completed flow run of the closed case", "COMPLETED", [run["state"] for run in found])


def _diverge(result: CaseReplay, what: str, expected: Any, recorded: Any) -> None:
    if result.verdict == DIVERGENT or result.problems:
        return  # the record's own verdict comes first
    result.verdict = DIVERGENT
    result.divergence = Divergence(0, "prefect", what, expected, recorded)
