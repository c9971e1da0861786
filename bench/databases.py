"""A scratch kefu database for one bench run: a SQLite file in a temporary folder, or a fresh
PostgreSQL database on the local server (127.0.0.1:5432, trust auth), dropped afterwards."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Callable

import sqlalchemy as sa

from kefu.db import make_engine

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def scratch_engine(backend: str, name: str) -> tuple[sa.Engine, Callable[[], None]]:
    """kefu's engine on ``backend`` (sqlite | postgres) for the bench ``name``, and how to drop it."""
    if backend == "sqlite":
        path = Path(tempfile.mkdtemp(prefix=f"kefu-{name}-bench-")) / "kefu.db"
        return make_engine(f"sqlite:///{path}"), lambda: None
    database = f"kefu_{name}_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {database}"))
    engine = make_engine(f"postgresql://postgres@127.0.0.1:5432/{database}")

    def drop() -> None:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE {database}"))

    return engine, drop
