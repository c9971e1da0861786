"""The case kernel every process shares, with no Prefect and no process names: the write path,
refusals, deadlines and the business calendar, SLA and ladders, the store and its hash chain,
the one clock, texts, assignment, and the shape of a process declaration (``process``)."""
