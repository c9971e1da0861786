"""Throughput and latency of the complaint process (P1) through kefu's own code path.

N scripted cases go from intake to review (upheld, plan accepted: 6 human actions each),
``--concurrency`` cases in flight. Every action is ``kefu.executor.service.decide`` in this process
(what the CLI does); its latency is measured from the call until the case's Prefect flow run
reaches its next waiting point (Suspended with the next step's pause key, or Completed after
the review), polling ``read_flow_run`` every ``--poll`` seconds (0.2 by default: each poll is a
request the Prefect server answers and counts in its CPU share).

    KEFU_HOME=/tmp/kefu-bench/var KEFU_PREFECT_PORT=4331 .venv/bin/python -m bench.complaint_throughput

If no kefu answers on the port, the bench starts one (server + runner) under KEFU_HOME and stops
it afterwards; ``--spawn`` starts that runner with ``python -m flows.serve --spawn``. It prints
figures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("KEFU_HOME", "/tmp/kefu-bench/var")
os.environ.setdefault("KEFU_PREFECT_PORT", "4331")

from kefu.executor.prefect_env import configure_prefect  # noqa: E402

configure_prefect()  # before Prefect is imported

from kefu import runtime  # noqa: E402
from kefu.demo.staff import signed_in  # noqa: E402
from kefu.executor import local, orchestration, service  # noqa: E402
from kefu.settings import get_settings  # noqa: E402
from models.complaint import ContactRegistration  # noqa: E402

POLL = 0.2  # --poll; a latency is over-stated by up to one poll interval
TIMEOUT = 120.0
SCRIPT: list[tuple[str, dict]] = [
    ("judgement", {"upheld": True, "department": "logistics", "reason": "parcel left in the rain",
                   "by": "li.na"}),
    ("investigation", {"cause": "courier skipped the doorstep check", "responsible": "wang.wei",
                       "by": "li.na"}),
    ("proposal", {"options": ["replace the goods", "refund 50 yuan"], "by": "li.na"}),
    ("approval", {"choice": 1, "by": "chen.jing"}),
    ("implementation", {"accepted": True, "signature": "Zhang San", "by": "li.na"}),
    ("review", {"summary": "replaced; courier briefed", "improvements": [], "by": "chen.jing"}),
]
TICKS = os.sysconf("SC_CLK_TCK")


# --- CPU of a process tree, from /proc ------------------------------------------------------------

def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds incl. reaped children) of one process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    ppid = int(fields[1])
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return ppid, (utime + stime + cutime + cstime) / TICKS


def tree_cpu(root: int | None) -> float:
    """CPU seconds of ``root`` and every live descendant (exited, reaped ones count in their parent)."""
    if root is None:
        return float("nan")
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            s = _stat(int(entry))
            if s is not None:
                stats[int(entry)] = s
    children = defaultdict(list)
    for pid, (ppid, _) in stats.items():
        children[ppid].append(pid)
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            total += stats[pid][1]
            todo.extend(children[pid])
    return total


def _pid(name: str) -> int | None:
    path = get_settings().home / "run" / f"{name}.pid"
    try:
        return int(path.read_text())
    except (OSError, ValueError):
        return None


# --- one case ------------------------------------------------------------------------------------

def _wait_for(client, run_id: str, next_key: str | None, case_id: str | None = None,  # type: ignore[no-untyped-def]
              old_key: str | None = None) -> tuple[float, int]:
    """Poll until the run is Suspended at ``next_key`` (or Completed when None).

    If the run still sits at ``old_key`` a second after the action, the resume did not take
    (Prefect can refuse a resume that comes right after the suspension: "Run input schema not
    found"); the bench then does what ``kefu case sync`` does and counts it as a nudge."""
    start = time.perf_counter()
    nudges, last_nudge = 0, start
    while True:
        state = client.read_flow_run(run_id).state
        if (old_key is not None and state is not None and state.is_paused()
                and state.state_details.pause_key == old_key and time.perf_counter() - last_nudge > 1.0):
            orchestration.catch_up(runtime.store().state(case_id))
            nudges, last_nudge = nudges + 1, time.perf_counter()
        if state is not None:
            if next_key is None and state.is_completed():
                return time.perf_counter(), nudges
            if next_key is not None and state.is_paused() and state.state_details.pause_key == next_key:
                return time.perf_counter(), nudges
            if state.is_final() and not state.is_completed():
                raise RuntimeError(f"run {run_id} ended {state.type.value}: {state.message}")
        if time.perf_counter() - start > TIMEOUT:
            raise TimeoutError(f"run {run_id} not at {next_key or 'Completed'} after {TIMEOUT:.0f} s "
                               f"(state {state.type.value if state else None})")
        time.sleep(POLL)


def run_case(n: int, results: dict, lock: threading.Lock) -> None:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        t0 = time.perf_counter()
        case, note = service.open_contact(ContactRegistration(
            name=f"Bench {n:04d}", phone="13812345678", channel="phone",
            content=f"bench complaint {n}: parcel arrived soaked", kind="complaint", severity="general", by="li.na"),
            signed_in("li.na"))
        run_id = case.flow_run_id
        if run_id is None:
            raise RuntimeError(f"case {case.case_id} has no flow run: {note}")
        t1, _ = _wait_for(client, run_id, "judgement-1-0")
        samples = [("open", t1 - t0)]
        nudged = 0
        for i, (step, data) in enumerate(SCRIPT):
            following = SCRIPT[i + 1][0] + "-1-0" if i + 1 < len(SCRIPT) else None
            start = time.perf_counter()
            _, note = service.decide(case.case_id, step, dict(data), signed_in(data["by"]))
            if note != "resumed" and not note.startswith("not woken"):
                raise RuntimeError(f"{case.case_id} {step}: {note}")
            # "not woken" (e.g. a 503 from a locked SQLite): the decision is recorded; the
            # nudge in _wait_for re-sends it like `kefu case sync`.
            end, nudges = _wait_for(client, run_id, following, case.case_id, f"{step}-1-0")
            nudged += nudges
            samples.append((step, end - start))
    with lock:
        results["nudges"] += nudged
        results["cases"].append(case.case_id)
        for step, seconds in samples:
            results["latency"][step].append(seconds)


# --- report --------------------------------------------------------------------------------------

def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def main() -> int:
    global POLL
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--spawn", action="store_true",
                        help="if the bench starts the runner: spawn flow-run processes (`flows.serve --spawn`)")
    parser.add_argument("--keep", action="store_true", help="leave a kefu the bench started running")
    parser.add_argument("--poll", type=float, default=POLL,
                        help=f"seconds between read_flow_run polls per case in flight (default {POLL})")
    args = parser.parse_args()
    POLL = args.poll

    settings = get_settings()
    print(f"kefu home {settings.home.resolve()}  api {settings.api_url}")
    print(f"prefect db {os.environ['PREFECT_API_DATABASE_CONNECTION_URL'].split('@')[-1]}  "
          f"kefu db {settings.resolved_database_url.split('@')[-1]}")
    started: list[str] = []
    if not (local.server_healthy() and local._deployments_ready()):
        if args.spawn:
            os.environ["KEFU_RUNNER_START"] = "spawn"  # flows.serve: same as `--spawn`
        t = time.perf_counter()
        started += local.start(announce=lambda _: None)["started"]
        print(f"started {', '.join(started)} in {time.perf_counter() - t:.1f} s")
    else:
        print("using the kefu already running")

    runtime.store()  # create kefu's tables once, before the threads race to do it
    server_log = settings.home / "log" / "prefect-server.log"
    log0 = server_log.stat().st_size if server_log.exists() else 0
    runner, server = _pid("runner"), _pid("prefect-server")
    load0 = Path("/proc/loadavg").read_text().split()[0]
    cpu0 = (tree_cpu(runner), tree_cpu(server), time.process_time())
    results: dict = {"cases": [], "latency": defaultdict(list), "nudges": 0}
    failures: list[str] = []
    lock = threading.Lock()
    wall0 = time.perf_counter()
    try:
        with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
            futures = [pool.submit(run_case, n, results, lock) for n in range(args.cases)]
            for future in futures:
                try:
                    future.result()
                except Exception as exc:  # a figure, not an assertion
                    failures.append(f"{exc.__class__.__name__}: {exc}")
        wall = time.perf_counter() - wall0
        cpu1 = (tree_cpu(runner), tree_cpu(server), time.process_time())
    finally:
        if started and not args.keep:
            local.down()

    done = len(results["cases"])
    actions = [s for step, values in results["latency"].items() if step != "open" for s in values]
    print(f"\n{done}/{args.cases} cases complete, concurrency {args.concurrency}, "
          f"poll {POLL * 1000:.0f} ms, wall {wall:.1f} s, "
          f"{os.cpu_count()} cores, load average {load0} at start, "
          f"{Path('/proc/loadavg').read_text().split()[0]} at end (other work on the machine counts too)")
    print(f"throughput   {done / wall:.3f} complete cases/s  ({len(actions) / wall:.2f} actions/s)")
    if actions:
        print(f"action latency  p50 {pct(actions, .5):.2f} s  p95 {pct(actions, .95):.2f} s  "
              f"max {max(actions):.2f} s  (n={len(actions)})")
    print(f"{'step':<16}{'n':>4}{'p50':>8}{'p95':>8}{'max':>8}{'mean':>8}")
    for step in ["open"] + [s for s, _ in SCRIPT]:
        v = results["latency"].get(step, [])
        if v:
            print(f"{step:<16}{len(v):>4}{pct(v, .5):>8.2f}{pct(v, .95):>8.2f}{max(v):>8.2f}"
                  f"{statistics.fmean(v):>8.2f}")
    cpu = [b - a for a, b in zip(cpu0, cpu1)]
    print(f"CPU s: runner tree {cpu[0]:.1f} ({cpu[0] / max(done, 1):.2f}/case), "
          f"prefect server {cpu[1]:.1f} ({cpu[1] / max(done, 1):.2f}/case), bench {cpu[2]:.1f}; "
          f"machine capacity {wall * (os.cpu_count() or 1):.1f}")
    print(f"resumes that did not take and were re-sent (as `kefu case sync` does): {results['nudges']}")
    if server_log.exists():  # the embedded default logs each refused write (PREFECT_SERVER_LOG_RETRYABLE_ERRORS)
        with server_log.open("rb") as log:
            log.seek(log0)
            refused = log.read().count(b"Encountered retryable exception")
        print(f"requests the Prefect server refused with a retryable error (database is locked): {refused}")
    for failure in failures[:5]:
        print("FAILED", failure)
    if len(failures) > 5:
        print(f"... and {len(failures) - 5} more failures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
