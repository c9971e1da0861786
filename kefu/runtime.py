"""The composition root: which database, which rules, which Prefect server.

Everything that differs between the embedded default and a scaled-out install is decided
here, from settings; flows, tasks and the CLI ask this module and never build their own.
"""

from __future__ import annotations

import os

from kefu.rules import Rules, current_rules, rules_from, version_of
from kefu.settings import Settings, get_settings
from kefu.store import CaseStore

_store: CaseStore | None = None
_rules_checked_in: int | None = None  # the pid that checked its cached rules against the files


def store() -> CaseStore:
    global _store
    if _store is None:
        from kefu.db import current_engine

        _store = CaseStore(current_engine())
    return _store


def rules() -> Rules:
    """The rules, loaded once per process. A process forked from the runner's fork server
    inherits the server's parsed rules (YAML parsing cost ~0.15 s per flow run); the first call
    in each process compares them with the files' content hash and reloads if they changed, so
    every process still sees the config as it is when the process starts."""
    global _rules_checked_in
    loaded = current_rules()
    if _rules_checked_in != os.getpid():
        _rules_checked_in = os.getpid()
        if loaded.version != version_of(loaded.directory):
            rules_from.cache_clear()
            loaded = current_rules()
    return loaded


def prefect_environment(settings: Settings | None = None) -> dict[str, str]:
    """Prefect settings for the embedded default; anything already in the environment wins."""
    settings = settings or get_settings()
    home = (settings.home / "prefect").resolve()
    return {
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": settings.api_url,
        # Offline machines: telemetry would do DNS lookups and log errors.
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        # A resume reaches the runner within a second instead of ten.
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
        "PREFECT_API_DATABASE_CONNECTION_URL": os.environ.get(
            "PREFECT_API_DATABASE_CONNECTION_URL", f"sqlite+aiosqlite:///{home / 'prefect.db'}"
        ),
        "PREFECT_LOGGING_LEVEL": os.environ.get("PREFECT_LOGGING_LEVEL", "WARNING"),
        "PREFECT_UI_API_URL": settings.api_url,
    }


def configure_prefect() -> None:
    """Put the Prefect settings into this process's environment before Prefect is imported."""
    for key, value in prefect_environment().items():
        os.environ.setdefault(key, value)
