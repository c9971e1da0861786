"""The local runner: serves every process's deployment from this machine (``kefu up``).

Each resume of a suspended run starts a new process that imports Prefect and kefu
(~1.5 s of CPU on 2 cores). The runner here forks those processes from a server process
that imported everything once, so a resume costs a fork, not the imports.
"""

from __future__ import annotations

import multiprocessing
import sys
import types

from kefu.runtime import configure_prefect

configure_prefect()  # before Prefect is imported anywhere in this process

from prefect import serve  # noqa: E402

from flows.complaint import complaint  # noqa: E402
from flows.contact import contact  # noqa: E402

# Modules every flow run needs: imported once in the fork server, shared by every run.
PRELOAD = ["prefect.flow_engine", "prefect.flow_runs", "flows.complaint", "flows.contact", "kefu.db"]


def deployments() -> list:
    """One deployment per process; ``prefect.yaml`` declares the same for a work pool."""
    return [
        complaint.to_deployment(name="complaint", tags=["kefu", "p1"]),
        contact.to_deployment(name="contact", tags=["kefu", "p1"]),
    ]


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
    if "--spawn" not in sys.argv:
        fork_runs_from_preloaded_server()
    serve(*deployments(), pause_on_shutdown=False, limit=limit, print_starting_message=False)


if __name__ == "__main__":
    main()
