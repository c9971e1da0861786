"""A complaint (or a consultation, a query) as the classification statistics count it: the row of
``kefu_complaint_fact`` its state makes (models.complaint.ComplaintFact), kept by the store."""

from __future__ import annotations

import hashlib
from typing import Any

from models.case import CaseState
from models.complaint import ARCHIVED_OUTCOME, Step, complaint_of


def customer_key(phone: str | None) -> str | None:
    """Who complained, as a digest of their phone: a repeat complaint is the same key again."""
    digits = "".join(ch for ch in phone or "" if ch.isdigit())
    return hashlib.sha256(digits.encode()).hexdigest()[:16] if digits else None


def fact_of(state: CaseState) -> dict[str, Any]:
    """The case's fact row: what it is, how it was judged, how long it took, what it taught."""
    judgement = state.decision(Step.JUDGEMENT) or {}
    reviews = state.decisions.get(str(Step.REVIEW), {})
    handled = (state.closed_at - state.opened_at).total_seconds() / 3600 \
        if state.closed_at and state.opened_at else None
    if state.outcome == ARCHIVED_OUTCOME and state.intake.get("closed_at") == state.intake.get("received_at"):
        handled = None  # its source said when it arrived, not when it closed: no handling time to count
    return {
        "case_id": state.case_id, "last_seq": state.last_seq, "opened_at": state.opened_at,
        "closed_at": state.closed_at, "process": state.process, "kind": state.kind, "status": state.status,
        "outcome": state.outcome, "archived": state.outcome == ARCHIVED_OUTCOME, "severity": state.severity,
        "category": complaint_of(state).category, "channel": state.intake.get("channel"),
        "department": judgement.get("department"), "upheld": judgement.get("upheld"),
        "rounds": len(state.decisions.get(str(Step.PROPOSAL), {})), "handling_hours": handled,
        "follows": state.intake.get("follows"), "customer": customer_key(state.intake.get("phone")),
        "improvements": [m for review in reviews.values() for m in review.get("improvements", [])],
    }
