"""The local runner: serves every process's deployment from this machine (``kefu up``).

Each resume of a suspended run starts a new process that imports Prefect and kefu
(~1.5 s of CPU on 2 cores). The runner here forks those processes from a server process
that imported everything once, so a resume costs a fork, not the imports.
"""

from __future__ import annotations

import asyncio
import importlib
import multiprocessing
import os
import sys
import types

from kefu.executor.prefect_env import configure_prefect

configure_prefect()  # before Prefect is imported anywhere in this process

from prefect.runner import Runner  # noqa: E402

from flows.deployments import DEPLOYMENTS  # noqa: E402

# Modules every flow run needs: imported once in the fork server, shared by every run.
# ``prefect.runner``: each child re-executes this module as ``__mp_main__`` (multiprocessing's
# main-module fix-up), and its ``from prefect.runner import Runner`` cost ~0.05–0.1 s per run.
# The rest were imported lazily inside every run (pyinstrument on the children): the task engine
# and graphviz (prefect.utilities.visualization) on the first task call, ~0.23 s; anyio's asyncio
# backend, ~0.02 s; sqlite3 for kefu's store. ``flows.preload`` parses the rules once (~0.15 s a run).
# Every flow module the runner serves is here (one left out, flows.audit at 25 ms, was imported
# again by every run).
PRELOAD = ["prefect.flow_engine", "prefect.flow_runs", "prefect.runner", "prefect.task_engine",
           "prefect.utilities.visualization", "anyio._backends._asyncio", "sqlite3", "encodings.idna",
           *dict.fromkeys(d.module for d in DEPLOYMENTS), "kefu.db", "flows.preload"]

# How often the runner asks the server for runs to start (a resumed run is one): half the
# wait of a resume. PREFECT_RUNNER_POLL_FREQUENCY only takes whole seconds; this wins over it.
POLL_SECONDS = 0.25


def fork_runs_from_preloaded_server() -> None:
    """Make Prefect start flow-run processes with ``forkserver`` instead of ``spawn``.

    Prefect asks ``multiprocessing.get_context("spawn")`` in ``run_flow_in_subprocess``;
    forkserver keeps spawn's clean-process semantics (the child shares nothing with the
    runner's threads) while skipping the imports."""
    import prefect.flow_engine as engine

    forkserver = multiprocessing.get_context("forkserver")
    forkserver.set_forkserver_preload(PRELOAD)
    shim = types.SimpleNamespace(**{name: getattr(multiprocessing, name) for name in dir(multiprocessing)
                                    if not name.startswith("__")})
    shim.get_context = lambda method=None: forkserver
    engine.multiprocessing = shim  # type: ignore[attr-defined]


def main(limit: int = 16) -> None:
    if "--spawn" not in sys.argv and os.environ.get("KEFU_RUNNER_START") != "spawn":
        fork_runs_from_preloaded_server()
    from prefect.schedules import Cron

    from kefu import runtime
    from kefu.executor import ownership
    from kefu.executor.prefect_api import PrefectApi

    with PrefectApi() as client:  # never serve another kefu's deployments
        ownership.claim(client)
    runner = Runner(pause_on_shutdown=False, limit=limit, query_seconds=POLL_SECONDS)
    rules = runtime.rules()
    for deployment in DEPLOYMENTS:
        flow = getattr(importlib.import_module(deployment.module), deployment.function)
        # ``add_flow`` (not ``serve(*deployments())``/``add_deployment``) registers the flow object
        # with the runner, so a run starts through ``run_flow_in_subprocess`` (the fork server
        # above) instead of a ``python -m prefect.engine`` subprocess that imports and loads
        # everything again; the deployment on the server is the same.
        runner.add_flow(flow, name=deployment.name, tags=list(deployment.tags), interval=deployment.interval,
                        schedules=[Cron(*timed)] if (timed := deployment.timed(rules)) else None)
    from kefu.executor import watch as kefu_watch

    # A sweep run only when something is due; a case whose run crashed runs again.
    stop_watching = kefu_watch.watch_in_background()
    try:
        asyncio.run(runner.start())
    except KeyboardInterrupt:
        pass
    finally:
        stop_watching.set()


if __name__ == "__main__":
    main()
