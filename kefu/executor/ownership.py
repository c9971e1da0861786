"""Which kefu a Prefect server belongs to, so that two kefus never cross: a second checkout's
`kefu up` on the default port must not attach to the first one's server, serve the same
deployment names, and run the other's cases against its own database.

The first kefu to use a server claims it in a Prefect Variable (``kefu_owner``) with its
database; any kefu with another database is refused, told whose server it is and how to pick
another. Scale-out workers on other hosts share the database, so they share the server too.
"""

from __future__ import annotations

import sqlalchemy as sa

from kefu.core.refusals import InputRefused
from kefu.db import normalise_url
from kefu.executor.prefect_api import AlreadyExists, PrefectApi
from kefu.settings import get_settings

VARIABLE = "kefu_owner"


def identity() -> dict[str, str]:
    """This kefu: its database (what its cases are) and its home (where a person finds it)."""
    settings = get_settings()
    database = sa.engine.make_url(normalise_url(settings.resolved_database_url)).render_as_string(hide_password=True)
    return {"database": database, "home": str(settings.home.resolve())}


def claim(client: PrefectApi) -> None:
    """Make the server this kefu's if nobody holds it; refuse (field ``prefect``) if another does."""
    mine = identity()
    held = client.read_variable(VARIABLE)
    if held is None:
        try:
            client.create_variable(VARIABLE, mine)
            return
        except AlreadyExists:  # another kefu claimed it a moment ago
            held = client.read_variable(VARIABLE)
    theirs = held if isinstance(held, dict) else {}
    if theirs.get("database") == mine["database"]:
        return
    raise InputRefused(
        "prefect", f"the Prefect server at {client.url} belongs to another kefu (KEFU_HOME "
                   f"{theirs.get('home', '?')}, database {theirs.get('database', '?')}); this one's database is "
                   f"{mine['database']}",
        f"give this kefu a server of its own: another port, e.g. KEFU_PREFECT_PORT={get_settings().prefect_port + 1} "
        "kefu up (and the same KEFU_PREFECT_PORT for its other commands)")
