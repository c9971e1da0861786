"""Everything that talks to Prefect: starting and waking case runs (``orchestration``), a
person's action as one call (``service``), the embedded server and runner (``local``), and the
Prefect settings (``prefect_env``)."""
