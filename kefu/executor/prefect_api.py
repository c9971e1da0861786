"""The Prefect REST calls kefu's own code makes (start a case's run, wake it, catch it up), over
httpx, without importing Prefect.

Importing Prefect's client costs a command ~0.7 s before it sends a byte (Prefect builds its
settings model, its plugin and analytics hooks at import): a person's decision took 1.8 s, of
which 0.1 s was kefu's work. These are a dozen documented endpoints of Prefect's REST API
(https://docs.prefect.io/v3/api-ref/rest-api/server/), each called the way Prefect's own client
calls it, answered within ``CALL_SECONDS`` and never retried: the decision is on record before
Prefect is asked, and the runner's watch moves the case on when Prefect is back. Flow runs and
the Prefect server itself still run on Prefect's own code.

The connection comes from the environment kefu sets for every process (``prefect_env``):
``PREFECT_API_URL``, ``PREFECT_API_KEY`` or ``PREFECT_API_AUTH_STRING``, and
``PREFECT_API_SSL_CERT_FILE`` / ``PREFECT_API_TLS_INSECURE_SKIP_VERIFY`` for an https:// API.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

# The longest a person's command waits for one Prefect call. Prefect's own client waits 60 s a
# request and retries five times: a decision made while the server hung blocked the CLI 73-82 s
# (issue 18).
CALL_SECONDS = 8.0

_FINAL = {"COMPLETED", "FAILED", "CANCELLED", "CRASHED"}


class NotFound(Exception):
    """Prefect has no such object (a run deleted from its database, a deployment not served)."""


class AlreadyExists(Exception):
    """Prefect refused to create an object whose name is taken."""


@dataclass(frozen=True)
class RunState:
    """A flow run's state, as kefu reads it."""

    type: str  # Prefect's state type: SCHEDULED, PENDING, RUNNING, PAUSED, COMPLETED, …
    name: str  # its name: Suspended, Resuming, AwaitingRetry, …
    message: str = ""
    pause_key: str | None = None

    def is_paused(self) -> bool:
        return self.type == "PAUSED"

    def is_final(self) -> bool:
        return self.type in _FINAL

    def is_completed(self) -> bool:
        return self.type == "COMPLETED"


@dataclass(frozen=True)
class FlowRun:
    id: str
    state: RunState | None
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Answer:
    """Prefect's answer to a proposed state or a resume."""

    accepted: bool
    reason: str


def _state(data: dict[str, Any] | None) -> RunState | None:
    if not data:
        return None
    details = data.get("state_details") or {}
    return RunState(type=data["type"], name=data.get("name") or "", message=data.get("message") or "",
                    pause_key=details.get("pause_key"))


def _run(data: dict[str, Any]) -> FlowRun:
    return FlowRun(id=data["id"], state=_state(data.get("state")), tags=list(data.get("tags") or []))


def _answer(data: dict[str, Any]) -> Answer:
    details = data.get("details") or {}
    return Answer(accepted=data.get("status") == "ACCEPT", reason=details.get("reason") or data.get("status", ""))


def _now() -> str:
    # Prefect's own time for a state or a log line (wall time), not the business clock's.
    return datetime.now(timezone.utc).isoformat()


def api_url() -> str:
    return os.environ.get("PREFECT_API_URL", "").rstrip("/")


class PrefectApi:
    """One connection to the Prefect API for a command (a context manager)."""

    def __init__(self, url: str | None = None, timeout: float = CALL_SECONDS) -> None:
        import httpx  # here, not at the top: a command that only reads never pays for it (0.09 s)

        headers = {}
        if os.environ.get("PREFECT_API_KEY"):
            headers["Authorization"] = f"Bearer {os.environ['PREFECT_API_KEY']}"
        elif os.environ.get("PREFECT_API_AUTH_STRING"):
            token = base64.b64encode(os.environ["PREFECT_API_AUTH_STRING"].encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        verify: bool | str = True
        if os.environ.get("PREFECT_API_TLS_INSECURE_SKIP_VERIFY", "").lower() in ("1", "true"):
            verify = False
        elif os.environ.get("PREFECT_API_SSL_CERT_FILE"):
            verify = os.environ["PREFECT_API_SSL_CERT_FILE"]
        self.url = (url or api_url()).rstrip("/")
        if not self.url:
            raise httpx.InvalidURL("PREFECT_API_URL is not set")
        self._http = httpx.Client(base_url=self.url + "/", headers=headers, timeout=timeout, verify=verify)

    def __enter__(self) -> PrefectApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def _call(self, method: str, path: str, json: Any = None, params: dict[str, Any] | None = None) -> Any:
        response = self._http.request(method, path, json=json, params=params)
        if response.status_code == 404:
            raise NotFound(f"{method} {path}: {response.text[:200]}")
        if response.status_code == 409:
            raise AlreadyExists(f"{method} {path}: {response.text[:200]}")
        response.raise_for_status()
        return response.json() if response.content else None

    # --- the server -------------------------------------------------------------------------------

    def healthy(self) -> Exception | None:
        """None when the API answers its health check; else what went wrong."""
        import httpx

        try:
            self._call("GET", "health")
            return None
        except (httpx.HTTPError, NotFound) as exc:
            return exc

    def read_variable(self, name: str) -> Any:
        """A Prefect Variable's value, or None when it does not exist."""
        try:
            return self._call("GET", f"variables/name/{name}")["value"]
        except NotFound:
            return None

    def create_variable(self, name: str, value: Any) -> None:
        self._call("POST", "variables/", json={"name": name, "value": value})

    # --- deployments and runs ---------------------------------------------------------------------

    def deployment_id(self, name: str) -> str:
        """The id of deployment ``name`` (``flow/deployment``)."""
        return self._call("GET", f"deployments/name/{name}")["id"]

    def create_flow_run(self, deployment_id: str, idempotency_key: str, parameters: dict[str, Any] | None = None,
                        name: str | None = None, tags: list[str] | None = None) -> FlowRun:
        """A run of the deployment, Scheduled now (the same idempotency key returns the same run;
        without a name Prefect makes one up)."""
        body: dict[str, Any] = {
            "parameters": parameters or {}, "tags": tags or [], "idempotency_key": idempotency_key,
            "state": {"type": "SCHEDULED", "name": "Scheduled", "state_details": {"scheduled_time": _now()}},
        }
        if name:
            body["name"] = name
        return _run(self._call("POST", f"deployments/{deployment_id}/create_flow_run", json=body))

    def read_flow_run(self, run_id: str) -> FlowRun:
        return _run(self._call("GET", f"flow_runs/{run_id}"))

    def read_flow_runs(self, run_ids: list[str]) -> list[FlowRun]:
        """The runs with these ids that Prefect still has."""
        if not run_ids:
            return []
        return [_run(r) for r in self._call("POST", "flow_runs/filter", json={
            "flow_runs": {"id": {"any_": run_ids}}, "sort": "ID_DESC", "limit": len(run_ids)})]

    def read_states(self, run_id: str) -> list[RunState]:
        """Every state the run has been in, oldest first."""
        return [s for s in map(_state, self._call("GET", "flow_run_states/", params={"flow_run_id": run_id})) if s]

    def resume(self, run_id: str, run_input: dict[str, Any]) -> Answer:
        """Resume a suspended run with its form's answer."""
        return _answer(self._call("POST", f"flow_runs/{run_id}/resume", json={"run_input": run_input}))

    def schedule_again(self, run_id: str, message: str) -> Answer:
        """Propose Scheduled (now) to a run that has ended: Prefect's rules decide (not forced)."""
        return _answer(self._call("POST", f"flow_runs/{run_id}/set_state", json={
            "state": {"type": "SCHEDULED", "name": "Scheduled", "message": message,
                      "state_details": {"scheduled_time": _now()}}, "force": False}))

    def cancel(self, run_id: str, message: str) -> Answer:
        """End a run as Cancelled, whatever state it is in (forced)."""
        return _answer(self._call("POST", f"flow_runs/{run_id}/set_state", json={
            "state": {"type": "CANCELLED", "name": "Cancelled", "message": message}, "force": True}))

    def forms(self, run_id: str) -> list[str]:
        """The keys of the run inputs (form schemas and answers) Prefect holds for the run."""
        rows = self._call("POST", f"flow_runs/{run_id}/input/filter",
                          json={"prefix": "", "limit": 100, "exclude_keys": []})
        return [row["key"] for row in rows]

    def delete_form(self, run_id: str, key: str) -> None:
        try:
            self._call("DELETE", f"flow_runs/{run_id}/input/{key}")
        except NotFound:
            pass

    def log(self, run_id: str, line: str, logger: str = "kefu.decisions", level: int = 20) -> None:
        """A line in the run's log (INFO by default)."""
        self._call("POST", "logs/", json=[{"name": logger, "level": level, "message": line,
                                           "timestamp": _now(), "flow_run_id": run_id}])
