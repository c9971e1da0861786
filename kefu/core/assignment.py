"""Who takes a new case: the agent holding the fewest open ones (PROCESSES.md P5: "按照负责客户
数量均衡" — balance the number per agent), the first listed on a tie."""

from __future__ import annotations

from typing import Mapping, Sequence

from kefu.core.rules import Rules
from kefu.core.store import CaseStore


def agents(rules: Rules) -> list[str]:
    """The staff in the first role of department.yaml (the agents who own cases)."""
    return [s.id for s in rules.department.staff if s.role == rules.department.roles[0]]


def least_loaded(candidates: Sequence[str], load: Mapping[str, int]) -> str:
    return min(candidates, key=lambda agent: (load.get(agent, 0), candidates.index(agent)))


def assign_owner(store: CaseStore, rules: Rules, registered_by: str) -> str:
    """The agent who owns a new case: the one who took it, or else the least loaded agent."""
    member = rules.staff_member(registered_by)
    if member is not None and member.role == rules.department.roles[0]:
        return member.id
    return least_loaded(agents(rules), store.open_cases_by_owner())
