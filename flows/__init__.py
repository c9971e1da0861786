"""Prefect flows: one per process in PROCESSES.md, one run per case."""
