"""kefu.executor.prefect_server: on the embedded default's SQLite, a Prefect transaction takes the
write lock when it begins, so a read-then-write (a resume: read the pause, then insert the state)
waits its turn instead of failing with "database is locked" when another writer came between.

Each check runs in its own Python process: Prefect's database dependencies are process globals."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# Two Prefect transactions on one SQLite file, as two requests of a busy server: the first reads,
# the second writes and commits, then the first writes. Prints what the first one's write met.
RACE = textwrap.dedent("""
    import asyncio, sys
    import sqlalchemy as sa
    from kefu.executor.prefect_server import queue_sqlite_writers
    if sys.argv[1] == "queued":
        assert queue_sqlite_writers()
    from prefect.server.database import provide_database_interface

    async def main():
        db = provide_database_interface()
        async with db.session_context(begin_transaction=True) as setup:
            await setup.execute(sa.text("CREATE TABLE IF NOT EXISTS t (v INTEGER)"))
        read = asyncio.Event()

        async def first():
            async with db.session_context(begin_transaction=True) as session:
                await session.execute(sa.text("SELECT count(*) FROM t"))
                read.set()
                await asyncio.sleep(0.5)  # the second writer comes between (or waits for us)
                await session.execute(sa.text("INSERT INTO t VALUES (1)"))

        async def second():
            await read.wait()
            async with db.session_context(begin_transaction=True) as session:
                await session.execute(sa.text("INSERT INTO t VALUES (2)"))

        outcome = await asyncio.gather(first(), second(), return_exceptions=True)
        print("locked" if any("database is locked" in str(o) for o in outcome) else "both written")

    asyncio.run(main())
""")


def _race(tmp_path, mode: str) -> str:
    env = {"PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{tmp_path / 'prefect.db'}",
           "PREFECT_HOME": str(tmp_path / "prefect"), "PATH": "/usr/bin:/bin",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
    done = subprocess.run([sys.executable, "-c", RACE, mode], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip()


def test_a_write_after_a_read_waits_for_the_other_writer_instead_of_failing(tmp_path):
    """The resume's shape (read, another writer commits, write) succeeds for both writers."""
    assert _race(tmp_path, "queued") == "both written"


def test_prefects_own_sqlite_transactions_fail_that_way(tmp_path):
    """Why kefu starts Prefect's server through this module: without it, the same two requests
    leave one refused with "database is locked" (the dashboard's failed Resume, issue 17). If a
    Prefect release fixes this, this test says the module can go."""
    assert _race(tmp_path, "prefect") == "locked"
