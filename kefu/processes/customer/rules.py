"""The customer archive's rules (config/customer.yaml): the classification standard
《客户分类管理标准》 (grades and their criteria), the agents' skills, who assigns, the monthly
refresh reminder, the intake of customer files, and the cross-file checks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator, get_args

from pydantic import Field, field_validator, model_validator

from kefu.core.config import Strict
from kefu.core.field_rules import IntakeRules, intake_problems
from kefu.core.texts import template_problems
from models.customer import ASSIGNMENT, FIRST_CONTACT, PROFILE_FIELDS, Channel

if TYPE_CHECKING:
    from kefu.core.rules import Rules

# Both human steps carry a deadline (sla.yaml): the supervisor's assignment, the owner's first contact.
CUSTOMER_STEPS = (ASSIGNMENT, FIRST_CONTACT)
FLAGS = ("member", "key", "agreement")
# What a row of a customer file is made of (kefu intake customers): the profile and the source's id.
RECORD_FIELDS = ("external_id", *PROFILE_FIELDS)


class Grade(Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,20}$")
    label: str = Field(min_length=1)  # zh-CN first: 重点客户 key customer
    # The flags a customer needs for this grade (all of them); none: everybody not graded above.
    when: dict[str, bool] = {}
    # Only agents with this skill (customer.yaml skills) own customers of this grade.
    skill: str | None = None

    @field_validator("when")
    @classmethod
    def _known_flags(cls, when: dict[str, bool]) -> dict[str, bool]:
        unknown = sorted(set(when) - set(FLAGS))
        if unknown:
            raise ValueError(f"unknown flag {unknown[0]!r}; a grade's criteria use {list(FLAGS)}")
        return when

    def fits(self, flags: dict[str, bool]) -> bool:
        return all(bool(flags.get(name)) == wanted for name, wanted in self.when.items())


class Refresh(Strict):
    day_of_month: int = Field(ge=1, le=28)
    at: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    stale_after_days: int = Field(ge=1, le=366)


class Templates(Strict):
    form: str
    refresh: str


class Labels(Strict):
    channels: dict[str, str]

    @field_validator("channels")
    @classmethod
    def _every_way_named(cls, channels: dict[str, str]) -> dict[str, str]:
        if set(channels) != set(get_args(Channel)):
            raise ValueError(f"give a label for exactly {list(get_args(Channel))}")
        return channels


class CustomerRules(Strict):
    case_id_prefix: str = Field(pattern=r"^[A-Z]{1,4}$")
    grades: list[Grade] = Field(min_length=1)
    skills: dict[str, list[str]] = {}
    assigned_by: list[str] = Field(min_length=1)
    refresh: Refresh
    labels: Labels
    templates: Templates
    intake: IntakeRules

    @model_validator(mode="after")
    def _a_standard(self) -> "CustomerRules":
        ids = [g.id for g in self.grades]
        for i, grade in enumerate(self.grades):
            if grade.id in ids[:i]:
                raise ValueError(f"grades.{i}.id: {grade.id!r} appears twice; grade ids must be unique")
        if self.grades[-1].when:
            raise ValueError(f"grades.{len(self.grades) - 1}.when: the last grade takes everybody not graded above; "
                             "remove its criteria (or add a grade without any)")
        needed = {g.skill for g in self.grades if g.skill}
        held = {skill for skills in self.skills.values() for skill in skills}
        for grade in self.grades:
            if grade.skill and grade.skill not in held:
                raise ValueError(f"grades.{grade.id}.skill: no agent has skill {grade.skill!r}; add it under skills")
        for agent, skills in self.skills.items():
            for skill in skills:
                if skill not in needed:
                    raise ValueError(f"skills.{agent}: {skill!r} is no grade's skill; use one of {sorted(needed)}")
        return self

    def grade_of(self, flags: dict[str, bool]) -> Grade:
        """The customer's grade under the classification standard: the first whose criteria fit."""
        return next(g for g in self.grades if g.fits(flags))

    def grade(self, grade_id: str) -> Grade | None:
        return next((g for g in self.grades if g.id == grade_id), None)

    def rank(self, grade_id: str) -> int:
        """How early a grade's customers are assigned (0 first: key customers)."""
        return next((i for i, g in enumerate(self.grades) if g.id == grade_id), len(self.grades))


def refresh_schedule(rules: "Rules") -> tuple[str, str]:
    """(cron, zone) of the monthly refresh reminder, in the department's zone."""
    refresh = rules.customer.refresh
    hours, minutes = refresh.at.split(":")
    return f"{int(minutes)} {int(hours)} {refresh.day_of_month} * *", rules.department.department.timezone


def customer_problems(rules: "Rules") -> Iterator[tuple[str, str, str]]:
    """Cross-file checks of customer.yaml: staff ids, roles, templates, the intake's fields."""
    customer, staff = rules.customer, {s.id: s for s in rules.department.staff}
    for agent in customer.skills:
        if agent not in staff:
            yield f"skills.{agent}", f"unknown staff id {agent!r}", "use an id from department.yaml staff"
    for role in customer.assigned_by:
        if role not in rules.department.all_roles:
            yield "assigned_by", f"unknown role {role!r}", f"use roles from department.yaml: {rules.department.all_roles}"
    yield from template_problems(rules, customer.templates.model_dump().items())
    yield from intake_problems(customer, customer.intake, RECORD_FIELDS, "a customer's record")
