"""The rules of a recorded version, rebuilt from its snapshot (``kefu.core.snapshots`` records
them): replay judges each event under the rules in force when it was recorded."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from kefu import processes
from kefu.core.rules import Rules, upgrade_older_folder, version_of
from models.records import ConfigSnapshot


class VersionNotOnRecord(LookupError):
    def __init__(self, version: str) -> None:
        super().__init__(f"config version {version} not on record")
        self.version = version


def rules_of(engine: Engine, version: str) -> Rules:
    """The rules of ``version`` rebuilt from its snapshot; :class:`VersionNotOnRecord` if none."""
    return _rules_of(engine.url.render_as_string(hide_password=False), engine, version)


@lru_cache(maxsize=64)
def _rules_of(_url: str, engine: Engine, version: str) -> Rules:
    table = ConfigSnapshot.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        files = conn.execute(sa.select(table.c.files).where(table.c.version == version)).scalar()
    if files is None:
        raise VersionNotOnRecord(version)
    directory = Path(tempfile.mkdtemp(prefix=f"kefu-rules-{version}-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    for name, text in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    if version_of(directory) != version:
        raise VersionNotOnRecord(f"{version} (its snapshot was altered: the files hash to {version_of(directory)})")
    upgrade_older_folder(directory)  # after the check: the snapshot is what was recorded
    return processes.load_rules(directory)
