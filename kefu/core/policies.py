"""SLA policies and escalation ladders (config/sla.yaml, config/escalation.yaml)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from kefu.core.config import Strict

# What a deadline the customer booked shows as its allowance (a callback's booked time).
CUSTOMER_CHOICE = "the customer's choice"
ALLOWANCE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s+(working\s+)?(minute|minutes|hour|hours|day|days)\s*$")


class Allowance(BaseModel):
    """``24 working hours`` → amount 24 h on the working basis; ``5 days`` → 5 calendar days."""

    model_config = ConfigDict(frozen=True)

    text: str
    amount: timedelta
    basis: Literal["working", "calendar"]


def _allowance(value: Any) -> Any:
    if isinstance(value, Allowance):
        return value
    match = ALLOWANCE.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{value!r} is not an allowance; write it like '24 working hours', '2 hours' or '3 days'")
    number, working, unit = match.groups()
    if working and unit.startswith("day"):
        raise ValueError(f"{value!r}: working days are ambiguous; write working hours (e.g. '16 working hours')")
    unit = unit.rstrip("s") + "s"
    return Allowance(text=value.strip(), amount=timedelta(**{unit: float(number)}),
                     basis="working" if working else "calendar")


AllowanceField = Annotated[Allowance, BeforeValidator(_allowance)]


class SlaPolicy(Strict):
    process: str
    step: str
    severity: list[str] | None = None
    allow: AllowanceField

    def matches(self, process: str, step: str, severity: str | None) -> bool:
        return (self.process == process and self.step == step
                and (self.severity is None or severity in self.severity))


class SlaRules(Strict):
    calendar: str
    # Where each process's numbers come from, quoted in every escalation e-mail.
    sources: dict[str, str] = {}
    policies: list[SlaPolicy] = Field(min_length=1)

    def policy_for(self, process: str, step: str, severity: str | None) -> tuple[int, SlaPolicy]:
        for index, policy in enumerate(self.policies):
            if policy.matches(process, step, severity):
                return index, policy
        raise LookupError(f"no SLA policy for {process} {step} {severity}")


class Rung(Strict):
    at: Annotated[float, BeforeValidator(lambda v: _percent(v))]
    notify: str
    kind: Literal["reminder", "breach"] = "breach"


def _percent(value: Any) -> float:
    if isinstance(value, str) and re.fullmatch(r"\s*\d+(\.\d+)?\s*%\s*", value):
        return float(value.strip().rstrip("%")) / 100
    raise ValueError(f"{value!r} is not a share of the allowed time; write it like 50% or 150%")


class LadderChoice(Strict):
    process: str | None = None
    severity: list[str] | None = None
    ladder: str


class EscalationRules(Strict):
    ladders: dict[str, list[Rung]]
    use: list[LadderChoice] = Field(min_length=1)
    # How often kefu looks for a due rung or e-mail; a sweep run starts only when there is one.
    sweep_check_seconds: int = Field(default=60, ge=5, le=3600)
    # A flow run silent this long (no heartbeat, every 30 s while it runs) is Crashed and its
    # case runs again: the host or worker running it died.
    run_silent_seconds: int = Field(default=90, ge=60, le=3600)

    @model_validator(mode="after")
    def _consistent(self) -> "EscalationRules":
        for name, rungs in self.ladders.items():
            if not rungs:
                raise ValueError(f"ladders.{name}: empty; give at least one rung")
            shares = [r.at for r in rungs]
            if shares != sorted(shares) or len(set(shares)) != len(shares):
                raise ValueError(f"ladders.{name}: rungs must climb; order them by 'at', each share once")
        for i, choice in enumerate(self.use):
            if choice.ladder not in self.ladders:
                raise ValueError(f"use.{i}.ladder: unknown ladder {choice.ladder!r}; use one of {list(self.ladders)}")
        if self.use[-1].process is not None or self.use[-1].severity is not None:
            raise ValueError("use: the last entry must match everything; end with {ladder: <name>}")
        return self

    def ladder_for(self, process: str, severity: str | None) -> tuple[str, list[Rung]]:
        for choice in self.use:
            if (choice.process in (None, process)) and (choice.severity is None or severity in choice.severity):
                return choice.ladder, self.ladders[choice.ladder]
        raise LookupError(process)  # unreachable: the last entry matches everything
