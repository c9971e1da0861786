"""The consultation/query flow's steps."""

from __future__ import annotations

from kefu import cases, runtime
from models.complaint import CaseState
from tasks import step


@step(name="send-answer")
def send_answer(case_id: str) -> CaseState:
    """Send the recorded answer to the customer, from the bilingual template."""
    return cases.send_answer(runtime.store(), runtime.rules(), case_id)
