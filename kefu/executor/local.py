"""The embedded default's processes: a local Prefect server and the runner, under ``./var/``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Callable

from kefu.settings import get_settings

SERVICES = ("prefect-server", "runner")


def _run_dir() -> Path:
    path = get_settings().home / "run"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _log(name: str) -> Path:
    path = get_settings().home / "log"
    path.mkdir(parents=True, exist_ok=True)
    return path / f"{name}.log"


def server_healthy(timeout: float = 2.0) -> bool:
    try:
        request = urllib.request.Request(f"{get_settings().api_url}/health")
        auth = os.environ.get("PREFECT_API_AUTH_STRING")
        if auth:  # a server behind Prefect's basic auth answers nothing else
            import base64

            request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False


def _alive(name: str) -> int | None:
    pid_file = _run_dir() / f"{name}.pid"
    if not pid_file.exists():
        return None
    pid = int(pid_file.read_text())
    if not _pid_running(pid):
        pid_file.unlink(missing_ok=True)
        return None
    return pid


def _start(name: str, argv: list[str]) -> int:
    log = _log(name).open("ab")
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               start_new_session=True, env=os.environ.copy())
    (_run_dir() / f"{name}.pid").write_text(str(process.pid))
    return process.pid


def _wait(what: str, ready: Callable[[], bool], seconds: float, log: Path, service: str) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if ready():
            return
        if _alive(service) is None:
            raise RuntimeError(f"{what} exited while starting; see {log}")
        time.sleep(0.3)
    raise RuntimeError(f"{what} did not become ready in {seconds:.0f} s; see {log}")


def _deployments_ready() -> bool:
    from kefu import processes
    from kefu.executor.prefect_api import PrefectApi

    try:
        with PrefectApi() as client:
            for process in processes.PROCESSES:
                client.deployment_id(process.deployment)
        return True
    except Exception:
        return False


def _claim_server() -> None:
    from kefu.executor import ownership
    from kefu.executor.prefect_api import PrefectApi

    with PrefectApi() as client:
        ownership.claim(client)


LOOPBACK = "127.0.0.1"


class Unprotected(Exception):
    """A Prefect server on another address than loopback without an auth string."""


def start(announce: Callable[[str], None] = print, host: str = LOOPBACK) -> dict:
    """Start the server (unless one answers already) and the runner; wait until both are ready.
    A config that does not load starts nothing: the runner and every flow run would fail on it.
    The server listens on loopback; on any other address only with Prefect's basic auth
    (PREFECT_SERVER_API_AUTH_STRING; kefu's clients send it as PREFECT_API_AUTH_STRING)."""
    from kefu import runtime

    if host not in (LOOPBACK, "localhost", "::1") and not os.environ.get("PREFECT_SERVER_API_AUTH_STRING"):
        raise Unprotected(host)
    runtime.rules()  # ConfigError names the file, the key and the fix
    settings = get_settings()
    started: list[str] = []
    if not server_healthy():
        port = str(settings.prefect_port)
        _start("prefect-server", [sys.executable, "-m", "kefu.executor.prefect_server",
                                  "--host", host, "--port", port])
        started.append("prefect-server")
        _wait("the Prefect server", server_healthy, 180, _log("prefect-server"), "prefect-server")
    _claim_server()  # a server another kefu holds runs its cases, not ours: refuse before the runner
    if _alive("runner") is None:
        _start("runner", [sys.executable, "-m", "flows.serve"])
        started.append("runner")
    _wait("the runner's deployments", _deployments_ready, 120, _log("runner"), "runner")
    announce(f"dashboard: {settings.dashboard_url}")
    return {"dashboard_url": settings.dashboard_url, "api_url": settings.api_url, "started": started}


def up(detach: bool, announce: Callable[[str], None] = print, host: str = LOOPBACK) -> dict:
    info = start(announce, host)
    from kefu import runtime
    from kefu.executor import orchestration

    for case in runtime.store().cases(status="open", limit=100000):
        orchestration.catch_up(runtime.store().state(case.id))
    if detach:
        announce("running in the background; `kefu down` stops it")
        return info
    announce("Ctrl-C stops kefu")
    # A service manager stops us with SIGTERM: treat it like Ctrl-C so nothing is orphaned.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        announce("stopping…")
        info["stopped"] = down()
    return info


def down() -> list[str]:
    """Stop the runner, then the server, if `kefu up` started them."""
    stopped = []
    for name in reversed(SERVICES):
        pid = _alive(name)
        if pid is None:
            continue
        for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                break
            end = time.monotonic() + wait
            while time.monotonic() < end and _pid_running(pid):
                time.sleep(0.1)
            if not _pid_running(pid):
                break
        (_run_dir() / f"{name}.pid").unlink(missing_ok=True)
        stopped.append(name)
    return stopped


def _pid_running(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False
