"""The order process's rules (config/order.yaml), validated like every other config file."""

from __future__ import annotations

import re
from datetime import time
from typing import TYPE_CHECKING, Iterator

from pydantic import Field, field_validator, model_validator

from kefu.core.config import Strict
from kefu.core.policies import AllowanceField
from kefu.core.texts import template_problems

if TYPE_CHECKING:
    from kefu.core.rules import Rules

# The order's steps in the order the chain runs them (seed 001 订单的接收与处理, seed 000 第四篇).
# ``shipment`` and ``delivery`` are due on dates agreed with the buyer; ``chase-reply`` is the
# window an instant-message chase gets before the agent must phone.
ORDER_CHAIN = ("stock-check", "payment", "remark", "finance-confirmation", "verification",
               "director-approval", "handover", "shipment", "delivery", "invoice")
# Deadlines whose due time is a date agreed with the buyer, not an sla.yaml allowance.
AGREED_DATE_STEPS = {"shipment": "ship_by", "delivery": "deliver_by"}
# The steps whose deadline sla.yaml allows (every one needs a policy there).
ORDER_DEADLINE_STEPS = tuple(s for s in ORDER_CHAIN if s not in AGREED_DATE_STEPS) + ("chase-reply",)


class SizeLimits(Strict):
    max_width_m: float = Field(gt=0)
    max_height_m: float = Field(gt=0)


class ChainOwner(Strict):
    role: str | None = None
    department: str | None = None

    @model_validator(mode="after")
    def _one_owner(self) -> "ChainOwner":
        if (self.role is None) == (self.department is None):
            raise ValueError("give exactly one of role (owner or a department.yaml role) or department")
        return self


class ChaseRules(Strict):
    first_via: str
    then_via: str


class OrderTemplates(Strict):
    after_care: str
    tracking_notice: str
    form: str
    amendment_notice: str  # e-mails: <name>.subject.j2, .txt.j2, .html.j2
    chase_message: str

    def files(self, field: str) -> list[str]:
        name = getattr(self, field)
        return [name] if name.endswith(".j2") else [f"{name}.{part}.j2" for part in ("subject", "txt", "html")]


class OrderRules(Strict):
    case_id_prefix: str = Field(pattern=r"^[A-Z]{1,4}$")
    delivery_modes: dict[str, list[str]] = Field(min_length=1)
    patterns: dict[str, list[str]] = Field(min_length=1)
    size_limits: SizeLimits
    ship_date_past_window_days: int = Field(ge=0, le=300)
    agreed_due_local_time: time
    agreed_date_ladder_span: AllowanceField
    urgencies: list[str] = Field(min_length=1)
    default_urgency: str
    chase: ChaseRules
    supervisor_role: str
    offline_after: AllowanceField
    chain: dict[str, ChainOwner]
    templates: OrderTemplates

    @field_validator("agreed_due_local_time", mode="before")
    @classmethod
    def _hh_mm(cls, value: object) -> object:
        if isinstance(value, str) and not re.fullmatch(r"\d{2}:\d{2}", value):
            raise ValueError(f"{value!r} is not a local time; write it like \"18:00\"")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "OrderRules":
        if self.default_urgency not in self.urgencies:
            raise ValueError(f"default_urgency: {self.default_urgency!r} is not one of urgencies {self.urgencies}")
        for step in ORDER_CHAIN:
            if step not in self.chain:
                raise ValueError(f"chain.{step}: missing; name the role or department that owns this hand-over")
        for step in self.chain:
            if step not in ORDER_CHAIN:
                raise ValueError(f"chain.{step}: unknown step; use one of {list(ORDER_CHAIN)}")
        for key, table in (("delivery_modes", self.delivery_modes), ("patterns", self.patterns)):
            seen: dict[str, str] = {}
            for value, words in table.items():
                for word in [value, *words]:
                    if seen.setdefault(word, value) != value:
                        raise ValueError(f"{key}.{value}: the word {word!r} also names {seen[word]!r}; "
                                         "give each word to one value")
        return self

    def delivery_mode(self, word: str) -> str | None:
        """The delivery mode a word names (``自提`` or ``self_pickup``), or None."""
        return _lookup(self.delivery_modes, word)

    def pattern(self, word: str) -> str | None:
        return _lookup(self.patterns, word)


def _lookup(table: dict[str, list[str]], word: str) -> str | None:
    word = word.strip()
    return next((value for value, words in table.items() if word == value or word in words), None)


def order_problems(rules: "Rules") -> Iterator[tuple[str, str, str]]:
    """Cross-file checks of order.yaml: roles and departments from department.yaml, templates."""
    order, roles = rules.order, rules.department.all_roles
    departments = [d.id for d in rules.department.departments]
    for step, owner in order.chain.items():
        if owner.role is not None and owner.role not in ("owner", *roles):
            yield f"chain.{step}.role", f"unknown role {owner.role!r}", f"use owner or a role from department.yaml: {roles}"
        if owner.department is not None and owner.department not in departments:
            yield (f"chain.{step}.department", f"unknown department {owner.department!r}",
                   f"use one of department.yaml departments: {departments}")
    if order.supervisor_role not in rules.department.roles:
        yield "supervisor_role", f"unknown role {order.supervisor_role!r}", f"use a role from department.yaml: {roles}"
    yield from template_problems(rules, ((field, template) for field in order.templates.model_dump()
                                         for template in order.templates.files(field)))
