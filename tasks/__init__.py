"""Prefect tasks: each a small, idempotent step that records what it did in the case's events."""

from functools import partial

from prefect import task
from prefect.cache_policies import NONE

# Every step: a few quick retries for a busy database, and a timeout so a stuck step fails
# visibly in the dashboard instead of holding its run forever. Caching is off: the case
# record, not Prefect's result cache, decides what has been done.
step = partial(task, retries=3, retry_delay_seconds=[1, 4, 10], timeout_seconds=60, cache_policy=NONE)
