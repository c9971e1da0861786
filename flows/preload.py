"""Imported once by the runner's fork server (``flows.serve.PRELOAD``), never by a flow run itself:
state that every flow run would otherwise build again after the fork.

Only what is safe to share across ``fork``: parsed rules (checked against the files in each
child by :func:`kefu.runtime.rules`), compiled templates (jinja2 reloads one whose file changed),
no database connections, no Prefect clients.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import prefect.flow_engine


@contextmanager
def _no_suspension_from_outside(flow_run_id: Any, suspension_request: Any) -> Iterator[None]:  # noqa: ARG001
    yield


# Prefect 3.8 starts, in every run of a deployment, a thread with its own event loop, client and
# events websocket, and waits for it to connect, only to notice a suspension proposed from
# outside the run (py-spy on the runner's children: 14 % of a resumed run's CPU, and one more
# websocket for the server to serve). A kefu run only ever suspends itself, at a human step
# (flows/waiting.py), which raises Pause in the run without that observer.
prefect.flow_engine.observe_flow_run_suspension = _no_suspension_from_outside  # type: ignore[assignment]

try:
    from kefu import runtime
    from kefu.core import texts
    from kefu.escalation import mail

    rules = runtime.rules()
    texts.compile_all(texts.templates(rules))
    # A customer message without a zone on record (an order's buyer) reads their phone number's:
    # phonenumbers' metadata costs ~15 ms to load, once here instead of in every run that sends one.
    from phonenumbers import timezone as _number_zones  # noqa: F401
    texts.compile_all(mail.templates(rules.directory))
except Exception:  # a broken config must surface in the flow run that reads it, not here
    pass
