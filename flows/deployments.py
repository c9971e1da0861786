"""What the runner (flows/serve.py) serves and prefect.yaml deploys for a work pool: every
process's deployments (kefu.processes), and kefu's own beside them."""

from __future__ import annotations

from kefu import processes
from kefu.core.process import Deployment

# kefu's own deployments beside the processes' (kefu.processes): the auditor's replay, and the
# deadline sweep, without a schedule: kefu starts a run when a rung or an e-mail is due
# (kefu.executor.watch), so a stalled case reaches a manager within a minute.
OWN = (
    Deployment("audit-replay", "flows/audit.py:audit_replay",
               "Audit replay — closed cases recomputed under their recorded rules, cross-checked with Prefect.",
               tags=("audit",)),
    Deployment("sweep", "flows/sweep.py:sweep",
               "Deadline sweep — escalation rungs exactly once, digests to managers, outbox delivery.",
               tags=("deadlines",)),
)
DEPLOYMENTS = tuple(d for _, d in processes.deployments()) + OWN
