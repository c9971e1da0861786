"""Drill: scale-out as docs/scale-out.md says it, and a worker host killed mid-step (issue 18).

On this machine, step by step as the page says: kefu's and Prefect's databases on PostgreSQL, a
Prefect server, the work pool and `prefect deploy --all`, **two** `prefect worker start --pool
kefu`, and `kefu sweep --watch`. Complaints, an order and a callback run through by the CLI.
Mid-way, the worker running a step is killed with SIGKILL together with that run's process (a
host that dies); the case goes on, on the other worker, with nothing lost or recorded twice, and
the auditor's verify and replay find every case clean. It prints what it did and counted.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import psycopg
import pytest
from awake import awake_zone
from drills.department import BIN, Department

from kefu import processes

pytestmark = pytest.mark.postgres

PG = "postgresql://postgres@127.0.0.1:5432"
ZONE = ZoneInfo("Asia/Shanghai")


class ScaleOut(Department):
    """The page's topology on one machine: both databases on PostgreSQL, the server, the workers."""

    def __init__(self, home: Path) -> None:
        suffix = uuid.uuid4().hex[:10]
        self.databases = {"kefu": f"kefu_drill_{suffix}", "prefect": f"prefect_drill_{suffix}"}
        # "Every host needs the same environment" (docs/scale-out.md, set-up).
        super().__init__(home, KEFU_DATABASE_URL=f"{PG}/{self.databases['kefu']}",
                         PREFECT_FLOWS_HEARTBEAT_FREQUENCY="30", PREFECT_WORKER_QUERY_SECONDS="2")
        del self.env["KEFU_PREFECT_PORT"]  # no embedded server: PREFECT_API_URL says where it is

    def create_databases(self) -> None:
        with psycopg.connect(f"{PG}/test", autocommit=True) as conn:
            for name in self.databases.values():
                conn.execute(f'CREATE DATABASE "{name}"')

    def start_server(self) -> None:
        self.start("prefect-server", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(self.port),
                   PREFECT_API_DATABASE_CONNECTION_URL=f"postgresql+asyncpg://postgres@127.0.0.1:5432/"
                                                       f"{self.databases['prefect']}")
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{self.api}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, (self.logs / "prefect-server.log").read_text()[-3000:]
            time.sleep(0.5)

    def stop(self) -> None:
        super().stop()
        with psycopg.connect(f"{PG}/test", autocommit=True) as conn:
            for name in self.databases.values():
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _parent(pid: int) -> int:
    text = Path(f"/proc/{pid}/stat").read_text()
    return int(text[text.rindex(")") + 2:].split()[1])


@pytest.fixture
def scale_out(tmp_path):
    drill = ScaleOut(tmp_path)
    drill.create_databases()
    try:
        yield drill
    finally:
        drill.stop()


def test_two_workers_run_every_case_and_a_worker_killed_mid_step_loses_nothing(scale_out):
    """Issue 18 (scale-out on Prefect's machinery; recovery needs no operator): two workers on a
    process pool run complaints, an order and a callback; the worker running a step dies with its
    run (SIGKILL); Prefect marks the silent run Crashed, kefu's watch runs the case again on the
    other worker, and every case ends with each decision recorded once, verify and replay clean."""
    s = scale_out
    started = time.monotonic()
    # 2. The Prefect API server. 3. The work pool and every deployment, from the checkout's root.
    s.start_server()
    s.run("prefect", "work-pool", "create", "kefu", "--type", "process")
    deployed = s.run("prefect", "--no-prompt", "deploy", "--all", timeout=600)
    # Counted on the server, not in the command's boxed output (a long name wraps its line there).
    names = {d["name"] for d in httpx.post(f"{s.api}/deployments/filter", json={}, timeout=10).json()}
    assert names == {d.name for _, d in processes.deployments()} | {"audit-replay", "sweep"}, deployed.stdout[-3000:]
    # 4. Two workers. 5. The watch.
    for worker in ("worker-1", "worker-2"):
        s.start(worker, "prefect", "worker", "start", "--pool", "kefu", "--name", worker)
    s.start("watch", str(BIN / "kefu"), "sweep", "--watch")
    s.sign_in_staff()
    set_up = time.monotonic() - started

    # Complaints: two through every step; the first one's judgement is where a worker dies.
    # Customers awake now (tests/awake.py): their callbacks' calls are not refused as in their rest hours.
    zone = awake_zone()
    complaints = [s.kefu("complaint", "open", "--name", name, "--phone", "13800138000", "--channel", "phone",
                         "--content", content, "--timezone", zone)["case_id"]
                  for name, content in [("张伟", "收到的墙纸有破损"), ("李娜", "快递员态度恶劣")]]
    runs = {case: s.kefu("case", "show", case)["flow_run_id"] for case in complaints}
    for case in complaints:
        s.wait_until_waiting_at(runs[case], "judgement", 120)

    # The kill: the judgement's run, once it is Running on a worker, dies with that worker.
    victim = complaints[0]
    # Watched from the moment it is typed: the watch may resume the run before the command does.
    with ThreadPoolExecutor(1) as pool:
        judging = pool.submit(s.kefu, "complaint", "judge", victim, "--upheld", "--department", "quality",
                              "--reason", "质检记录显示破损", by="li.na")
        deadline = time.monotonic() + 60
        while True:
            run = s.flow_run(runs[victim])
            pid = run.get("infrastructure_pid")
            if run["state"]["type"] == "RUNNING" and pid:
                break
            assert time.monotonic() < deadline, f"the run never ran: {run['state']}"
            time.sleep(0.02)
        child = int(str(pid).rsplit(":", 1)[-1])
        killed_worker = next(name for name, p in s.processes.items() if name.startswith("worker") and p.pid == _parent(child))
        os.killpg(s.processes[killed_worker].pid, signal.SIGKILL)
        os.kill(child, signal.SIGKILL)
        killed_at = time.monotonic()
        judging.result()
    assert s.flow_run(runs[victim])["state"]["type"] == "RUNNING"  # mid-step: nothing told Prefect

    def recovered() -> float:
        run = s.wait_until_waiting_at(runs[victim], "investigation", 240)
        assert run["id"] == runs[victim]  # the same run, on the ops board once
        return time.monotonic() - killed_at

    def complaint_through(case: str) -> None:
        if case != victim:
            s.kefu("complaint", "judge", case, "--upheld", "--department", "logistics", "--reason", "快递公司承认", by="li.na")
        s.kefu("complaint", "investigate", case, "--cause", "包装不足", "--responsible", "wang.fang", by="li.na")
        s.kefu("complaint", "propose", case, "--option", "换货", "--option", "退款 50 元", by="li.na")
        s.kefu("complaint", "approve", case, "--choice", "1", by="chen.jing")
        s.wait_until_waiting_at(runs[case], "implementation", 120)  # the run tells the customer the plan first
        s.kefu("complaint", "implement", case, "--accepted", "--signature", "客户签字", by="li.na")
        s.kefu("complaint", "review", case, "--summary", "已换货，包装改进", by="chen.jing")

    def order_through() -> str:
        ship_by = today + timedelta(days=3)
        order = s.kefu("order", "new", "--buyer", "刘贺", "--phone", "13812345678", "--agent", "li.na", "--item",
                       "墙纸 3m×2.5m", "--ship-by", ship_by.isoformat(), "--deliver-by",
                       (ship_by + timedelta(days=2)).isoformat(), "--delivery", "自提")["order_id"]
        s.kefu("order", "step", "stock-check", order, "--note", "仓库有货", by="ma.lin")
        s.kefu("order", "paid", order, by="li.na")
        s.kefu("order", "remark", order, "--text",
               f"刘贺,3米*2.5米,图案正常,{ship_by.month}月{ship_by.day}日发货,自提。送胶。", by="li.na")
        s.kefu("order", "step", "finance-confirmation", order, by="he.jing")
        s.kefu("order", "verify", order, "--confirmation", "旺旺 买家：刘贺，3*2.5，图案正常，自提，确认", by="li.na")
        s.kefu("order", "step", "director-approval", order, by="qian.hong")
        s.kefu("order", "step", "handover", order, "--note", "已传制作部", by="li.na")
        s.kefu("order", "shipped", order, "--tracking", "SF1234567890", by="ma.lin")
        s.wait_until_waiting_at(s.kefu("case", "show", order)["flow_run_id"], "delivery", 120)  # the buyer hears
        s.kefu("order", "delivered", order, by="li.na")
        return order

    # While the killed case waits to be found, the other people go on working: their cases run
    # on the surviving worker.
    today = datetime.now(ZONE).date()
    with ThreadPoolExecutor(3) as pool:
        others = [pool.submit(complaint_through, case) for case in complaints if case != victim]
        ordering = pool.submit(order_through)
        recovery = recovered()
        complaint_through(victim)
        order = ordering.result()
        for other in others:
            other.result()

    # Nothing lost: every complaint and the order closed.
    deadline = time.monotonic() + 120
    while any(s.kefu("case", "show", c)["status"] != "closed" for c in [*complaints, order]):
        assert time.monotonic() < deadline, "a case did not close"
        time.sleep(1)

    # The callbacks the reviews opened: the customer asks for tomorrow 10:00 (their time).
    callbacks = [c["case_id"] for c in s.kefu("case", "list", "--status", "open") if c["process"] == "callback"]
    assert len(callbacks) == len(complaints)
    tomorrow = datetime.combine(datetime.now(ZoneInfo(zone)).date() + timedelta(days=1),
                                datetime.min.time().replace(hour=10), ZoneInfo(zone))
    for callback in callbacks:
        run = s.kefu("case", "show", callback)["flow_run_id"]
        s.wait_until_waiting_at(run, "call", 120)
        s.kefu("callback", "record", callback, "--outcome", "not_convenient", "--at", tomorrow.isoformat(), by="li.na")
        s.wait_until_waiting_at(run, "call-2", 120)

    # Nothing done twice: no event recorded twice with the same content.
    events, twice = s.recorded_twice([*complaints, order, *callbacks])
    assert twice == []
    verified, replayed = s.audited()
    survivor = "worker-2" if killed_worker == "worker-1" else "worker-1"
    assert s.processes[survivor].poll() is None
    print(f"\ndrill two-workers: set-up {set_up:.0f} s (server, pool, {len(processes.deployments()) + 2} deployments, 2 workers, watch); "
          f"cases {len(complaints)} complaints + 1 order + {len(callbacks)} callbacks; events {events}; "
          f"killed {killed_worker} and its run mid-step; the case waited at its next step again {recovery:.0f} s later "
          f"(run_silent_seconds 60 + watch 5 s); lost 0; recorded twice 0; verify {verified} clean; "
          f"replay {replayed} consistent; total {time.monotonic() - started:.0f} s")
