"""kefu's database: one URL, SQLite by default, PostgreSQL when scaled out."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from models import (
    complaint,  # noqa: F401  (kefu_complaint_fact)
    outbox,  # noqa: F401  (kefu_outbox)
    records,  # noqa: F401  (registers the tables on SQLModel.metadata)
)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL lets the CLI read while a flow run writes; busy_timeout queues writers instead of failing.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` as people write it; kefu talks psycopg 3."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = sa.create_engine(url, pool_pre_ping=True)
    _create_tables(engine)
    return engine


def _create_tables(engine: Engine, attempts: int = 5) -> None:
    """Create kefu's tables if missing. Two processes on a fresh database (the runner's watch and
    a command) can both find a table missing and both create it: the second one's "already
    exists" means the table is there, so look again."""
    for attempt in range(attempts):
        try:
            SQLModel.metadata.create_all(engine)
            _add_new_columns(engine)
            return
        except (sa.exc.OperationalError, sa.exc.ProgrammingError, sa.exc.IntegrityError) as exc:
            if ("already exists" not in str(exc) and "duplicate" not in str(exc).lower()) or attempt == attempts - 1:
                raise


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    return make_engine(url)


def current_engine() -> Engine:
    from kefu.settings import get_settings

    return engine_for(get_settings().resolved_database_url)


def _add_new_columns(engine: Engine) -> None:
    """A column kefu added to a table since the database was made (create_all only makes missing
    tables) is added with its server default, so an older kefu.db keeps working after an upgrade;
    a new column without one would need a migration of its own and is refused here."""
    inspector = sa.inspect(engine)
    for table in SQLModel.metadata.sorted_tables:
        if not inspector.has_table(table.name):
            continue
        present = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                continue
            if column.server_default is None and not column.nullable:
                raise RuntimeError(f"{table.name}.{column.name} is new and has no default: it needs a migration")
            kind = column.type.compile(dialect=engine.dialect)
            default = f" DEFAULT '{column.server_default.arg}'" if column.server_default is not None else ""
            null = "" if column.nullable else " NOT NULL"
            with engine.begin() as conn:
                conn.execute(sa.text(f'ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}{default}{null}'))
