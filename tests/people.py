"""Staff acting in in-process tests, as kefu records them: a decision made inside ``signed_in``
is stamped as verified by that person's token (kefu.core.identity). The CLI and form tests
verify real tokens and PINs; these tests drive the domain directly, so they state who acts."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Sequence

from kefu.core import identity
from kefu.core.identity import Acting, Verified


@contextmanager
def signed_in(staff: str) -> Iterator[Acting]:
    with identity.acting_as(Acting(staff, Verified(staff, identity.CLI_TOKEN))) as acting:
        yield acting


# The person a CLI test acts as when it names nobody (``--by``): an agent, signed in.
DEFAULT_CALLER = "li.na"
_tokens: dict[tuple[str, str], str] = {}


def token_of(staff: str) -> str:
    """A real token of ``staff`` in the current kefu home (issued once per home and person)."""
    from kefu import runtime
    from kefu.core import clock

    engine = runtime.store().engine
    key = (str(engine.url), staff)
    if key not in _tokens:
        _tokens[key] = identity.issue_token(engine, runtime.rules(), staff, clock.now())
    return _tokens[key]


def signed_in_env(args: Sequence[str], as_: str | None = None) -> dict[str, str]:
    """KEFU_TOKEN for ``kefu ARGS`` run as ``as_``, else as the ``--by`` it names, else as
    DEFAULT_CALLER: the way a person runs it after `kefu login`."""
    from kefu import runtime
    from kefu.core.config import ConfigError

    by = args[list(args).index("--by") + 1] if "--by" in args else None
    try:
        staff = as_ or (by if by and runtime.rules().staff_member(by) else None) or DEFAULT_CALLER
        return {"KEFU_TOKEN": token_of(staff)}
    except ConfigError:
        return {}  # nobody can sign in to a kefu whose config does not load; the command says why
