"""The composition root: which database and which rules (``kefu.executor.prefect_env``: which
Prefect server).

Everything that differs between the embedded default and a scaled-out install is decided
here, from settings; flows, tasks and the CLI ask this module and never build their own.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from kefu import processes
from kefu.core.rules import Rules, version_of
from kefu.core.store import CaseStore
from kefu.settings import get_settings

_store: CaseStore | None = None
_rules_checked_in: int | None = None  # the pid that checked its cached rules against the files


def store() -> CaseStore:
    global _store
    if _store is None:
        from kefu.db import current_engine

        _store = CaseStore(current_engine(), facts=processes.facts())
    return _store


@lru_cache(maxsize=4)
def rules_from(directory: str) -> Rules:
    return processes.load_rules(Path(directory))


def current_rules() -> Rules:
    """The rules in ``KEFU_CONFIG_DIR`` (loaded once per process)."""
    return rules_from(str(get_settings().config_dir))


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
