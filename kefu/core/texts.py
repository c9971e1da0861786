"""Customer and staff texts, rendered from the bilingual templates in ``config/templates``."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Iterable, Iterator

import jinja2

from kefu.core.policies import ALLOWANCE, CUSTOMER_CHOICE

if TYPE_CHECKING:
    from kefu.core.rules import Rules  # annotations only: the rules import this module

_UNITS_ZH = {"minute": "分钟", "hour": "小时", "day": "天"}


def template_problems(rules: Rules, named: Iterable[tuple[str, str]]) -> Iterator[tuple[str, str, str]]:
    """A config section's templates that are not in the folder's templates/: ``(key, problem, fix)``
    for each ``(field, template file)`` of ``named``."""
    for field, template in named:
        if not (rules.directory / "templates" / template).is_file():
            yield (f"templates.{field}", f"template {template} not found",
                   f"create templates/{template} or name an existing template")


def environment(directory: str, **options: Any) -> jinja2.Environment:
    """A template folder with kefu's filters (``allowance_zh``). StrictUndefined: a template
    that names a value kefu does not give fails loudly, at once."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(directory), undefined=jinja2.StrictUndefined, **options)
    env.filters["allowance_zh"] = allowance_zh
    return env


@lru_cache(maxsize=8)
def _environment(directory: str) -> jinja2.Environment:
    return environment(directory, keep_trailing_newline=False, autoescape=False, trim_blocks=True, lstrip_blocks=True)


def templates(rules: Rules) -> jinja2.Environment:
    """The customer and staff texts' templates (``config/templates``)."""
    return _environment(str(rules.directory / "templates"))


@lru_cache(maxsize=32)
def string_template(source: str) -> jinja2.Template:
    """A template kept in a config value (a customer e-mail's subject, a gateway's JSON body),
    compiled once per process; StrictUndefined like the template files."""
    return jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False).from_string(source)


def compile_all(env: jinja2.Environment) -> None:
    """Compile every template of ``env`` now: the runner's fork server does, so that no flow run
    compiles one again (jinja2 still reloads a template whose file has changed since)."""
    for name in env.list_templates(extensions=["j2"]):
        env.get_template(name)


def render_file(rules: Rules, path: str, **values: Any) -> str:
    """Render ``config/templates/<path>``."""
    return templates(rules).get_template(path).render(
        department_name=rules.department.department.name,
        department_name_en=rules.department.department.name_en,
        label=rules.label,
        **values,
    ).strip()


def allowance_zh(text: str) -> str:
    """An allowed time as the Chinese part says it: ``24 working hours`` → ``24 个工作小时``,
    ``until 2026-12-05 18:00`` → ``至 2026-12-05 18:00``; anything else as it is."""
    match = ALLOWANCE.match(text)
    if match is not None:
        number, working, unit = match.groups()
        return f"{number} {'个工作' if working else ''}{_UNITS_ZH[unit.rstrip('s')]}"
    if text == CUSTOMER_CHOICE:
        return "客户约定的时间"
    if text.startswith("until "):
        return "至 " + text.removeprefix("until ")
    return text


def local_time(rules: Rules, at: datetime) -> str:
    """A business time as the department reads it: ``2026-11-23 09:30 (UTC+08:00)``."""
    local = at.astimezone(rules.department.department.zone)
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M} (UTC{offset[:3]}:{offset[3:]})"


def mask_phone(phone: str) -> str:
    """138****5678: enough for staff to recognise, not enough to misuse."""
    digits = phone.replace(" ", "").replace("-", "")
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "****" + digits[-4:]


def run_page(dashboard_url: str, flow_run_id: str | None) -> str:
    """Where a person opens a case's run in the dashboard (the dashboard itself without a run).
    Prefect's V2 dashboard: its Resume form masks the PIN field, where V1 shows it as text."""
    return f"{dashboard_url}/v2/runs/flow-run/{flow_run_id}" if flow_run_id else dashboard_url
