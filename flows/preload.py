"""Imported once by the runner's fork server (``flows.serve.PRELOAD``), never by a flow run itself:
state that every flow run would otherwise build again after the fork.

Only what is safe to share across ``fork``: parsed rules (checked against the files in each
child by :func:`kefu.runtime.rules`), no database connections, no Prefect clients.
"""

from __future__ import annotations

try:
    from kefu import runtime

    runtime.rules()
except Exception:  # a broken config must surface in the flow run that reads it, not here
    pass
