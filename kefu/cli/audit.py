"""``kefu audit``: tamper evidence, replay of the rules, the auditor's report, process-mining
export and import (docs/audit.md).

Registered by kefu/cli/ (``app.add_typer(audit_app, name="audit")``). Same conventions as the
rest of the CLI: ``--json`` everywhere; exit 0 on success, 2 on bad input, 1 on an internal
error — and 1 when a verified or replayed case is not in order, so a script notices."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from kefu.cli.support import BadInput, JsonOpt, command, emit, parse_day

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
    workers: int = typer.Option(1, "--workers", min=1, max=64, help="With --all: processes to use (one per core, at most 64)."),
    as_json: bool = JsonOpt,
) -> None:
    """Check the hash chain and seal of a case (or all): 核验记录未被篡改."""
    from kefu.audit import parallel
    from kefu.core import chain
    from kefu.core.store import UnknownCase
    from kefu.db import current_engine

    wanted = _case_ids(case_id, all_cases)
    verdicts = parallel.run_all(current_engine(), "verify", workers) if all_cases \
        else list(chain.verify(current_engine(), wanted))
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
    workers: int = typer.Option(1, "--workers", min=1, max=64, help="With --all: processes to use (one per core, at most 64)."),
    as_json: bool = JsonOpt,
) -> None:
    """Recompute every rule-derived decision with the rules in force at the time: 按当时规则复核."""
    from kefu.audit import parallel
    from kefu.audit import replay as replaying
    from kefu.core.store import UnknownCase
    from kefu.db import current_engine
    from kefu.executor import prefect_check

    wanted = _case_ids(case_id, all_cases)
    results = parallel.run_all(current_engine(), "replay", workers) if all_cases \
        else list(replaying.replay(current_engine(), wanted))
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


@audit_app.command("export")
@command
def export(
    path: Path = typer.Argument(..., help="The file to write (.xes or .csv)."),
    fmt: str = typer.Option(..., "--format", help="xes (IEEE 1849) or csv."),
    as_json: bool = JsonOpt,
) -> None:
    """Write every case's events as an event log for process mining: 导出事件日志 (XES/CSV)."""
    from kefu.audit import export as exporting
    from kefu.db import current_engine

    writers = {"xes": exporting.write_xes, "csv": exporting.write_csv}
    if fmt not in writers:
        raise BadInput("format", f"unknown format {fmt!r}", "use --format xes or --format csv")
    if not path.parent.is_dir():
        raise BadInput("file", f"no folder {path.parent}", "create the folder first or write elsewhere")
    counts = writers[fmt](current_engine(), path)
    emit(as_json, {**counts, "file": str(path), "format": fmt},
         f"wrote {counts['cases']} cases, {counts['events']} events to {path} ({fmt}) 已导出")


@audit_app.command("import")
@command
def import_log(
    path: Path = typer.Argument(..., help="The event log (.csv, .xes or .xes.gz)."),
    fmt: str = typer.Option(..., "--format", help="csv or xes."),
    mapping: Optional[Path] = typer.Option(None, "--mapping", help="YAML naming the columns (XES: standard keys by default)."),
    as_json: bool = JsonOpt,
) -> None:
    """Load another helpdesk's history as read-only cases, with its statistics: 导入外部事件日志."""
    from kefu.audit import importer
    from kefu.db import current_engine

    if fmt not in ("csv", "xes"):
        raise BadInput("format", f"unknown format {fmt!r}", "use --format csv or --format xes")
    if fmt == "csv" and mapping is None:
        raise BadInput("mapping", "a CSV log needs a mapping", "give --mapping MAPPING.yaml (see docs/mappings/)")
    stats = importer.import_log(current_engine(), path, fmt, importer.load_mapping(mapping))  # type: ignore[arg-type]
    t = stats["throughput_seconds"]
    days = {k: "-" if v is None else f"{v / 86400:.1f} d" for k, v in t.items()}
    emit(as_json, stats, "\n".join([
        f"batch {stats['batch']} (read-only 只读历史案例) from {path}",
        f"  cases 案例 {stats['cases']}, events 事件 {stats['events']}, activities 活动 {stats['activities']}, "
        f"variants 变体 {stats['variants']}",
        f"  throughput 处理时长: mean {days['mean']}, median {days['median']}, max {days['max']}",
        f"  quarantined 隔离的行 {stats['quarantined']}" + (" (see kefu_import_quarantine)" if stats["quarantined"] else ""),
    ]))



@audit_app.command("report")
@command
def report(
    date_from: str = typer.Option(..., "--from", help="First day (YYYY-MM-DD, department's zone)."),
    date_to: str = typer.Option(..., "--to", help="Last day, inclusive."),
    out: Path = typer.Option(..., "--out", help="Folder for the Markdown and HTML report."),
    prefect: bool = typer.Option(True, "--prefect/--no-prefect", help="Cross-check with Prefect's flow runs."),
    anchor_file: Optional[Path] = typer.Option(None, "--anchor", help="An anchor `kefu audit anchor` wrote "
                                               "earlier: the report says whether the period's seals still match it."),
    as_json: bool = JsonOpt,
) -> None:
    """Replay the cases closed in a period and write the auditor's report: 审计报告 (HTML + Markdown)."""
    from kefu import runtime
    from kefu.audit import report as reporting
    from kefu.db import current_engine
    from kefu.executor import prefect_check

    start, end = parse_day(date_from, "--from"), parse_day(date_to, "--to")
    if end < start:
        raise BadInput("--to", f"{end} is before --from {start}", "give --to on or after --from")
    rules = runtime.rules()
    anchored = None
    if anchor_file is not None:
        from kefu.audit import anchor as anchoring

        if not anchor_file.is_file():
            raise BadInput("--anchor", f"no anchor file {anchor_file}", "give the file `kefu audit anchor FILE` wrote")
        try:
            anchored = anchor_file.name, anchoring.written(anchor_file)
        except (ValueError, KeyError) as exc:
            raise BadInput("--anchor", f"not a valid anchor: {exc}", "use the file as `kefu audit anchor` wrote it") \
                from None
    built = reporting.build(current_engine(), rules, start, end, prefect_check.cross_check if prefect else None,
                            anchored)
    paths = reporting.write(rules, built, out)
    summary = built.summary()
    emit(as_json, {**summary, "files": paths, "prefect": built.prefect_note},
         f"{summary['cases']} cases closed {start} – {end} replayed 复核: {summary['consistent']} consistent 一致, "
         f"{summary['divergent']} divergent 不一致, {summary['tampered']} tampered 被篡改\n"
         f"  {paths['html']}\n  {paths['markdown']}")


@audit_app.command("anchor")
@command
def anchor(
    path: Path = typer.Argument(..., help="The anchor file to write (or, with --check, to compare with)."),
    check: bool = typer.Option(False, "--check", help="Compare today's seals with an anchor written before."),
    as_json: bool = JsonOpt,
) -> None:
    """Write the closed cases' seals to a file kept outside the database, or check against it: 外部锚定."""
    from kefu.audit import anchor as anchoring
    from kefu.db import current_engine

    if not check:
        written = anchoring.write(current_engine(), path)
        emit(as_json, {**written, "file": str(path)},
             f"anchored {written['cases']} sealed cases in {path}; digest {written['digest']}\n"
             f"  keep it outside kefu's database (sign, print or send it); check later with --check")
        return
    if not path.is_file():
        raise BadInput("path", f"no anchor file {path}", "give the file `kefu audit anchor FILE` wrote")
    try:
        findings = anchoring.check(current_engine(), path)
    except (ValueError, KeyError) as exc:
        raise BadInput("path", f"not a valid anchor: {exc}", "use the file as `kefu audit anchor` wrote it") from None
    emit(as_json, {"file": str(path), "findings": findings},
         "\n".join([f"  ✗ {f['case_id']}: {f['problem']}" for f in findings])
         or f"every case anchored in {path} still carries its seal 与锚定一致")
    if findings:
        raise typer.Exit(1)
