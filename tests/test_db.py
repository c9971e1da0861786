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


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_database_from_before_customer_messages_gains_the_outbox_channel_with_its_mail_as_e_mail(
        backend, tmp_path, request):
    """kefu.db adds a column kefu added since the database was made: an older outbox keeps its
    queued staff mail (as e-mail) and takes customer messages after the upgrade."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
    else:
        url = request.getfixturevalue("pg_store").engine.url.render_as_string(hide_password=False)
    engine = db.make_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE kefu_outbox DROP COLUMN channel"))
        conn.execute(sa.text("INSERT INTO kefu_outbox (key, \"to\", subject, text, html, status, attempts, created_at) "
                             "VALUES ('digest:1', '[\"sun.li@kefu.example\"]', 's', 't', 'h', 'pending', 0, "
                             "'2026-11-23 01:30:00')"))
    engine.dispose()
    upgraded = db.make_engine(url)
    with upgraded.connect() as conn:
        assert conn.execute(sa.text("SELECT channel FROM kefu_outbox")).scalars().all() == ["email"]
    upgraded.dispose()
