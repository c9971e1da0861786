"""kefu.executor.sweep_watch: a sweep run starts only when something is due (issue 17: one run a
minute put 1,440 sweep runs a day on the ops board, nearly all finding nothing)."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from kefu import runtime
from kefu.core import clock
from kefu.escalation import mail
from kefu.executor import sweep_watch


class FakePrefect:
    """The two calls the watch makes, recorded (a real server: tests/flows/test_prefect_visibility.py)."""

    def __init__(self) -> None:
        self.created: list[str] = []

    def read_deployment_by_name(self, name: str) -> SimpleNamespace:
        assert name == "sweep/sweep"
        return SimpleNamespace(id="sweep-deployment")

    def create_flow_run_from_deployment(self, deployment_id: str, *, idempotency_key: str) -> SimpleNamespace:
        self.created.append(idempotency_key)
        return SimpleNamespace(id=f"run-{len(self.created)}")


def _queue_mail() -> None:
    from sqlmodel import Session

    with Session(runtime.store().engine) as session:
        mail.enqueue(session, key="test:watch", to=["sun.li@kefu.example"], subject="s", text="t", html="<p>t</p>")
        session.commit()


def test_no_sweep_run_starts_when_nothing_is_due(kefu_env):
    prefect = FakePrefect()
    assert sweep_watch.start_sweep_if_due(prefect, clock.now()) is None
    assert prefect.created == []


def test_a_due_email_starts_one_sweep_run_per_check_period(kefu_env):
    """Two watchers (or one asking twice) in the same period ask Prefect with the same
    idempotency key: one run; the next period may start the next one."""
    _queue_mail()
    prefect = FakePrefect()
    now = clock.now()
    assert sweep_watch.start_sweep_if_due(prefect, now) == "run-1"
    sweep_watch.start_sweep_if_due(prefect, now + timedelta(seconds=1))
    sweep_watch.start_sweep_if_due(prefect, now + timedelta(seconds=61))
    period = runtime.rules().escalation.sweep_check_seconds
    assert prefect.created[0] == prefect.created[1] == f"sweep:{int(now.timestamp()) // period}"
    assert prefect.created[2] != prefect.created[0]
