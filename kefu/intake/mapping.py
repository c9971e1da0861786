"""A mapping file: which of a file's columns hold each of kefu's fields, and how to read them.

The shape is fixed (other tools write it)::

    source: cfpb-2016            # the batch's origin, recorded on every imported case
    columns:                     # kefu field: source column, or a list joined with " — "
      external_id: Complaint ID
      content: [Issue, Sub-issue]
    date_format: "%m/%d/%Y"      # strptime; absent = ISO-8601
    timezone: America/New_York   # for dates without an offset
    values:                      # per field: source value -> kefu value
      channel: {Web: web, Phone: phone}
    defaults: {name: anonymous}  # fields the file lacks

A header matches a column whatever its case, surrounding spaces or trailing ``?``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kefu.core.config import ConfigError
from kefu.core.field_rules import FieldRule
from models.case import zone_name

JOIN = " — "


class IntakeMapping(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1, max_length=80, pattern=r"^[^\s].*$")
    columns: dict[str, str | list[str]] = Field(min_length=1)
    date_format: str | None = None
    timezone: str = "UTC"
    values: dict[str, dict[str, str]] = {}
    defaults: dict[str, str] = {}

    _zone = field_validator("timezone")(classmethod(lambda cls, v: zone_name(v)))

    @field_validator("values", mode="before")
    @classmethod
    def _values_as_text(cls, value: Any) -> Any:
        # YAML reads `Yes: true` as booleans and `1: 1` as numbers: a file's cells are text.
        if isinstance(value, dict):
            return {field: {_text(k): _text(v) for k, v in (mapped or {}).items()} for field, mapped in value.items()}
        return value

    @field_validator("defaults", mode="before")
    @classmethod
    def _defaults_as_text(cls, value: Any) -> Any:
        return {k: _text(v) for k, v in value.items()} if isinstance(value, dict) else value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def header_key(name: str) -> str:
    """How a header is compared: case, surrounding spaces and a trailing ``?`` do not count."""
    return " ".join(str(name).strip().removesuffix("?").strip().casefold().split())


def load_mapping(path: Path) -> IntakeMapping:
    """The mapping at ``path``, or a :class:`ConfigError` naming the key and the fix."""
    if not path.is_file():
        raise ConfigError(str(path), "(file)", "missing", "give the path of a mapping YAML (see docs/mappings/)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(str(path), "(file)", f"not valid YAML ({exc})", "fix the YAML syntax") from None
    try:
        return IntakeMapping.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(p) for p in error["loc"]) or "(top level)"
        fix = "remove this key (see docs/mappings/ for the shape)" if error["type"] == "extra_forbidden" else \
            "add this key" if error["type"] == "missing" else "correct the value"
        raise ConfigError(str(path), key, error["msg"].removeprefix("Value error, "), fix) from None


class Plan:
    """The mapping against one file's header and one target's field rules: the source column(s)
    of each field, checked before a row is read."""

    def __init__(self, mapping: IntakeMapping, path: str, headers: list[str], fields: dict[str, FieldRule],
                 allowed: dict[str, list[str] | None]) -> None:
        self.mapping, self.fields = mapping, fields
        by_key = {header_key(h): h for h in headers}
        self.columns: dict[str, list[str]] = {}
        for name, wanted in mapping.columns.items():
            if name not in fields:
                raise ConfigError(path, f"columns.{name}", "is not a field kefu takes in here",
                                  f"map one of {', '.join(fields)}")
            sources = [wanted] if isinstance(wanted, str) else wanted
            found = []
            for column in sources:
                header = by_key.get(header_key(column))
                if header is None:
                    raise ConfigError(path, f"columns.{name}", f"the file has no column {column!r}",
                                      f"use one of its columns: {', '.join(map(str, headers))}")
                found.append(header)
            self.columns[name] = found
        for name in mapping.defaults:
            if name not in fields:
                raise ConfigError(path, f"defaults.{name}", "is not a field kefu takes in here",
                                  f"give defaults for {', '.join(fields)}")
        for name, rule in fields.items():
            if rule.required and name not in self.columns and name not in mapping.defaults:
                raise ConfigError(path, "columns", f"{name} is required and not mapped",
                                  f"add columns.{name}: <the file's column>, or defaults.{name}")
        for name, table in mapping.values.items():
            if name not in fields:
                raise ConfigError(path, f"values.{name}", "is not a field kefu takes in here",
                                  f"map values of {', '.join(fields)}")
            configured = allowed.get(name)
            for source_value, value in table.items():
                if configured is not None and value not in configured:
                    raise ConfigError(path, f"values.{name}.{source_value}", f"{value!r} is not a configured value",
                                      f"map it to one of {', '.join(configured)}")
