"""``kefu intake …``: files kefu takes in, validated, every row accounted for
(``rows = imported + quarantined + duplicates``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import typer

from kefu import processes, runtime
from kefu.cli.support import JsonOpt, caller, command, emit
from kefu.executor import service

intake_app = typer.Typer(no_args_is_help=True, help="Files kefu takes in (CSV, XLSX): validated, every row "
                         "accounted for; bad rows quarantined with their reason.")

FileArg = typer.Argument(..., help="A .csv (UTF-8 or GB18030) or .xlsx file.", exists=True, dir_okay=False)
MappingOpt = typer.Option(..., "--mapping", help="The mapping YAML: which column holds each field (see docs/mappings/).",
                          exists=True, dir_okay=False)
DryRunOpt = typer.Option(False, "--dry-run", help="Check and count every row; write nothing.")


@intake_app.command("complaints")
@command
def intake_complaints(
    file: Path = FileArg,
    mapping: Path = MappingOpt,
    mode: str = typer.Option("archive", "--as", help="archive: historic complaints, recorded closed (建立投诉归档资料), "
                             "no flow runs; open: live cases through the normal intake (flow runs, deadlines), paced "
                             "by complaint.yaml intake.open_per_second."),
    dry_run: bool = DryRunOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Take in a file of complaints (an archive, another channel's export)."""
    take_in("complaints", file, mapping, mode, dry_run, as_json)


@intake_app.command("customers")
@command
def intake_customers(file: Path = FileArg, mapping: Path = MappingOpt, dry_run: bool = DryRunOpt,
                     as_json: bool = JsonOpt) -> None:
    """Take in a file of customer records (the day's collected records, another tool's archive): each
    new customer waits for the supervisor's assignment (`kefu customer assign`)."""
    take_in("customers", file, mapping, "open", dry_run, as_json)


def take_in(target_name: str, file: Path, mapping_path: Path, mode: str, dry_run: bool, as_json: bool) -> None:
    """Validate and take in ``file`` as ``target_name`` rows, for the verified caller."""
    from kefu import intake
    from kefu.intake.mapping import load_mapping
    from kefu.intake.reading import rows_in

    target = processes.intake_target(target_name)
    verified = caller()
    mapping = load_mapping(mapping_path)

    def opener(target: Any, registration: Any, origin: dict[str, Any], also: Callable[..., None]) -> Any:
        state, note = service.open_from_file(target, registration, verified, origin, also)
        if note != "started":
            typer.echo(f"warning: {state.case_id} recorded, but its flow run {note}", err=True)
        return state

    with service.acting(verified) as who, _progress(not as_json, lambda: rows_in(file)) as advance:
        result = intake.take_in(runtime.store(), runtime.rules(), target, file, mapping, mode=mode, actor=who.by,
                                dry_run=dry_run, opener=opener, progress=advance)
    verb = "would be imported" if dry_run else "imported"
    lines = [f"{result.batch}: {result.rows} rows — {result.imported} {verb}, {result.quarantined} quarantined, "
             f"{result.duplicates} duplicates"]
    lines += [f"  {count:>6} × {reason}" for reason, count in result.reasons.most_common()]
    if result.quarantined and not dry_run:
        lines.append(f"  the held rows: `kefu intake quarantine --batch {result.batch}`")
    emit(as_json, result.as_json(), "\n".join(lines))


class _progress:
    """A progress bar on a terminal (rows read of about how many); nothing otherwise."""

    def __init__(self, wanted: bool, total: Callable[[], int | None]) -> None:
        self.bar = None
        if wanted and sys.stderr.isatty():  # counting the rows reads the file once more: only for a bar
            from rich.progress import Progress

            self.bar = Progress(transient=True)
            self.total = total()

    def __enter__(self) -> Callable[[int], None] | None:
        if self.bar is None:
            return None
        self.bar.start()
        task = self.bar.add_task("rows", total=self.total)
        return lambda rows: self.bar.advance(task, rows)  # type: ignore[union-attr]

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.stop()


@intake_app.command("quarantine")
@command
def intake_quarantine(
    batch: Optional[str] = typer.Option(None, "--batch", help="Only this batch's rows (its id, as an import printed it)."),
    as_json: bool = JsonOpt,
) -> None:
    """The rows held back: row, field, value and reason. A row fixed and imported again is no longer held."""
    from kefu.intake import held_rows

    rows = held_rows(runtime.store(), batch)
    emit(as_json, rows, "\n".join(_lines(rows)) or "no rows held")


def _lines(rows: list[dict[str, Any]]) -> Iterator[str]:
    for r in rows:
        value = "(empty)" if r["value"] is None else repr(r["value"])
        first = r["problems"][0] if r["problems"] else {}
        detail = f" ({first['detail']})" if first.get("detail") else ""
        more = f" (+{len(r['problems']) - 1} more)" if len(r["problems"]) > 1 else ""
        yield f"{r['batch']} row {r['row']}: {r['field']} {value} — {r['reason']}{detail}{more}"
