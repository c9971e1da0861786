"""kefu.executor.prefect_api against a real local HTTP server that answers like Prefect's API (the
real Prefect server: tests/flows/*_e2e.py, where every start, wake and catch-up goes through it)."""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from kefu.executor.prefect_api import AlreadyExists, NotFound, PrefectApi

RUN = "5b6f5d6c-0000-4000-8000-000000000042"
ANSWERS: dict[tuple[str, str], tuple[int, object]] = {
    ("GET", f"/api/flow_runs/{RUN}"): (200, {"id": RUN, "tags": ["case:C-1"], "state": {
        "type": "PAUSED", "name": "Suspended", "message": "", "state_details": {"pause_key": "judgement-1-0"}}}),
    ("POST", f"/api/flow_runs/{RUN}/resume"): (200, {"status": "REJECT", "details": {"reason": "Run input schema not found"}}),
    ("GET", "/api/flow_runs/gone"): (404, {"detail": "Flow run not found"}),
    ("GET", "/api/variables/name/kefu_owner"): (404, {"detail": "Variable not found"}),
    ("POST", "/api/variables/"): (409, {"detail": "A variable with this name already exists."}),
    ("GET", "/api/hang"): (200, {}),
}


@pytest.fixture
def prefect_like():
    """A server on 127.0.0.1 that records every request and answers from ANSWERS."""
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            seen.append({"method": self.command, "path": self.path, "body": body,
                         "authorization": self.headers.get("Authorization")})
            if self.path == "/api/hang":
                time.sleep(2)
            status, answer = ANSWERS.get((self.command, self.path), (200, {}))
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _answer

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/api", seen
    server.shutdown()


def test_a_suspended_run_is_read_with_the_step_its_form_waits_at(prefect_like):
    url, _ = prefect_like
    with PrefectApi(url) as api:
        run = api.read_flow_run(RUN)
    assert run.state is not None and run.state.is_paused() and not run.state.is_final()
    assert run.state.pause_key == "judgement-1-0" and run.tags == ["case:C-1"]


def test_a_refused_resume_says_why_and_sends_the_forms_answer(prefect_like):
    url, seen = prefect_like
    with PrefectApi(url) as api:
        answer = api.resume(RUN, {"upheld": True, "pin": "(recorded by the CLI)"})
    assert not answer.accepted and "schema not found" in answer.reason
    assert seen[-1]["body"] == {"run_input": {"upheld": True, "pin": "(recorded by the CLI)"}}


def test_a_run_prefect_no_longer_has_and_a_name_taken_are_their_own_errors_and_a_missing_variable_is_none(prefect_like):
    url, _ = prefect_like
    with PrefectApi(url) as api:
        with pytest.raises(NotFound):
            api.read_flow_run("gone")
        with pytest.raises(AlreadyExists):
            api.create_variable("kefu_owner", {"database": "sqlite:///x"})
        assert api.read_variable("kefu_owner") is None  # not claimed yet: 404 is an answer, not an error


def test_the_server_basic_auth_string_is_sent_as_prefects_client_sends_it(prefect_like, monkeypatch):
    """`kefu up --host` starts Prefect with PREFECT_SERVER_API_AUTH_STRING; every kefu client sends
    PREFECT_API_AUTH_STRING as HTTP basic auth."""
    url, seen = prefect_like
    monkeypatch.delenv("PREFECT_API_KEY", raising=False)
    monkeypatch.setenv("PREFECT_API_AUTH_STRING", "admin:s3cret")
    with PrefectApi(url) as api:
        api.log(RUN, "judgement recorded")
    assert seen[-1]["authorization"] == "Basic " + base64.b64encode(b"admin:s3cret").decode()
    assert seen[-1]["body"][0]["flow_run_id"] == RUN and seen[-1]["body"][0]["level"] == 20


def test_a_hung_prefect_is_given_up_on_within_the_calls_timeout(prefect_like):
    """Issue 18: a person's command never waits on Prefect longer than the bound of one call."""
    url, _ = prefect_like
    started = time.monotonic()
    with PrefectApi(url, timeout=0.5) as api, pytest.raises(httpx.TimeoutException):
        api._call("GET", "hang")
    assert time.monotonic() - started < 1.5
