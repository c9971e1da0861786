"""Verify or replay every case on all cores: the cases are split into contiguous id ranges, one
per worker process, each with its own database connection (the work is CPU-bound Python)."""

from __future__ import annotations

import multiprocessing
import os
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from models.records import Case

Kind = Literal["verify", "replay"]


def id_ranges(engine: Engine, workers: int) -> list[tuple[str, str | None]]:
    """Up to ``workers`` contiguous ranges of case ids holding about as many cases each."""
    with engine.connect() as conn:
        ids = list(conn.execute(sa.select(Case.id).order_by(Case.id)).scalars())
    if not ids:
        return []
    workers = min(workers, len(ids))  # never more ranges than cases (a huge --workers is not a loop)
    starts = sorted({ids[i * len(ids) // workers] for i in range(workers)})
    return [(start, starts[i + 1] if i + 1 < len(starts) else None) for i, start in enumerate(starts)]


def _work(job: tuple[str, Kind, tuple[str, str | None]]) -> list[Any]:
    from kefu.audit import replay
    from kefu.core import chain
    from kefu.db import make_engine

    url, kind, id_range = job
    engine = make_engine(url)
    try:
        if kind == "verify":
            return list(chain.verify(engine, id_range=id_range))
        results = []
        for result in replay.replay(engine, id_range=id_range):
            result.state = None  # the folded state stays in the worker: verdicts travel, not cases
            results.append(result)
        return results
    finally:
        engine.dispose()


def run_all(engine: Engine, kind: Kind, workers: int | None = None) -> list[Any]:
    """Every case's verdict (``kind``: verify or replay), computed by ``workers`` processes."""
    workers = workers or os.cpu_count() or 1
    ranges = id_ranges(engine, workers)
    url = engine.url.render_as_string(hide_password=False)
    if len(ranges) <= 1:
        return _work((url, kind, ranges[0])) if ranges else []
    engine.dispose()  # no pooled connection crosses the fork
    with multiprocessing.get_context("fork").Pool(len(ranges)) as pool:
        return [item for part in pool.map(_work, [(url, kind, r) for r in ranges]) for item in part]
