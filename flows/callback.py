"""P2 Callback guarantee 回访 — one flow run per callback (PROCESSES.md P2; seed 001 客户服务部
工作职责及规范 "一个避免，三个必保", 回访流程).

Pick the customers due → distribute them to agents → contact by phone (or e-mail, SMS) → record
each result in 《回访记录表》 → an unsatisfied answer becomes a new complaint. The run is safe
to start again at any moment: each step asks the case record whether it is done.
"""

from __future__ import annotations

from datetime import date

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from flows.visibility import case_finished
from flows.waiting import decision_of, read_case
from kefu import runtime
from kefu.core import clock
from models.callback import CALL, callback_of
from tasks.callback import announce_call, open_follow_up_complaint, select_due_customers, write_callback_report


@flow(name="callback", log_prints=True, on_completion=[case_finished])
async def callback(case_id: str) -> str:
    """Call one customer back until they answer, or are unreachable after the attempts in config."""
    case = read_case(case_id)
    # 1.–2. Picked (a closed complaint, a finished repair, the archive) and given to the agent
    #    with the fewest open callbacks, at a time outside the customer's quiet hours: done when
    #    the callback opened (kefu.processes.callback.decisions.open_callback).

    # 3. The call, attempt after attempt, each one a line of 《回访记录表》. The customer hears
    #    when we will call; "not convenient" and "unreachable" book the next attempt.
    while case.status == "open":
        attempt = callback_of(case).next_attempt
        if f"callback_notice:{attempt}" not in case.notices:
            announce_call(case_id)
        await decision_of(case_id, CALL, attempt)
        case = read_case(case_id)

    # 4. Unsatisfied: a new problem to work on — a complaint linked to the original case.
    if case.outcome == "unsatisfied" and callback_of(case).follow_up is None:
        open_follow_up_complaint(case_id)
    return case.outcome


@flow(name="callback-selection", log_prints=True)
def callback_selection() -> list[str]:
    """Daily: key customers every two months, and the occasions that have come up (callback.yaml)."""
    today = clock.now().astimezone(runtime.rules().department.department.zone).date()
    return select_due_customers(today)


@flow(name="callback-report", log_prints=True)
def callback_report(first: date, last: date, out: str) -> dict[str, str]:
    """《回访总结报告》 for a period: the files, and the same table as a dashboard artifact."""
    report = write_callback_report(first, last, out)
    create_markdown_artifact(key="callback-summary", markdown=report["text"],
                             description=f"回访总结报告 Callback summary {first} – {last}")
    return report
