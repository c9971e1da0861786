"""Replay checks of the reports: kefu compiled the report while it was being compiled, the person
who signed it off had a role that may (report.yaml, under the rules of the time), and a work log
was written up by its own agent."""

from __future__ import annotations

from kefu.core.identity import SYSTEM
from kefu.core.verdicts import Context, Divergence
from models.case import CaseState, RecordedEvent
from models.report import COMPILE, COMPILED, SIGN_OFF, SIGNED_OFF, WRITE_UP, WRITTEN_UP


def compiled_by_kefu(context: Context, state: CaseState, event: RecordedEvent) -> Divergence | None:
    """The figures are kefu's, read from the record, once: never a person's numbers."""
    if event.actor != SYSTEM:
        return Divergence(event.seq, event.type, "who compiled the report", SYSTEM, event.actor)
    if state.step != COMPILE:
        return Divergence(event.seq, event.type, "the step the report waited at", state.step, COMPILE)
    return None


def signed_off_by_allowed(context: Context, state: CaseState, event: RecordedEvent) -> Divergence | None:
    """The sign-off comes after the compilation, from someone whose role may sign off."""
    if state.step != SIGN_OFF:
        return Divergence(event.seq, event.type, "the step the report waited at", state.step, SIGN_OFF)
    member = context.rules.staff_member(event.actor)
    allowed = context.rules.report.complaint_statistics.sign_off
    if member is None or member.role not in allowed:
        return Divergence(event.seq, event.type, "who may sign off the report", f"one of the roles {allowed}",
                          f"{event.actor} ({'not staff' if member is None else member.role})")
    return None


def written_up_by_its_agent(context: Context, state: CaseState, event: RecordedEvent) -> Divergence | None:
    """A work log's own part is its agent's: written after the compilation, by nobody else."""
    if state.step != WRITE_UP:
        return Divergence(event.seq, event.type, "the step the report waited at", state.step, WRITE_UP)
    if event.actor != state.owner:
        return Divergence(event.seq, event.type, "who may write up the work log", state.owner, event.actor)
    return None


CHECKS = ((COMPILED, compiled_by_kefu), (SIGNED_OFF, signed_off_by_allowed), (WRITTEN_UP, written_up_by_its_agent))
