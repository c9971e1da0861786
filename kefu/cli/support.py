"""What every ``kefu`` command shares: output as text or ``--json``, and one mapping of errors
to exit codes — 0 on success, 2 on bad input (the message names the field and the fix), 1 on an
internal error (with the traceback on stderr)."""

from __future__ import annotations

import functools
import json
import os
import sys
import traceback
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable

import typer
from sqlalchemy.exc import InterfaceError, OperationalError

from kefu import runtime
from kefu.core.config import ConfigError
from kefu.core.identity import Verified
from kefu.core.refusals import InputRefused
from kefu.core.store import UnknownCase

# The options every command group shares.
JsonOpt = typer.Option(False, "--json", help="Machine-readable output.")
ByOpt = typer.Option(None, "--by", help="Whom you decide for: yourself (the default, from your token) or, where "
                                         "department.yaml access.deputies allows, the person you stand in for.")


class BadInput(Exception):
    """A command-line value a person can fix; nothing was recorded."""

    def __init__(self, field: str, problem: str, fix: str) -> None:
        super().__init__(f"{field}: {problem} — {fix}")
        self.field, self.problem, self.fix = field, problem, fix


def token_file() -> Path:
    """Where `kefu login` keeps the caller's token (the user's own config folder, 0600)."""
    return Path(typer.get_app_dir("kefu")) / "token"


def caller() -> Verified:
    """The verified staff member running this command: ``KEFU_TOKEN``, else the token `kefu login` kept."""
    from kefu.core import clock, identity

    token = os.environ.get("KEFU_TOKEN") or (token_file().read_text().strip() if token_file().is_file() else "")
    if not token:
        raise BadInput("token", "you are not signed in: kefu records every decision for the verified person who "
                                "made it", identity.HOW_TO_GET_A_TOKEN)
    return identity.verify_token(runtime.store().engine, runtime.rules(), token, clock.now())


def parse_day(value: str, field: str) -> date:
    """A calendar day given on the command line (YYYY-MM-DD)."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadInput(field, f"{value!r} is not a date", "give it as YYYY-MM-DD, e.g. 2026-11-30") from None


def parse_time(value: str, field: str) -> datetime:
    """A moment given on the command line: ISO-8601 with its UTC offset (a bare time is ambiguous)."""
    fix = "give ISO-8601 with its UTC offset, e.g. 2026-11-24T10:00:00+08:00"
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise BadInput(field, f"{value!r} is not a time", fix) from None
    if at.tzinfo is None:
        raise BadInput(field, f"{value!r} has no UTC offset", fix)
    return at


def written(field: str, folder: Path, write: Callable[[], dict[str, Path]]) -> dict[str, str]:
    """Write a report's files to ``folder`` (``write()``), or refuse naming ``field`` when the
    folder cannot be made or written (no such disk, no permission, a name the file system refuses)."""
    try:
        return {k: str(v) for k, v in write().items()}
    except OSError as exc:
        raise BadInput(field, f"cannot write to {str(folder)[:80]!r}: {exc.strerror or exc}",
                       "give a folder you may write to, e.g. --out ./reports") from None


def emit(as_json: bool, data: Any, text: str) -> None:
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        typer.echo(text)


def command(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Map kefu's errors to exit codes and messages, the same way for every command."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        as_json = kwargs.get("as_json", False)
        try:
            return fn(*args, **kwargs)
        except (InputRefused, BadInput) as exc:
            _fail(as_json, 2, {"field": exc.field, "problem": exc.problem, "fix": exc.fix})
        except UnknownCase as exc:
            _fail(as_json, 2, {"field": "case_id", "problem": f"no case {exc.case_id!r}",
                               "fix": "check the id with `kefu case list`"})
        except ConfigError as exc:
            _fail(as_json, 2, {"field": f"{exc.file}: {exc.key}", "problem": exc.problem, "fix": exc.fix})
        except (OperationalError, InterfaceError) as exc:  # the database, not the input or kefu
            _fail(as_json, 2, database_unavailable(exc))
        except typer.Exit:
            raise
        except Exception as exc:  # an internal error: say what, keep the traceback for the logs
            traceback.print_exc(file=sys.stderr)
            _fail(as_json, 1, {"field": None, "problem": f"internal error: {exc}", "fix": "see the traceback above"})

    return wrapper


def database_unavailable(exc: Exception) -> dict[str, Any]:
    """kefu's database did not answer (down, restarting, unreachable): what a person can do. A
    transaction it cut was rolled back; one it committed first is on record, so look before
    typing the command again."""
    reason = str(getattr(exc, "orig", exc) or exc).strip().splitlines()[0][:300]
    return {"field": "database", "problem": f"kefu's database did not answer: {reason}",
            "fix": "check that it runs and that KEFU_DATABASE_URL points at it; once it answers, `kefu case list` "
                   "shows whether this was recorded before the database went away (a decision already recorded "
                   "is refused if typed again, so none is made twice)"}


def _fail(as_json: bool, code: int, error: dict[str, Any]) -> None:
    if as_json:
        typer.echo(json.dumps({"error": error}, ensure_ascii=False))
    else:
        where = f"{error['field']}: " if error["field"] else ""
        typer.echo(f"error: {where}{error['problem']}\n  fix: {error['fix']}", err=True)
    raise typer.Exit(code)


def local_iso(at: datetime | None) -> str | None:
    """A stored UTC time as ISO-8601 in the department's zone (with its offset)."""
    if at is None:
        return None
    return at.astimezone(runtime.rules().department.department.zone).isoformat()
