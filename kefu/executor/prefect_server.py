"""Prefect's server for the embedded default: ``prefect server start``, with SQLite writers that
queue for the database instead of failing on it.

On SQLite, Prefect begins most write transactions DEFERRED: the transaction reads first (the flow
run, its pause, its input schema) and takes the write lock only at its first write. When another
writer committed in between, SQLite cannot upgrade the stale read and answers ``database is
locked`` at once — its busy timeout does not apply to that case. Prefect's Python client retries
the 503 after 2, 4, 8 s (the 20–30 s outliers of an action on a busy machine); the dashboard does
not retry at all, so an ops person's Resume failed with a toast. Measured on 2 busy cores with
``bench/complaint_throughput.py``: 74 of 120 resumes and 37 run creations refused before.

Every transaction Prefect begins here is IMMEDIATE: it takes the write lock when it starts and
waits for it (the server's busy timeout, 60 s) behind the writer before it. Reads outside a
transaction, most of what the dashboard asks, still run beside a writer (WAL). PostgreSQL
(scale-out) is untouched: this applies to a SQLite connection URL only.

    python -m kefu.executor.prefect_server --host 127.0.0.1 --port 4200
"""

from __future__ import annotations

import sys
from contextlib import asynccontextmanager


def queue_sqlite_writers() -> bool:
    """Make Prefect's SQLite transactions IMMEDIATE; False when the database is not SQLite."""
    from prefect.server.database import dependencies
    from prefect.server.database.configurations import AioSqliteConfiguration
    from prefect.settings import PREFECT_API_DATABASE_CONNECTION_URL

    url = PREFECT_API_DATABASE_CONNECTION_URL.value()
    if not url.startswith("sqlite"):
        return False

    class QueuedWriters(AioSqliteConfiguration):
        @asynccontextmanager
        async def begin_transaction(self, session, with_for_update: bool = False):
            async with super().begin_transaction(session, with_for_update=True) as transaction:
                yield transaction

    dependencies.set_database_config(QueuedWriters(connection_url=url))
    return True


def main(argv: list[str]) -> None:
    queue_sqlite_writers()
    from prefect.cli import app

    sys.argv = ["prefect", "server", "start", *argv]  # Prefect's entry point reads its arguments there
    app()


if __name__ == "__main__":
    main(sys.argv[1:])
