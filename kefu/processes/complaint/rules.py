"""The complaint process's rules (config/complaint.yaml), validated like every other config file:
channels, kinds, severities, keyword classification, who is told at intake, who may act at each
step, and the customer texts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator, Literal

from pydantic import Field, model_validator

from kefu.core.config import Strict
from kefu.core.field_rules import IntakeRules, intake_problems
from kefu.core.texts import template_problems

if TYPE_CHECKING:
    from kefu.core.rules import Rules

# The complaint's steps with a deadline each (sla.yaml), and the one that spans the whole case.
STEPS = ("judgement", "investigation", "proposal", "approval", "implementation", "review")
CASE_WIDE_DEADLINES = ("resolution",)
CONTACT_STEPS = ("answer",)
# What an archived complaint is made of (kefu intake complaints): the register's fields, its
# source's own id and category, and how it ended.
ARCHIVE_FIELDS = ("external_id", "received_at", "closed_at", "channel", "category", "source_category", "content",
                  "name", "phone", "email", "severity", "resolution")


class ClassificationRule(Strict):
    any_of: list[str] = Field(min_length=1)
    kind: str | None = None
    severity: str | None = None
    category: str | None = None

    @model_validator(mode="after")
    def _decides_something(self) -> "ClassificationRule":
        if self.kind is None and self.severity is None and self.category is None:
            raise ValueError("a classification rule needs a kind, a severity or a category")
        return self


class Category(Strict):
    """A line of 《顾客投诉分类统计表》: what a complaint is about, as the statistics count it."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)
    name_en: str = Field(min_length=1)


class Templates(Strict):
    acknowledgement: str
    not_upheld_reply: str
    plan_notice: str
    discipline_note: str
    contact_answer: str


class Answers(Strict):
    # A label for true and for false: 投诉判定 (upheld or not), 实施 (the customer accepts or rejects).
    upheld: dict[bool, str]
    accepted: dict[bool, str]

    @model_validator(mode="after")
    def _both(self) -> "Answers":
        for name in ("upheld", "accepted"):
            if set(getattr(self, name)) != {True, False}:
                raise ValueError(f"answers.{name}: give a label for true and for false")
        return self


class ComplaintRules(Strict):
    channels: list[str] = Field(min_length=1)
    channel_labels: dict[str, str] = {}  # rules on record from before the statistics have none
    kinds: dict[str, Literal["contact", "complaint"]]
    severities: list[str] = Field(min_length=1)
    classification: list[ClassificationRule] = []
    default_kind: str
    default_severity: str
    # Rules on record from before the classification statistics have no categories.
    categories: list[Category] = []
    default_category: str | None = None
    notify_at_intake: dict[str, str] = {}
    permissions: dict[str, list[str] | dict[str, list[str]]]
    templates: Templates
    # What the forms' yes/no pickers show (rules on record from before the pickers have none).
    answers: Answers | None = None
    # How long after a contact arrived it may still be registered with its own time.
    registered_within_days: int = Field(30, ge=1, le=3650)
    # The rules of rows taken in from files (kefu intake complaints); rules on record from before
    # bulk intake have none.
    intake: IntakeRules | None = None

    @model_validator(mode="after")
    def _consistent(self) -> "ComplaintRules":
        if self.default_kind not in self.kinds:
            raise ValueError(f"default_kind: {self.default_kind!r} is not one of kinds {list(self.kinds)}")
        if self.default_severity not in self.severities:
            raise ValueError(
                f"default_severity: {self.default_severity!r} is not one of severities {self.severities}"
            )
        unlabelled = [c for c in self.channels if self.channel_labels and c not in self.channel_labels]
        if unlabelled:
            raise ValueError(f"channel_labels: no Chinese label for {unlabelled}; add each, e.g. {unlabelled[0]}: <中文>")
        ids = [c.id for c in self.categories]
        if len(set(ids)) != len(ids):
            raise ValueError(f"categories: each id once (found {ids})")
        if self.categories and self.default_category not in ids:
            raise ValueError(f"default_category: {self.default_category!r} is not one of categories {ids}")
        for i, rule in enumerate(self.classification):
            if rule.category is not None and rule.category not in ids:
                raise ValueError(f"classification.{i}.category: {rule.category!r} is not one of categories {ids}")
            if rule.kind is not None and rule.kind not in self.kinds:
                raise ValueError(f"classification.{i}.kind: {rule.kind!r} is not one of kinds {list(self.kinds)}")
            if rule.severity is not None and rule.severity not in self.severities:
                raise ValueError(
                    f"classification.{i}.severity: {rule.severity!r} is not one of severities {self.severities}"
                )
        for severity in self.notify_at_intake:
            if severity not in self.severities:
                raise ValueError(f"notify_at_intake.{severity}: not one of severities {self.severities}")
        for step in STEPS + CONTACT_STEPS:
            if step not in self.permissions:
                raise ValueError(f"permissions.{step}: missing; list the roles that may act at this step")
            allowed = self.permissions[step]
            if isinstance(allowed, dict):
                for severity in self.severities:
                    if severity not in allowed:
                        raise ValueError(f"permissions.{step}.{severity}: missing; list the roles for this severity")
        return self

    def category_labels(self) -> dict[str, str]:
        """Each category as people read it, by id: ``{"logistics": "物流配送 Logistics and delivery"}``."""
        return {c.id: f"{c.name} {c.name_en}" for c in self.categories}

    def category(self, category_id: str | None) -> Category | None:
        return next((c for c in self.categories if c.id == category_id), None)

    def roles_for(self, step: str, severity: str | None) -> list[str]:
        """The roles that may act at ``step`` of a case of ``severity`` (permissions)."""
        allowed = self.permissions[step]
        if isinstance(allowed, dict):
            return allowed[severity or self.default_severity]
        return allowed


def complaint_problems(rules: "Rules") -> Iterator[tuple[str, str, str]]:
    """Cross-file checks of complaint.yaml: roles from department.yaml, templates that exist."""
    complaint, roles = rules.complaint, rules.department.roles
    for step, allowed in complaint.permissions.items():
        lists = allowed.items() if isinstance(allowed, dict) else [(None, allowed)]
        for severity, role_list in lists:
            for role in role_list:
                if role not in roles:
                    yield (f"permissions.{step}" + (f".{severity}" if severity else ""), f"unknown role {role!r}",
                           f"use roles from department.yaml: {roles}")
    for severity, role in complaint.notify_at_intake.items():
        if role not in roles:
            yield f"notify_at_intake.{severity}", f"unknown role {role!r}", f"use roles from department.yaml: {roles}"
    if complaint.intake is not None:
        yield from intake_problems(complaint, complaint.intake, ARCHIVE_FIELDS, "a complaint's record")
    yield from template_problems(rules, complaint.templates.model_dump().items())
