"""Config snapshots: the files of every rules version, recorded the first time an event uses it,
so replay loads the rules in force at the time, not today's config/ (``kefu.audit.snapshots``
reads them back)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from kefu.core import clock
from kefu.core.rules import LOADED_FROM, version_of
from models.records import ConfigSnapshot

# (database, version) pairs known to be on record in this process: the append path pays one
# lookup per version and database, not one per append.
_RECORDED: set[tuple[str, str]] = set()


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
    directory = next((d for d in LOADED_FROM.get(version, ()) if d.is_dir() and version_of(d) == version), None)
    if directory is None:
        return
    try:
        files = files_of(directory)
    except UnicodeDecodeError:
        return  # a binary file in config/: not replayable, and replay will say the version is missing
    insert = (postgresql if session.get_bind().dialect.name == "postgresql" else sqlite).insert(table)
    session.execute(insert.values(version=version, files=files, recorded_at=clock.now())
                    .on_conflict_do_nothing(index_elements=["version"]))
