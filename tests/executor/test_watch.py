"""kefu.executor.watch: a sweep run starts only when something is due (issue 17: one run a
minute put 1,440 sweep runs a day on the ops board, nearly all finding nothing)."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from people import signed_in

from kefu import runtime
from kefu.core import clock
from kefu.escalation import mail
from kefu.executor import watch


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
    assert watch.start_sweep_if_due(prefect, clock.now()) is None
    assert prefect.created == []


def test_a_due_email_starts_one_sweep_run_per_check_period(kefu_env):
    """Two watchers (or one asking twice) in the same period ask Prefect with the same
    idempotency key: one run; the next period may start the next one."""
    _queue_mail()
    prefect = FakePrefect()
    now = clock.now()
    assert watch.start_sweep_if_due(prefect, now) == "run-1"
    watch.start_sweep_if_due(prefect, now + timedelta(seconds=1))
    watch.start_sweep_if_due(prefect, now + timedelta(seconds=61))
    period = runtime.rules().escalation.sweep_check_seconds
    assert prefect.created[0] == prefect.created[1] == f"sweep:{int(now.timestamp()) // period}"
    assert prefect.created[2] != prefect.created[0]


# -- reconcile: open cases whose runs ended run again, a bounded number of times ------------------

class _Runs:
    """Prefect's answer to reconcile's one query: the runs by id, as a sync client gives them."""

    def __init__(self, runs: list[SimpleNamespace]) -> None:
        self.runs = runs

    def read_flow_runs(self, **_: object) -> list[SimpleNamespace]:
        return self.runs

    def read_flow_run_states(self, run_id: str) -> list[SimpleNamespace]:
        run = next(r for r in self.runs if r.id == run_id)
        return [SimpleNamespace(message=m) for m in run.messages]


def _state(name: str, final: bool, completed: bool = False) -> SimpleNamespace:
    return SimpleNamespace(name=name, is_final=lambda: final, is_completed=lambda: completed,
                           is_paused=lambda: name == "Suspended", state_details=SimpleNamespace(pause_key="judgement-1-0"))


def test_reconcile_runs_again_only_the_open_cases_whose_runs_ended_and_not_forever(kefu_env, monkeypatch):
    """Issue 18 (recovery needs no operator): a crashed or failed run of an open case runs again;
    a suspended or completed one is left alone; a run kefu already ran again RERUNS times is left for
    a person, however many human steps resumed it (each resume counts in Prefect's run_count)."""
    from kefu.core import casework
    from kefu.executor import orchestration
    from kefu.processes.complaint import decisions as complaints
    from models.complaint import ContactRegistration

    store, rules = runtime.store(), runtime.rules()
    ids = [complaints.register_contact(store, rules, ContactRegistration(
        name=f"客户{n}", phone="13812345678", channel="phone", content="快递送错了")).case_id for n in range(4)]
    states = [_state("Crashed", True), _state("Suspended", False), _state("Completed", True, completed=True),
              _state("Failed", True)]
    runs = []
    for n, (case_id, state) in enumerate(zip(ids, states)):
        run_id = f"00000000-0000-4000-8000-00000000000{n}"
        casework.link_flow_run(store, rules, case_id, run_id)
        reruns = [f"{orchestration._RERUN}: its run had ended"] * (orchestration.RERUNS if n == 3 else 0)
        runs.append(SimpleNamespace(id=run_id, state=state, run_count=7,
                                    messages=["Resumed", *reruns, "Run resumed"]))
    caught_up: list[str] = []
    monkeypatch.setattr(orchestration, "_ours", lambda client: None)
    monkeypatch.setattr(orchestration, "catch_up", lambda state: caught_up.append(state.case_id) or "rerun")

    done = orchestration.reconcile(_Runs(runs))
    assert caught_up == [ids[0]]
    assert done[ids[0]] == "rerun" and "left for a person" in done[ids[3]]
    assert ids[1] not in done and ids[2] not in done


def test_reconcile_resumes_a_run_whose_decision_is_recorded_but_whose_resume_never_reached_prefect(
        kefu_env, monkeypatch):
    """Issue 18 (a decision in flight when the Prefect server dies): the CLI recorded the
    judgement and said the case continues when Prefect is back; the run still waits at judgement.
    The watch's next period resumes it; a run that waits at the step the record waits at too is
    left for its person."""
    from kefu import processes
    from kefu.core import casework
    from kefu.executor import orchestration
    from kefu.processes.complaint import decisions as complaints
    from models.complaint import ContactRegistration

    store, rules = runtime.store(), runtime.rules()
    ids = [complaints.register_contact(store, rules, ContactRegistration(
        name=f"客户{n}", phone="13812345678", channel="phone", content="快递送错了")).case_id for n in range(2)]
    decided = store.state(ids[0])
    with signed_in("li.na"):
        processes.record_input(store, rules, decided, "judgement", processes.parse_input(decided, "judgement", {
            "upheld": True, "department": "logistics", "reason": "包裹淋湿", "by": "li.na"}))
    runs = []
    for n, case_id in enumerate(ids):
        run_id = f"00000000-0000-4000-8000-00000000001{n}"
        casework.link_flow_run(store, rules, case_id, run_id)
        waiting = SimpleNamespace(name="Suspended", is_final=lambda: False, is_completed=lambda: False,
                                  is_paused=lambda: True, state_details=SimpleNamespace(pause_key="judgement-1-0"))
        runs.append(SimpleNamespace(id=run_id, state=waiting, run_count=1, messages=[]))
    caught_up: list[str] = []
    monkeypatch.setattr(orchestration, "_ours", lambda client: None)
    monkeypatch.setattr(orchestration, "catch_up", lambda state: caught_up.append(state.case_id) or "resumed")

    assert orchestration.reconcile(_Runs(runs)) == {ids[0]: "resumed"} and caught_up == [ids[0]]
