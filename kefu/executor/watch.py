"""kefu's watch beside the runner: start a sweep run when there is something to sweep, not every
minute; and run again every open case whose run crashed (recovery needs no operator).

A schedule of one sweep run a minute put 1,440 runs a day on the ops board, each a flow-run
process (~0.6 CPU-s), nearly all of them finding nothing to do. kefu looks itself instead, every
``escalation.yaml sweep_check_seconds``: two index lookups in its own database (a rung due, an
e-mail due; by the one clock) and, only when one is, a run of the ``sweep`` deployment. The run
does the work exactly once as before (kefu.escalation.sweep); the watch only decides when.

Each period it also reconciles (kefu.executor.orchestration.reconcile): a case whose run ended
Crashed, Failed or Cancelled, or vanished, while the record says it is open runs again, so a
Prefect server that died mid-flight strands no case until somebody types `kefu case sync`. A run
whose worker died with it stays Running; Prefect's own zombie detection (an automation on the
runs' heartbeats, which the watch creates on the server once) marks it Crashed after
``escalation.yaml run_silent_seconds``, and the next reconcile runs its case again.

The embedded default's runner watches beside serving (flows/serve.py); with workers on a work
pool, ``kefu sweep --watch`` does it. Two watchers are harmless: one sweep run per check period
(its idempotency key), a sweep fires each rung once whoever runs it, and a run is rerun once
per ending (the second watcher finds it Scheduled).
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any

from kefu import runtime
from kefu.core import clock
from kefu.escalation import sweep
from kefu.executor import orchestration
from kefu.executor.prefect_api import PrefectApi

SWEEP_DEPLOYMENT = "sweep/sweep"  # flows/deployments.py: the flow "sweep", its deployment "sweep"

logger = logging.getLogger("kefu.watch")


def start_sweep_if_due(client: PrefectApi, now: datetime) -> str | None:
    """The id of the sweep run started because a rung or an e-mail is due at ``now``; None when
    nothing is (no run). At most one run per check period, however many watchers ask."""
    if not sweep.work_due(runtime.store().engine, now):
        return None
    period = runtime.rules().escalation.sweep_check_seconds
    run = client.create_flow_run(orchestration.deployment_id(client, SWEEP_DEPLOYMENT),
                                 idempotency_key=f"sweep:{int(now.timestamp()) // period}")
    return run.id


SILENT_RUNS = "kefu: a flow run that stopped beating is Crashed"


def detect_silent_runs(client: Any) -> None:
    """Make sure the server marks a run Crashed when it has sent no heartbeat for
    ``run_silent_seconds`` (Prefect's documented "detect zombie flows" automation), once per
    server and again when its definition changes. A suspended run waits for a person, not a
    heartbeat: its Suspended event ends the watch on it like a final state."""
    from datetime import timedelta

    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture
    from prefect.events.schemas.events import ResourceSpecification

    within = timedelta(seconds=runtime.rules().escalation.run_silent_seconds)
    ends = ["Completed", "Failed", "Cancelled", "Crashed", "Suspended", "Paused"]
    # Pending and Running are the server's own events: a run killed before its first heartbeat
    # left the process (or before it started at all) is found too, which heartbeats alone miss.
    alive = ["heartbeat", "Pending", "Running"]
    trigger = EventTrigger(
        after={f"prefect.flow-run.{event}" for event in alive},
        expect={f"prefect.flow-run.{event}" for event in [*alive, *ends]},
        match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
        for_each={"prefect.resource.id"}, posture=Posture.Proactive, threshold=1, within=within)
    existing = client.read_automations_by_name(SILENT_RUNS)
    if any((a.trigger.after, a.trigger.expect, a.trigger.within) == (trigger.after, trigger.expect, within)
           for a in existing):
        return
    for stale in existing:
        client.delete_automation(stale.id)
    client.create_automation(AutomationCore(
        name=SILENT_RUNS, description="kefu (escalation.yaml run_silent_seconds): the worker running it died",
        trigger=trigger, actions=[ChangeFlowRunState(
            state=StateType.CRASHED, message=f"no heartbeat for {within.total_seconds():g} s: its worker died")]))


def watch(stop: threading.Event) -> None:
    """Each period until ``stop`` is set: start a sweep run if one is due, then run again the
    cases whose runs ended. A failed pass (Prefect restarting, the database busy) is logged and
    tried again next period."""
    from prefect.client.orchestration import get_client

    said: dict[str, str] = {}  # what the log last said of a case: a case left for a person is said once
    detecting = False
    with get_client(sync_client=True) as client, PrefectApi() as api:
        while not stop.is_set():
            try:
                if not detecting:
                    detect_silent_runs(client)
                    detecting = True
                started = start_sweep_if_due(api, clock.now())
                if started:
                    logger.info("sweep run %s started: something is due", started)
                for case_id, what in orchestration.reconcile(api).items():
                    if said.get(case_id) != what:
                        logger.warning("%s: %s", case_id, what)
                    said[case_id] = what
            except Exception as exc:  # the watch outlives a bad minute
                logger.warning("the watch's pass failed (tried again next period): %s", exc)
            stop.wait(runtime.rules().escalation.sweep_check_seconds)


def watch_in_background() -> threading.Event:
    """Run :func:`watch` in a daemon thread; set the returned event to stop it."""
    stop = threading.Event()
    threading.Thread(target=watch, args=(stop,), name="kefu-sweep-watch", daemon=True).start()
    return stop
