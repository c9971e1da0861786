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


def replay_data(results: list[Any], prefect_note: str | None) -> dict[str, Any]:
    """Replay results as JSON-ready data (the CLI's --json, the flow's artifact, the report)."""
    def one(r: Any) -> dict[str, Any]:
        d = r.divergence
        return {
            "case_id": r.case_id, "process": r.process, "status": r.status, "events": r.events, "verdict": r.verdict,
            "divergence": None if d is None else {"event": d.seq, "type": d.event, "what": d.what,
                                                  "expected": d.expected, "recorded": d.recorded},
            "tampering": [{"event": p.seq, "kind": p.kind, "detail": p.detail} for p in r.problems],
            "notes": r.notes, "config_versions": r.versions, "prefect": r.prefect,
        }

    rows = [one(r) for r in results]
    return {"cases": len(rows), **{v: sum(r["verdict"] == v for r in rows) for v in ("consistent", "divergent", "tampered")},
            "prefect": prefect_note, "results": rows}


@audit_app.command("replay")
@command
def replay(
    case_id: Optional[str] = typer.Argument(None, help="The case to replay."),
    all_cases: bool = typer.Option(False, "--all", help="Replay every case."),
    prefect: bool = typer.Option(True, "--prefect/--no-prefect", help="Cross-check with Prefect's flow runs."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Recompute every rule-derived decision with the rules in force at the time: 按当时规则复核."""
    from kefu.audit import prefect_check
    from kefu.audit import replay as replaying
    from kefu.db import current_engine
    from kefu.store import UnknownCase

    wanted = _case_ids(case_id, all_cases)
    results = list(replaying.replay(current_engine(), wanted))
    if wanted and not results:
        raise UnknownCase(wanted[0])
    note = prefect_check.cross_check(results) if prefect else None
    data = replay_data(results, note)
    lines = [r.summary() for r in results]
    lines += [f"    note: {n}" for r in results for n in r.notes]
    lines.append(f"{data['cases']} cases replayed 复核: {data['consistent']} consistent 一致, "
                 f"{data['divergent']} divergent 不一致, {data['tampered']} tampered 被篡改")
    if note:
        lines.append(f"Prefect: {note}")
    emit(as_json, data, "\n".join(lines))
    if data["divergent"] or data["tampered"]:
        raise typer.Exit(1)
