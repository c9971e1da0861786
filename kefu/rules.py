"""The department's rules, loaded from ``config/`` and validated before anything uses them.

A bad file fails at load with the file, the key and the fix. The rules carry a version
(a hash of every file in the folder) that each recorded event keeps, so an auditor can
tell which rules were in force when a decision was taken.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from kefu.calendar import BusinessCalendar, CalendarConfig
from kefu.callback_rules import CALLBACK_STEPS, CallbackRules, check_callback_rules
from kefu.order_rules import ORDER_DEADLINE_STEPS, OrderRules, order_problems
from kefu.policies import Allowance, EscalationRules, SlaRules
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

COMPLAINT_STEPS = ("judgement", "investigation", "proposal", "approval", "implementation", "review")
CASE_WIDE_DEADLINES = ("resolution",)
CONTACT_STEPS = ("answer",)


class ConfigError(Exception):
    """A config problem a person can fix: where it is, what is wrong, what to write instead."""

    def __init__(self, file: str, key: str, problem: str, fix: str) -> None:
        self.file, self.key, self.problem, self.fix = file, key, problem, fix
        super().__init__(f"{file}: {key}: {problem} — fix: {fix}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DepartmentInfo(_Strict):
    name: str
    name_en: str
    timezone: str
    case_id_prefix: str = Field(pattern=r"^[A-Z]{1,4}$")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Asia/Shanghai")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class ResponsibleDepartment(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    name: str
    name_en: str


class StaffMember(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9._-]*$")
    name: str
    role: str
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    department: str


class DepartmentRules(_Strict):
    department: DepartmentInfo
    roles: list[str] = Field(min_length=1)
    departments: list[ResponsibleDepartment] = Field(min_length=1)
    staff: list[StaffMember] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> "DepartmentRules":
        dept_ids = [d.id for d in self.departments]
        _unique("departments", dept_ids)
        _unique("staff", [s.id for s in self.staff])
        for i, member in enumerate(self.staff):
            if member.role not in self.roles:
                raise ValueError(f"staff.{i}.role: {member.role!r} is not one of roles {self.roles}")
            if member.department not in dept_ids:
                raise ValueError(
                    f"staff.{i}.department: {member.department!r} is not one of departments {dept_ids}"
                )
        return self


class ClassificationRule(_Strict):
    any_of: list[str] = Field(min_length=1)
    kind: str | None = None
    severity: str | None = None

    @model_validator(mode="after")
    def _decides_something(self) -> "ClassificationRule":
        if self.kind is None and self.severity is None:
            raise ValueError("a classification rule needs a kind or a severity")
        return self


class Templates(_Strict):
    acknowledgement: str
    not_upheld_reply: str
    plan_notice: str
    discipline_note: str
    contact_answer: str


class ComplaintRules(_Strict):
    channels: list[str] = Field(min_length=1)
    kinds: dict[str, Literal["contact", "complaint"]]
    severities: list[str] = Field(min_length=1)
    classification: list[ClassificationRule] = []
    default_kind: str
    default_severity: str
    notify_at_intake: dict[str, str] = {}
    permissions: dict[str, list[str] | dict[str, list[str]]]
    templates: Templates

    @model_validator(mode="after")
    def _consistent(self) -> "ComplaintRules":
        if self.default_kind not in self.kinds:
            raise ValueError(f"default_kind: {self.default_kind!r} is not one of kinds {list(self.kinds)}")
        if self.default_severity not in self.severities:
            raise ValueError(
                f"default_severity: {self.default_severity!r} is not one of severities {self.severities}"
            )
        for i, rule in enumerate(self.classification):
            if rule.kind is not None and rule.kind not in self.kinds:
                raise ValueError(f"classification.{i}.kind: {rule.kind!r} is not one of kinds {list(self.kinds)}")
            if rule.severity is not None and rule.severity not in self.severities:
                raise ValueError(
                    f"classification.{i}.severity: {rule.severity!r} is not one of severities {self.severities}"
                )
        for severity in self.notify_at_intake:
            if severity not in self.severities:
                raise ValueError(f"notify_at_intake.{severity}: not one of severities {self.severities}")
        for step in COMPLAINT_STEPS + CONTACT_STEPS:
            if step not in self.permissions:
                raise ValueError(f"permissions.{step}: missing; list the roles that may act at this step")
            allowed = self.permissions[step]
            if isinstance(allowed, dict):
                for severity in self.severities:
                    if severity not in allowed:
                        raise ValueError(f"permissions.{step}.{severity}: missing; list the roles for this severity")
        return self


class Rules(BaseModel):
    """Everything kefu decides by, validated; ``version`` names this exact set of files."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    directory: Path
    version: str
    department: DepartmentRules
    complaint: ComplaintRules
    calendars: CalendarRules
    sla: SlaRules
    escalation: EscalationRules
    order: OrderRules
    callback: CallbackRules
    _calendars: dict[str, BusinessCalendar] = PrivateAttr(default_factory=dict)

    def staff_member(self, staff_id: str) -> StaffMember | None:
        return next((s for s in self.department.staff if s.id == staff_id), None)

    def responsible_department(self, dept_id: str) -> ResponsibleDepartment | None:
        return next((d for d in self.department.departments if d.id == dept_id), None)

    def roles_for(self, step: str, severity: str | None) -> list[str]:
        allowed = self.complaint.permissions[step]
        if isinstance(allowed, dict):
            return allowed[severity or self.complaint.default_severity]
        return allowed

    def sla_for(self, process: str, step: str, severity: str | None) -> tuple[Allowance, str]:
        """The allowed time for a step and the policy that says so (first match wins)."""
        index, policy = self.sla.policy_for(process, step, severity)
        return policy.allow, f"sla.yaml policies.{index}: {process} {step} {'/'.join(policy.severity or ['any'])} {policy.allow.text}"

    def calendar(self, name: str | None = None) -> BusinessCalendar:
        name = name or self.sla.calendar
        if name not in self._calendars:
            self._calendars[name] = BusinessCalendar(self.calendars.calendars[name])
        return self._calendars[name]

    def template_path(self, name: str) -> Path:
        return self.directory / "templates" / getattr(self.complaint.templates, name)


def _unique(key: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for i, value in enumerate(ids):
        if value in seen:
            raise ValueError(f"{key}.{i}.id: {value!r} appears twice; ids must be unique")
        seen.add(value)


class CalendarRules(_Strict):
    default: str
    calendars: dict[str, CalendarConfig]

    @model_validator(mode="after")
    def _default_exists(self) -> "CalendarRules":
        if self.default not in self.calendars:
            raise ValueError(f"default: unknown calendar {self.default!r}; use one of {list(self.calendars)}")
        return self


# Steps that carry a deadline, per process: every one needs an SLA policy for every severity.
DEADLINE_STEPS: dict[str, tuple[str, ...]] = {
    "complaint": COMPLAINT_STEPS + CASE_WIDE_DEADLINES,
    "contact": CONTACT_STEPS,
    "order": ORDER_DEADLINE_STEPS,
    "callback": CALLBACK_STEPS,
}

_FILES: dict[str, type[BaseModel]] = {
    "department.yaml": DepartmentRules,
    "complaint.yaml": ComplaintRules,
    "calendar.yaml": CalendarRules,
    "sla.yaml": SlaRules,
    "escalation.yaml": EscalationRules,
    "order.yaml": OrderRules,
    "callback.yaml": CallbackRules,
}


def _read_yaml(path: Path) -> Any:
    if not path.is_file():
        raise ConfigError(str(path), "(file)", "missing", f"create {path.name} (see the shipped config/ for an example)")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "(file)"
        raise ConfigError(str(path), where, f"not valid YAML ({getattr(exc, 'problem', exc)})", "fix the YAML syntax")


def _explain(path: Path, exc: ValidationError) -> ConfigError:
    error = exc.errors()[0]
    key = ".".join(str(p) for p in error["loc"]) or "(top level)"
    message = error["msg"].removeprefix("Value error, ")
    # Cross-field checks put their own dotted key at the front of the message.
    if error["type"] == "value_error" and ": " in message and not error["loc"]:
        key, message = message.split(": ", 1)
    fixes = {
        "missing": "add this key",
        "extra_forbidden": "remove this key or check its spelling",
        "string_pattern_mismatch": "use the form the pattern asks for",
    }
    fix = fixes.get(error["type"]) or (message.split("; ", 1)[1] if "; " in message else "correct the value")
    problem = message.split("; ", 1)[0]
    if error["type"] == "missing":
        problem = "missing"
    return ConfigError(str(path), key, problem, fix)


# The folder each rules version loaded in this process came from.
LOADED_FROM: dict[str, Path] = {}


def version_of(directory: Path) -> str:
    """A short hash of every rule and template file: the rules' identity in the record."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(path.relative_to(directory).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def load_rules(directory: Path) -> Rules:
    """Read and validate a config folder; raises :class:`ConfigError` naming the file and key."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ConfigError(str(directory), "(folder)", "not a folder", "point KEFU_CONFIG_DIR at a config folder")
    parsed: dict[str, BaseModel] = {}
    for name, model in _FILES.items():
        path = directory / name
        try:
            parsed[name] = model.model_validate(_read_yaml(path))
        except ValidationError as exc:
            raise _explain(path, exc) from None
    complaint: ComplaintRules = parsed["complaint.yaml"]  # type: ignore[assignment]
    department: DepartmentRules = parsed["department.yaml"]  # type: ignore[assignment]
    roles = set(department.roles)
    for step, allowed in complaint.permissions.items():
        lists = allowed.items() if isinstance(allowed, dict) else [(None, allowed)]
        for severity, role_list in lists:
            for role in role_list:
                if role not in roles:
                    key = f"permissions.{step}" + (f".{severity}" if severity else "")
                    raise ConfigError(
                        str(directory / "complaint.yaml"), key, f"unknown role {role!r}",
                        f"use roles from department.yaml: {department.roles}",
                    )
    for severity, role in complaint.notify_at_intake.items():
        if role not in roles:
            raise ConfigError(
                str(directory / "complaint.yaml"), f"notify_at_intake.{severity}", f"unknown role {role!r}",
                f"use roles from department.yaml: {department.roles}",
            )
    _check_deadline_rules(directory, department, complaint, parsed["calendar.yaml"], parsed["sla.yaml"],  # type: ignore[arg-type]
                          parsed["escalation.yaml"])  # type: ignore[arg-type]
    for field, template in complaint.templates.model_dump().items():
        if not (directory / "templates" / template).is_file():
            raise ConfigError(
                str(directory / "complaint.yaml"), f"templates.{field}", f"template {template} not found",
                f"create templates/{template} or name an existing template",
            )
    for key, problem, fix in order_problems(parsed["order.yaml"], department.roles,  # type: ignore[arg-type]
                                            [d.id for d in department.departments], directory / "templates")[:1]:
        raise ConfigError(str(directory / "order.yaml"), key, problem, fix)
    for problem in check_callback_rules(directory, parsed["callback.yaml"], {s.id: s.role for s in department.staff},  # type: ignore[arg-type]
                                        list(parsed["calendar.yaml"].calendars))[:1]:  # type: ignore[attr-defined]
        raise ConfigError(*problem)
    version = version_of(directory)
    LOADED_FROM[version] = directory  # kefu.audit.snapshots records these files for replay
    return Rules(directory=directory, version=version, department=department, complaint=complaint,
                 calendars=parsed["calendar.yaml"], sla=parsed["sla.yaml"], escalation=parsed["escalation.yaml"],
                 order=parsed["order.yaml"], callback=parsed["callback.yaml"])


def _check_deadline_rules(directory: Path, department: DepartmentRules, complaint: ComplaintRules,
                          calendars: CalendarRules, sla: SlaRules, escalation: EscalationRules) -> None:
    sla_file, ladder_file = str(directory / "sla.yaml"), str(directory / "escalation.yaml")
    if sla.calendar not in calendars.calendars:
        raise ConfigError(sla_file, "calendar", f"unknown calendar {sla.calendar!r}",
                          f"use one of {list(calendars.calendars)} from calendar.yaml")
    for i, policy in enumerate(sla.policies):
        if policy.process not in DEADLINE_STEPS:
            raise ConfigError(sla_file, f"policies.{i}.process", f"unknown process {policy.process!r}",
                              f"use one of {list(DEADLINE_STEPS)}")
        if policy.step not in DEADLINE_STEPS[policy.process]:
            raise ConfigError(sla_file, f"policies.{i}.step", f"{policy.process} has no step {policy.step!r}",
                              f"use one of {list(DEADLINE_STEPS[policy.process])}")
        for severity in policy.severity or []:
            if severity not in complaint.severities:
                raise ConfigError(sla_file, f"policies.{i}.severity", f"unknown severity {severity!r}",
                                  f"use one of {complaint.severities}")
    for process, steps in DEADLINE_STEPS.items():
        severities: list[str | None] = list(complaint.severities) if process == "complaint" else [None]
        for step in steps:
            for severity in severities:
                if not any(p.matches(process, step, severity) for p in sla.policies):
                    raise ConfigError(sla_file, "policies", f"no policy matches {process} {step} {severity or ''}".strip(),
                                      f"add a policy for process {process}, step {step}")
    targets = {"owner", *department.roles}
    for name, rungs in escalation.ladders.items():
        for j, rung in enumerate(rungs):
            if rung.notify not in targets:
                raise ConfigError(ladder_file, f"ladders.{name}.{j}.notify", f"unknown recipient {rung.notify!r}",
                                  f"use owner or a role from department.yaml: {department.roles}")


@lru_cache(maxsize=4)
def rules_from(directory: str) -> Rules:
    return load_rules(Path(directory))


def current_rules() -> Rules:
    """The rules in ``KEFU_CONFIG_DIR`` (loaded once per process)."""
    from kefu.settings import get_settings

    return rules_from(str(get_settings().config_dir))
