"""The vocabulary of every config file's validation: one strict base model, the error a person
can fix (file, key, problem, fix), and the checks several files share."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from models.case import zone_name


class Strict(BaseModel):
    """A config section: an unknown key is an error (a typo must not pass as a default), and the
    loaded rules cannot be changed afterwards."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ConfigError(Exception):
    """A config problem a person can fix: where it is, what is wrong, what to write instead."""

    def __init__(self, file: str, key: str, problem: str, fix: str) -> None:
        self.file, self.key, self.problem, self.fix = file, key, problem, fix
        super().__init__(f"{file}: {key}: {problem} — fix: {fix}")


def known_zone(value: str) -> str:
    """An IANA time zone name, or a ValueError that says what to write (as a customer's zone is)."""
    return zone_name(value)  # type: ignore[return-value]  (a str in, a str out)


def unique(key: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for i, value in enumerate(ids):
        if value in seen:
            raise ValueError(f"{key}.{i}.id: {value!r} appears twice; ids must be unique")
        seen.add(value)
