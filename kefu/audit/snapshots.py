"""Config snapshots: the files of every rules version, recorded the first time an event uses it,
so replay loads the rules in force at the time (not today's config/)."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session

from kefu import clock
from kefu.rules import LOADED_FROM, Rules, load_rules, version_of
from models.records import ConfigSnapshot

# (database, version) pairs known to be on record in this process: the append path pays one
# lookup per version and database, not one per append.
_RECORDED: set[tuple[str, str]] = set()


class VersionNotOnRecord(LookupError):
    def __init__(self, version: str) -> None:
        super().__init__(f"config version {version} not on record")
        self.version = version


def files_of(directory: Path) -> dict[str, str]:
    return {p.relative_to(directory).as_posix(): p.read_text(encoding="utf-8")
            for p in sorted(directory.rglob("*")) if p.is_file()}


def record_once(session: Session, version: str) -> None:
    """Snapshot the files of ``version`` if no snapshot exists yet (inside the append's transaction).

    Only a folder loaded by this process whose files still hash to ``version`` is recorded: files
    edited since they were loaded are another version, and replay says so rather than trusting them."""
    key = (str(session.get_bind().url), version)
    if key in _RECORDED:
        return
    table = ConfigSnapshot.__table__  # type: ignore[attr-defined]
    if session.execute(sa.select(table.c.version).where(table.c.version == version)).first() is not None:
        _RECORDED.add(key)  # committed: this append's transaction might still roll back, that one did not
        return
    directory = LOADED_FROM.get(version)
    if directory is None or version_of(directory) != version:
        return
    try:
        files = files_of(directory)
    except UnicodeDecodeError:
        return  # a binary file in config/: not replayable, and replay will say the version is missing
    insert = (postgresql if session.get_bind().dialect.name == "postgresql" else sqlite).insert(table)
    session.execute(insert.values(version=version, files=files, recorded_at=clock.now())
                    .on_conflict_do_nothing(index_elements=["version"]))


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
    return load_rules(directory)
