"""The field rules a file's rows are validated by, as a process's config writes them (its
``intake:`` section): each rule becomes one Great Expectations expectation (``kefu.intake``), so a
new rule in config is checked without code.

```yaml
intake:
  fields:
    external_id: {required: true, unique: true, max_length: 120}
    received_at: {required: true, type: datetime, not_future: true}
    channel: {required: true, one_of: channels}   # a list key of the same file, or a list
    phone: {pattern: phone}                       # phone | email | a regular expression
  open: {phone: {required: true}}                 # more rules when rows open live cases
  open_per_second: 5
```
"""

from __future__ import annotations

import re
from typing import Iterator, Literal, Sequence

from pydantic import BaseModel, Field, field_validator

from kefu.core.config import Strict
from models.case import EMAIL_PATTERN, PHONE_PATTERN

NAMED_PATTERNS = {"phone": PHONE_PATTERN, "email": EMAIL_PATTERN}


class FieldRule(Strict):
    required: bool = False
    # Within the file and against what an earlier import stored: a repeat with the same content is
    # a duplicate (counted, not imported twice), with other content a quarantined conflict.
    unique: bool = False
    type: Literal["text", "datetime", "boolean"] = "text"
    not_future: bool = False
    one_of: str | list[str] | None = None
    pattern: str | None = None
    max_length: int | None = Field(default=None, ge=1)

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is None or value in NAMED_PATTERNS:
            return value
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression ({exc}); write one, or phone / email") from None
        return value

    @property
    def regex(self) -> str | None:
        return NAMED_PATTERNS.get(self.pattern, self.pattern) if self.pattern else None

    def merged(self, more: "FieldRule") -> "FieldRule":
        """This rule with ``more``'s settings on top (the rules a live case adds)."""
        return self.model_copy(update=more.model_dump(exclude_unset=True))


class IntakeRules(Strict):
    fields: dict[str, FieldRule] = Field(min_length=1)
    open: dict[str, FieldRule] = {}
    open_per_second: float = Field(5, gt=0, le=100)

    def for_mode(self, mode: str) -> dict[str, FieldRule]:
        """The field rules of archive rows, or of rows that open live cases (``open`` on top)."""
        if mode != "open":
            return dict(self.fields)
        return {name: (self.fields[name].merged(rule) if name in self.fields else rule)
                for name, rule in {**self.fields, **self.open}.items()}


def intake_problems(section: BaseModel, intake: IntakeRules, record_fields: Sequence[str],
                    record: str) -> Iterator[tuple[str, str, str]]:
    """Problems of a section's ``intake:`` rules: its ``one_of`` references, and fields that are
    not among ``record_fields`` (what a ``record`` — "a complaint's record" — is made of)."""
    yield from _sets_of(section, intake)
    for group in ("fields", "open"):
        for name in getattr(intake, group):
            if name not in record_fields:
                yield (f"intake.{group}.{name}", f"is not a field of {record}", f"use one of {', '.join(record_fields)}")


def _sets_of(section: BaseModel, intake: IntakeRules) -> Iterator[tuple[str, str, str]]:
    """Problems of ``intake``'s ``one_of`` references (a list key of ``section``, the same file):
    ``(key, problem, fix)``."""
    for group, rules in (("fields", intake.fields), ("open", intake.open)):
        for name, rule in rules.items():
            if isinstance(rule.one_of, str):
                value = getattr(section, rule.one_of, None)
                if not isinstance(value, (list, tuple)):
                    yield (f"intake.{group}.{name}.one_of", f"{rule.one_of!r} is not a list in this file",
                           "name a list key of this file (e.g. channels), or give the values as a list")
        for name in intake.open:
            if name not in intake.fields:
                yield (f"intake.open.{name}", "is not one of intake.fields",
                       f"add {name} under intake.fields, or remove it here")


def allowed_values(section: BaseModel, rule: FieldRule) -> list[str] | None:
    """The values ``rule.one_of`` allows (a list key of ``section``, or the list itself)."""
    if rule.one_of is None:
        return None
    values = getattr(section, rule.one_of) if isinstance(rule.one_of, str) else rule.one_of
    return [str(getattr(v, "id", v)) for v in values]  # a list of named things allows their ids
