"""The department's rules, loaded from ``config/`` and validated before anything uses them.

The files every process shares live here (department, calendars, SLA, escalation); each
process brings its own file as a section (``kefu.core.process.Section``), loaded with them and
read as ``rules.<process>``. A bad file fails at load with the file, the key and the fix. The
rules carry a version (a hash of every file in the folder) that each recorded event keeps, so
an auditor can tell which rules were in force when a decision was taken.
"""

from __future__ import annotations

import difflib
import hashlib
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from kefu.core.calendar import BusinessCalendar, CalendarConfig
from kefu.core.config import ConfigError, Strict, known_zone, unique
from kefu.core.customer_messages import CustomerMessageRules
from kefu.core.policies import Allowance, EscalationRules, SlaRules

if TYPE_CHECKING:
    from kefu.core.process import Process


class DepartmentInfo(Strict):
    name: str
    name_en: str
    timezone: str
    case_id_prefix: str = Field(pattern=r"^[A-Z]{1,4}$")

    _zone = field_validator("timezone")(classmethod(lambda cls, v: known_zone(v)))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class ResponsibleDepartment(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    name: str
    name_en: str
    # The department's mailbox: where the monthly feedback on its complaints goes (report.yaml feedback).
    email: str | None = Field(None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class StaffMember(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9._-]*$")
    name: str
    role: str
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    department: str
    # Someone who left (or moved away) stays on the roster for the record, but takes no new work.
    active: bool = True


class Deputy(Strict):
    """A staff member who may decide for another role at some steps (主管代批: the supervisor signs
    for the manager); the event records both people."""

    staff: str
    role: str
    steps: list[str] = Field(min_length=1)


class AccessRules(Strict):
    """How kefu knows who decided. Rules that have this section require every decision by a
    person to carry a verified identity (the auditor's replay checks it); older rules on record
    did not, and their decisions are judged by them."""

    verified_decisions: bool = True
    token_days: int = Field(90, ge=1, le=3650)
    pin_digits: int = Field(6, ge=4, le=12)
    pin_attempts: int = Field(5, ge=1, le=20)
    deputies: list[Deputy] = []


class Labels(Strict):
    """What the Chinese part of a form, an e-mail or a report says for kefu's names (the English
    part says the name itself): ``steps: {judgement: 投诉判定}``."""

    processes: dict[str, str] = {}
    kinds: dict[str, str] = {}
    severities: dict[str, str] = {}
    steps: dict[str, str] = {}
    roles: dict[str, str] = {}


class DepartmentRules(Strict):
    department: DepartmentInfo
    # The service line, lowest first (the escalation ladders climb it), and the roles outside it
    # that own hand-overs of their own (business assistant, finance, …): never ranked with it.
    roles: list[str] = Field(min_length=1)
    functions: list[str] = []
    departments: list[ResponsibleDepartment] = Field(min_length=1)
    staff: list[StaffMember] = Field(min_length=1)
    access: AccessRules | None = None
    labels: Labels | None = None  # None: rules recorded before labels existed (their names as they are)

    @model_validator(mode="after")
    def _consistent(self) -> "DepartmentRules":
        dept_ids = [d.id for d in self.departments]
        unique("departments", dept_ids)
        unique("staff", [s.id for s in self.staff])
        unique("roles and functions", self.all_roles)
        for i, member in enumerate(self.staff):
            if member.role not in self.all_roles:
                raise ValueError(f"staff.{i}.role: {member.role!r} is not one of roles or functions {self.all_roles}")
            if member.department not in dept_ids:
                raise ValueError(
                    f"staff.{i}.department: {member.department!r} is not one of departments {dept_ids}"
                )
        staff_ids = [s.id for s in self.staff]
        for i, deputy in enumerate(self.access.deputies if self.access else []):
            if deputy.staff not in staff_ids:
                raise ValueError(f"access.deputies.{i}.staff: unknown staff {deputy.staff!r}; use an id from staff")
            if deputy.role not in self.all_roles:
                raise ValueError(f"access.deputies.{i}.role: {deputy.role!r} is not one of roles or functions "
                                 f"{self.all_roles}")
        return self

    @property
    def all_roles(self) -> list[str]:
        return [*self.roles, *self.functions]

    def above_agents(self, role: str) -> bool:
        """Whether ``role`` ranks above the first of the service line (a supervisor, not finance)."""
        return role in self.roles[1:]


class CalendarRules(Strict):
    default: str
    calendars: dict[str, CalendarConfig]

    @model_validator(mode="after")
    def _default_exists(self) -> "CalendarRules":
        if self.default not in self.calendars:
            raise ValueError(f"default: unknown calendar {self.default!r}; use one of {list(self.calendars)}")
        return self



class Rules:
    """Everything kefu decides by, validated; ``version`` names this exact set of files. Each
    process's section is an attribute named after it (``rules.order``)."""

    def __init__(self, directory: Path, version: str, department: DepartmentRules, calendars: CalendarRules,
                 sla: SlaRules, escalation: EscalationRules, customer_messages: CustomerMessageRules,
                 sections: dict[str, BaseModel]) -> None:
        self.directory, self.version = directory, version
        self.department, self.calendars, self.sla, self.escalation = department, calendars, sla, escalation
        self.customer_messages = customer_messages
        self.sections = sections
        self._calendars: dict[str, BusinessCalendar] = {}

    def __getattr__(self, name: str) -> Any:
        sections = self.__dict__.get("sections", {})
        if name in sections:
            return sections[name]
        raise AttributeError(f"the rules have no {name!r} (sections: {sorted(sections)})")

    def staff_member(self, staff_id: str) -> StaffMember | None:
        return next((s for s in self.department.staff if s.id == staff_id), None)

    def label(self, category: str, name: str | None) -> str:
        """The Chinese label of ``name`` (a step, kind, severity, process or role: ``category``
        plural, as in department.yaml ``labels``); the name itself when there is none."""
        if not name:
            return "-"
        labels = self.department.labels
        return getattr(labels, category).get(name, name) if labels else name

    def department_labels(self) -> dict[str, str]:
        """Each responsible department as people read it, by id: ``{"repair": "维修部 Repair"}``."""
        return {d.id: f"{d.name} {d.name_en}" for d in self.department.departments}

    def responsible_department(self, dept_id: str) -> ResponsibleDepartment | None:
        return next((d for d in self.department.departments if d.id == dept_id), None)

    def sla_for(self, process: str, step: str, severity: str | None) -> tuple[Allowance, str]:
        """The allowed time for a step and the policy that says so (first match wins)."""
        index, policy = self.sla.policy_for(process, step, severity)
        return policy.allow, f"sla.yaml policies.{index}: {process} {step} {'/'.join(policy.severity or ['any'])} {policy.allow.text}"

    def calendar(self, name: str | None = None) -> BusinessCalendar:
        name = name or self.sla.calendar
        if name not in self._calendars:
            self._calendars[name] = BusinessCalendar(self.calendars.calendars[name])
        return self._calendars[name]


# The files every process shares.
_SHARED: dict[str, type[BaseModel]] = {
    "department.yaml": DepartmentRules,
    "calendar.yaml": CalendarRules,
    "sla.yaml": SlaRules,
    "escalation.yaml": EscalationRules,
    "customer_messages.yaml": CustomerMessageRules,
}


# libyaml's parser when PyYAML was built with it (the wheels are): the same documents, ~10× faster
# than the pure-Python one, which was 0.1 s of every CLI command's 0.7 s.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path) -> Any:
    if not path.is_file():
        raise ConfigError(str(path), "(file)", "missing", f"create {path.name} (see the shipped config/ for an example)")
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)  # noqa: S506  (a safe loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "(file)"
        raise ConfigError(str(path), where, f"not valid YAML ({getattr(exc, 'problem', exc)})", "fix the YAML syntax")


def _explain(path: Path, exc: ValidationError) -> ConfigError:
    errors = exc.errors()
    unknown = next((e for e in errors if e["type"] == "extra_forbidden"), None)
    if unknown is not None:
        # A misspelt key is also a missing one ("policiez:" leaves "policies" missing): name the
        # key that is there, and the valid one it most looks like.
        parent, name = unknown["loc"][:-1], str(unknown["loc"][-1])
        expected = [str(e["loc"][-1]) for e in errors if e["type"] == "missing" and e["loc"][:-1] == parent]
        nearest = difflib.get_close_matches(name, expected, n=1, cutoff=0.6)
        return ConfigError(str(path), ".".join(str(p) for p in unknown["loc"]), f"unknown key {name!r}",
                           f"did you mean {nearest[0]!r}?" if nearest else "remove this key or check its spelling")
    error = errors[0]
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


# The folders each rules version loaded in this process came from (two copies of one config are
# one version; either may be edited or removed later).
LOADED_FROM: dict[str, list[Path]] = {}


def version_of(directory: Path) -> str:
    """A short hash of every rule and template file: the rules' identity in the record."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(path.relative_to(directory).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def load_rules(directory: Path, processes: Sequence["Process"]) -> Rules:
    """Read and validate a config folder with the sections of ``processes``; raises
    :class:`ConfigError` naming the file and key."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ConfigError(str(directory), "(folder)", "not a folder", "point KEFU_CONFIG_DIR at a config folder")
    parsed = {name: _parse(directory / name, model) for name, model in _SHARED.items()}
    sections = {p.config.name: _parse(directory / p.config.file, p.config.model) for p in processes if p.config}
    version = version_of(directory)
    rules = Rules(directory=directory, version=version, department=parsed["department.yaml"],  # type: ignore[arg-type]
                  calendars=parsed["calendar.yaml"], sla=parsed["sla.yaml"],  # type: ignore[arg-type]
                  escalation=parsed["escalation.yaml"],  # type: ignore[arg-type]
                  customer_messages=parsed["customer_messages.yaml"], sections=sections)  # type: ignore[arg-type]
    _check_customer_messages(rules)
    _check_deadline_rules(rules, processes)
    _check_deputies(rules, processes)
    _check_labels(rules, processes)
    for process in processes:
        if process.config is not None and process.config.check is not None:
            for key, problem, fix in process.config.check(rules):
                raise ConfigError(str(directory / process.config.file), key, problem, fix)
    folders = LOADED_FROM.setdefault(version, [])  # kefu.core.snapshots records these files for replay
    if directory not in folders:
        folders.append(directory)
    return rules


def upgrade_older_folder(directory: Path) -> None:
    """Bring a config folder an older kefu wrote (a snapshot replay reads back) to today's files,
    the rules it held unchanged. 3 Dec 2026: the customer's quiet hours moved from callback.yaml to
    the new customer_messages.yaml (its other keys as shipped today), and callback.yaml gained
    selection_at (a time of day that was code); the customer archive (P5) and the reports (P8)
    became processes with files of their own. 4 Dec 2026: report.yaml gained the daily digest and
    the order ledger, the monthly satisfaction analysis and feedback (as shipped, with their
    templates), and
    department.yaml the store manager (店长) the digest goes to; 5 Dec 2026: report.yaml gained the
    agents' work logs (with the write-up's SLA policy and labels) and the inquiries the statistics'
    conversion rate counts. None changes what an older case's
    replay recomputes."""
    from kefu.settings import REPO_ROOT

    shipped = REPO_ROOT / "config"
    callback, messages = directory / "callback.yaml", directory / "customer_messages.yaml"
    held = _read_yaml(callback) if callback.is_file() else None
    if not isinstance(held, dict):
        return  # not a folder kefu wrote (its load says what is wrong)
    if not messages.exists():
        added = _read_yaml(shipped / "customer_messages.yaml")
        added["quiet_hours"] = held.pop("quiet_hours", added["quiet_hours"])
        _write_yaml(messages, added)
    if "selection_at" not in held or "customers" in held:
        held.setdefault("selection_at", _read_yaml(shipped / "callback.yaml")["selection_at"])
        held.pop("customers", None)
        _write_yaml(callback, held)
    # The processes added since, as shipped today: their file, templates, SLA policies and labels.
    fresh = set()
    for process, labelled in (("customer", ("customer", "assignment", "first-contact")),
                              ("report", ("report", "statistics", "compile", "sign-off"))):
        if not (directory / f"{process}.yaml").exists():
            _add_process(directory, shipped, process, labelled)
            fresh.add(process)
    _add_daily_registers(directory, shipped, report_added="report" in fresh)


def _add_daily_registers(directory: Path, shipped: Path, report_added: bool) -> None:
    """The store manager who receives the digest, into an older department.yaml; the daily digest,
    the order ledger and the satisfaction analysis as shipped, into an older report.yaml (those it
    lacks). A report section added as shipped goes to those of its roles the older department has."""
    department = _read_yaml(directory / "department.yaml")
    if not isinstance(department, dict):
        return
    if "store_manager" not in department.get("functions", []):
        department.setdefault("functions", []).append("store_manager")
        if isinstance(department.get("labels"), dict):
            department["labels"].setdefault("roles", {})["store_manager"] = \
                _read_yaml(shipped / "department.yaml")["labels"]["roles"]["store_manager"]
        _write_yaml(directory / "department.yaml", department)
    report = _read_yaml(directory / "report.yaml")
    if not isinstance(report, dict):
        return
    today = _read_yaml(shipped / "report.yaml")
    statistics = report.get("complaint_statistics")
    if isinstance(statistics, dict) and "inquiries" not in statistics:
        statistics["inquiries"] = today["complaint_statistics"]["inquiries"]
        _write_yaml(directory / "report.yaml", report)
    added = [s for s in today if isinstance(today[s], dict) and (report_added or s not in report)]
    if not added:
        return
    # The roles and complaint categories the older folder has (its complaint.yaml may have none).
    have = {"recipients": {*department.get("roles", []), *department.get("functions", [])},
            "quality_categories": {c["id"] for c in (_read_yaml(directory / "complaint.yaml") or {}).get("categories", [])}}
    have["sign_off"] = have["roles"] = have["recipients"]
    for section in added:
        report[section] = {**today[section], **{key: [v for v in today[section][key] if v in have[key]]
                                                for key in have if key in today[section]}}
    _write_yaml(directory / "report.yaml", report)
    for template in (shipped / "templates" / "report").iterdir():
        if not (directory / "templates" / "report" / template.name).exists():
            shutil.copy(template, directory / "templates" / "report" / template.name)
    if "work_log" in added:
        _add_steps(directory, shipped, "report", ("work_log", "write-up"))


def _add_steps(directory: Path, shipped: Path, process: str, labelled: tuple[str, ...]) -> None:
    """The SLA policies of ``process``'s steps an older sla.yaml has none for, as shipped, and the
    Chinese labels of ``labelled``."""
    sla, today = _read_yaml(directory / "sla.yaml"), _read_yaml(shipped / "sla.yaml")
    held = {p.get("step") for p in sla["policies"] if p.get("process") == process}
    sla["policies"] += [p for p in today["policies"] if p.get("process") == process and p.get("step") not in held]
    _write_yaml(directory / "sla.yaml", sla)
    _add_labels(directory, shipped, labelled)


def _add_process(directory: Path, shipped: Path, process: str, labelled: tuple[str, ...]) -> None:
    """A process as shipped today into an older folder: its file, its templates, its SLA policies
    (and their source) and the Chinese labels of its names."""
    shutil.copy(shipped / f"{process}.yaml", directory / f"{process}.yaml")
    shutil.copytree(shipped / "templates" / process, directory / "templates" / process, dirs_exist_ok=True)
    sla, today = _read_yaml(directory / "sla.yaml"), _read_yaml(shipped / "sla.yaml")
    sla["policies"] += [p for p in today["policies"] if p.get("process") == process]
    if "sources" in sla:
        sla["sources"][process] = today["sources"][process]
    _write_yaml(directory / "sla.yaml", sla)
    _add_labels(directory, shipped, labelled)


def _add_labels(directory: Path, shipped: Path, labelled: tuple[str, ...]) -> None:
    """The Chinese labels of ``labelled`` (process, kind and step names) as shipped, into an older
    department.yaml that has labels."""
    department, labels = _read_yaml(directory / "department.yaml"), _read_yaml(shipped / "department.yaml")["labels"]
    if isinstance(department.get("labels"), dict):
        for category in ("processes", "kinds", "steps"):
            department["labels"].setdefault(category, {})
            for name in labelled:
                if name in labels[category]:
                    department["labels"][category][name] = labels[category][name]
        _write_yaml(directory / "department.yaml", department)


def _write_yaml(path: Path, data: Any) -> None:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _parse(path: Path, model: type[BaseModel]) -> BaseModel:
    try:
        return model.model_validate(_read_yaml(path))
    except ValidationError as exc:
        raise _explain(path, exc) from None


def _check_labels(rules: Rules, processes: Sequence["Process"]) -> None:
    """Every process, step, severity and role kefu shows has its Chinese label (when the rules
    have labels at all)."""
    labels = rules.department.labels
    if labels is None:
        return
    owed = {
        "processes": [p.name for p in processes],
        "steps": [str(s) for p in processes for s in (*(h.name for h in p.human_steps), *p.automatic_steps)]
        + [policy.step for policy in rules.sla.policies],
        "severities": [s for p in processes for s in p.severities(rules)],
        "roles": [*rules.department.all_roles, "owner"],
    }
    for category, names in owed.items():
        missing = [n for n in dict.fromkeys(names) if n not in getattr(labels, category)]
        if missing:
            raise ConfigError(str(rules.directory / "department.yaml"), f"labels.{category}",
                              f"no Chinese label for {missing}",
                              f"add each under labels.{category}, e.g. {missing[0]}: <中文>")


def _check_customer_messages(rules: Rules) -> None:
    """customer_messages.yaml against the other files: its holidays' calendar, its templates."""
    import jinja2

    from kefu.core.texts import string_template

    file, messages = str(rules.directory / "customer_messages.yaml"), rules.customer_messages
    calendars = list(rules.calendars.calendars)
    if messages.quiet_hours.holidays_of is not None and messages.quiet_hours.holidays_of not in calendars:
        raise ConfigError(file, "quiet_hours.holidays_of", f"unknown calendar {messages.quiet_hours.holidays_of!r}",
                          f"use one of {calendars} from calendar.yaml")
    for key in ("email_subject", "sms_body", "chat_body"):
        try:
            string_template(getattr(messages, key))  # compiled once, here, for every later message
        except jinja2.TemplateSyntaxError as exc:
            raise ConfigError(file, key, f"not a valid template ({exc.message})", "fix the jinja2 syntax") from None


def _check_deputies(rules: Rules, processes: Sequence["Process"]) -> None:
    """A deputy stands in at steps people decide (a form of some process)."""
    steps = {s.name for p in processes for s in p.human_steps}
    for i, deputy in enumerate(rules.department.access.deputies if rules.department.access else []):
        for j, step in enumerate(deputy.steps):
            if step not in steps:
                raise ConfigError(str(rules.directory / "department.yaml"), f"access.deputies.{i}.steps.{j}",
                                  f"no process has a step {step!r} decided by a person", f"use one of {sorted(steps)}")


def _check_deadline_rules(rules: Rules, processes: Sequence["Process"]) -> None:
    """Every process's deadline steps have a policy for each of its severities; every policy and
    ladder names what exists."""
    directory, department, calendars, sla, escalation = (rules.directory, rules.department, rules.calendars,
                                                          rules.sla, rules.escalation)
    steps = {p.name: p.deadline_steps for p in processes}
    severities = {p.name: list(p.severities(rules)) for p in processes}
    sla_file, ladder_file = str(directory / "sla.yaml"), str(directory / "escalation.yaml")
    if sla.calendar not in calendars.calendars:
        raise ConfigError(sla_file, "calendar", f"unknown calendar {sla.calendar!r}",
                          f"use one of {list(calendars.calendars)} from calendar.yaml")
    for i, policy in enumerate(sla.policies):
        if policy.process not in steps:
            raise ConfigError(sla_file, f"policies.{i}.process", f"unknown process {policy.process!r}",
                              f"use one of {list(steps)}")
        if policy.step not in steps[policy.process]:
            raise ConfigError(sla_file, f"policies.{i}.step", f"{policy.process} has no step {policy.step!r}",
                              f"use one of {list(steps[policy.process])}")
        for severity in policy.severity or []:
            if severity not in severities[policy.process]:
                raise ConfigError(sla_file, f"policies.{i}.severity", f"unknown severity {severity!r}",
                                  f"use one of {severities[policy.process]}" if severities[policy.process]
                                  else f"{policy.process} has no severities; remove severity")
    for process, process_steps in steps.items():
        for step in process_steps:
            for severity in severities[process] or [None]:
                if not any(p.matches(process, step, severity) for p in sla.policies):
                    raise ConfigError(sla_file, "policies", f"no policy matches {process} {step} {severity or ''}".strip(),
                                      f"add a policy for process {process}, step {step}")
    targets = {"owner", *department.roles}
    for name, rungs in escalation.ladders.items():
        for j, rung in enumerate(rungs):
            if rung.notify not in targets:
                raise ConfigError(ladder_file, f"ladders.{name}.{j}.notify", f"unknown recipient {rung.notify!r}",
                                  f"use owner or a role from department.yaml: {department.roles}")


