"""kefu.db: the tables are created by whichever kefu process comes first on a fresh database."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

from kefu import db


def _lost_race_once(monkeypatch, error: Exception) -> list[int]:
    """create_all as a process sees it when another one created a table between its look and its
    CREATE (seen in CI: the runner's watch and the bench on a fresh kefu.db)."""
    real, calls = SQLModel.metadata.create_all, []

    def create_all(engine, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise error
        return real(engine, *args, **kwargs)

    monkeypatch.setattr(SQLModel.metadata, "create_all", create_all)
    return calls


def test_a_process_that_loses_the_race_to_create_a_table_finds_it_there(tmp_path, monkeypatch):
    calls = _lost_race_once(monkeypatch, sa.exc.OperationalError(
        "CREATE TABLE kefu_case", {}, Exception("table kefu_case already exists")))
    engine = db.make_engine(f"sqlite:///{tmp_path / 'kefu.db'}")
    assert len(calls) == 2 and "kefu_case" in sa.inspect(engine).get_table_names()


def test_any_other_database_error_at_creation_is_not_swallowed(tmp_path, monkeypatch):
    _lost_race_once(monkeypatch, sa.exc.OperationalError("CREATE TABLE", {}, Exception("disk I/O error")))
    with pytest.raises(sa.exc.OperationalError, match="disk I/O"):
        db.make_engine(f"sqlite:///{tmp_path / 'kefu.db'}")
