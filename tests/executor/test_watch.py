"""kefu.executor.watch: a sweep run starts only when something is due (issue 17: one run a
minute put 1,440 sweep runs a day on the ops board, nearly all finding nothing)."""

from __future__ import annotations

from datetime import timedelta

from people import signed_in

from kefu import runtime
from kefu.core import clock
from kefu.escalation import mail
from kefu.executor import watch
from kefu.executor.prefect_api import FlowRun, RunState


class FakePrefect:
    """The two calls the watch makes, recorded (a real server: tests/flows/test_prefect_visibility.py)."""

    def __init__(self) -> None:
        self.created: list[str] = []

    def deployment_id(self, name: str) -> str:
        assert name == "sweep/sweep"
        return "sweep-deployment"

    def create_flow_run(self, deployment_id: str, idempotency_key: str) -> FlowRun:
        self.created.append(idempotency_key)
        return FlowRun(f"run-{len(self.created)}", None)


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
    """Prefect's answer to reconcile's one query (the runs by id) and to its states of a run."""

    def __init__(self, runs: list[tuple[FlowRun, list[str]]]) -> None:
        self.runs = dict((run.id, (run, messages)) for run, messages in runs)

    def read_flow_runs(self, run_ids: list[str]) -> list[FlowRun]:
        return [self.runs[i][0] for i in run_ids if i in self.runs]

    def read_states(self, run_id: str) -> list[RunState]:
        return [RunState("SCHEDULED", "Scheduled", message=m) for m in self.runs[run_id][1]]


_TYPES = {"Crashed": "CRASHED", "Suspended": "PAUSED", "Completed": "COMPLETED", "Failed": "FAILED"}


def _state(name: str) -> RunState:
    return RunState(_TYPES[name], name, pause_key="judgement-1-0" if name == "Suspended" else None)


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
    states = [_state("Crashed"), _state("Suspended"), _state("Completed"), _state("Failed")]
    runs = []
    for n, (case_id, state) in enumerate(zip(ids, states)):
        run_id = f"00000000-0000-4000-8000-00000000000{n}"
        casework.link_flow_run(store, rules, case_id, run_id)
        reruns = [f"{orchestration._RERUN}: its run had ended"] * (orchestration.RERUNS if n == 3 else 0)
        runs.append((FlowRun(run_id, state), ["Resumed", *reruns, "Run resumed"]))
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
        runs.append((FlowRun(run_id, _state("Suspended")), []))
    caught_up: list[str] = []
    monkeypatch.setattr(orchestration, "_ours", lambda client: None)
    monkeypatch.setattr(orchestration, "catch_up", lambda state: caught_up.append(state.case_id) or "resumed")

    assert orchestration.reconcile(_Runs(runs)) == {ids[0]: "resumed"} and caught_up == [ids[0]]
