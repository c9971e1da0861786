"""``kefu audit``: tamper evidence, replay of the rules, the auditor's report, process-mining
export and import (docs/audit.md).

Registered by kefu/cli.py (``app.add_typer(audit_app, name="audit")``). Same conventions as the
rest of the CLI: ``--json`` everywhere; exit 0 on success, 2 on bad input, 1 on an internal
error — and 1 when a verified or replayed case is not in order, so a script notices."""

from __future__ import annotations

from typing import Any, Optional

import typer

from kefu.cli_support import BadInput, command, emit

audit_app = typer.Typer(no_args_is_help=True, help="Audit 审计: verify the record, replay the rules, report, export, import.")


def _case_ids(case_id: Optional[str], all_cases: bool) -> list[str] | None:
    if bool(case_id) == all_cases:
        raise BadInput("case_id", "give one case id or --all, not both or neither",
                       "e.g. `kefu audit verify C-20261123-0001` or `kefu audit verify --all`")
    return None if all_cases else [case_id]  # type: ignore[list-item]


@audit_app.command("verify")
@command
def verify(
    case_id: Optional[str] = typer.Argument(None, help="The case to verify."),
    all_cases: bool = typer.Option(False, "--all", help="Verify every case."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Check the hash chain and seal of a case (or all): 核验记录未被篡改."""
    from kefu.audit import chain
    from kefu.db import current_engine
    from kefu.store import UnknownCase

    wanted = _case_ids(case_id, all_cases)
    verdicts = list(chain.verify(current_engine(), wanted))
    if wanted and not verdicts:
        raise UnknownCase(wanted[0])
    broken = [v for v in verdicts if not v.intact]
    data: dict[str, Any] = {
        "cases": len(verdicts), "events": sum(v.events for v in verdicts), "intact": len(verdicts) - len(broken),
        "tampered": [{"case_id": v.case_id, "problems": [
            {"event": p.seq, "kind": p.kind, "detail": p.detail} for p in v.problems]} for v in broken],
    }
    lines = [f"{data['cases']} cases, {data['events']} events: {data['intact']} intact 完好, {len(broken)} tampered 被篡改"]
    lines += [f"  ✗ {p.text()}" for v in broken for p in v.problems]
    emit(as_json, data, "\n".join(lines))
    if broken:
        raise typer.Exit(1)
