"""The consultation/query flow's steps (P1's short branch: its decisions live with the complaint's)."""

from __future__ import annotations

from kefu import runtime
from kefu.processes.complaint import decisions as complaints
from models.case import CaseState
from tasks import step


@step(name="send-answer")
def send_answer(case_id: str) -> CaseState:
    """Send the recorded answer to the customer, from the bilingual template."""
    return complaints.send_answer(runtime.store(), runtime.rules(), case_id)
