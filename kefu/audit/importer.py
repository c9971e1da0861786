"""Import another helpdesk's event log (CSV or XES, also .xes.gz) as read-only historical cases,
and the statistics process-mining papers publish for such logs.

Streaming: CSV rows and XES traces are read one at a time (``csv`` reader, ``iterparse`` with
each trace cleared after use) and written in chunks; the statistics come from the database
(variants from the events sorted by case and time), so memory follows the number of cases, not
of events. A row that cannot be read is quarantined with its position and reason
(``kefu_import_quarantine``) and counted, never dropped silently.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import statistics
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
import yaml
from lxml import etree
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from sqlalchemy.engine import Engine

from kefu.core import clock
from kefu.core.config import ConfigError
from models.records import ImportBatch, ImportedCase, ImportedEvent, QuarantinedRow

CHUNK = 5000


class Mapping(BaseModel):
    """Which columns (CSV) or attribute keys (XES) hold each field; the XES defaults are the
    standard extensions' keys."""

    model_config = ConfigDict(extra="forbid")

    case: str = "case:concept:name"
    activity: str = "concept:name"
    timestamp: str = "time:timestamp"
    resource: str | None = "org:resource"
    lifecycle: str | None = "lifecycle:transition"
    # For CSV: a strptime format if the timestamps are not ISO-8601, and the zone of times
    # written without an offset.
    timestamp_format: str | None = None
    timezone: str = "UTC"
    delimiter: str = ","
    encoding: str = "utf-8"

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Europe/Rome or UTC") from None
        return value


XES_TRACE_CASE = "concept:name"  # a trace's own name, whatever the event-level mapping says


def load_mapping(path: Path | None) -> Mapping:
    if path is None:
        return Mapping()
    if not path.is_file():
        raise ConfigError(str(path), "(file)", "missing", "give the path of a mapping YAML (see config/mappings/)")
    try:
        return Mapping.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(p) for p in error["loc"]) or "(top level)"
        message = error["msg"].removeprefix("Value error, ")
        fix = {"extra_forbidden": "remove this key; known keys: " + ", ".join(Mapping.model_fields)}.get(
            error["type"], message.split("; ", 1)[1] if "; " in message else "correct the value")
        raise ConfigError(str(path), key, message.split("; ", 1)[0], fix) from None


class _Reader:
    def __init__(self, mapping: Mapping) -> None:
        self.mapping = mapping
        self.zone = ZoneInfo(mapping.timezone)

    def time(self, text: str) -> datetime:
        value = datetime.strptime(text, self.mapping.timestamp_format) if self.mapping.timestamp_format \
            else datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        if value.tzinfo is None:
            value = value.replace(tzinfo=self.zone)
        return value.astimezone(timezone.utc)

    def event(self, trace_case: str | None, fields: dict[str, str]) -> dict[str, Any]:
        """One event from its fields (and its trace's name, in XES); raises ValueError naming what is wrong."""
        m = self.mapping
        case = trace_case if trace_case is not None else fields.get(m.case)
        activity, stamp = fields.get(m.activity), fields.get(m.timestamp)
        case_key = f"trace {XES_TRACE_CASE}" if trace_case is not None else m.case
        for name, key, value in (("case", case_key, case), ("activity", m.activity, activity),
                                 ("timestamp", m.timestamp, stamp)):
            if value is None or not str(value).strip():
                raise ValueError(f"{name} ({key}) is empty or missing")
        try:
            at = self.time(stamp)  # type: ignore[arg-type]
        except ValueError:
            raise ValueError(f"timestamp ({m.timestamp}) {stamp!r} is not "
                             + (f"in the format {m.timestamp_format!r}" if m.timestamp_format else "ISO-8601")) from None
        return {"case_ref": str(case).strip(), "activity": str(activity).strip(), "at": at,
                "resource": (fields.get(m.resource) or "") if m.resource else "",
                "lifecycle": (fields.get(m.lifecycle) or "") if m.lifecycle else ""}


Row = tuple[str, dict[str, str], "str | None"]  # (position, fields, case from the trace)


def _csv_rows(path: Path, mapping: Mapping) -> Iterator[Row]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding=mapping.encoding, newline="") as handle:  # type: ignore[operator]
        reader = csv.DictReader(handle, delimiter=mapping.delimiter)
        missing = [c for c in (mapping.case, mapping.activity, mapping.timestamp) if c not in (reader.fieldnames or [])]
        if missing:
            raise ConfigError(str(path), "(header)", f"no column {', '.join(map(repr, missing))}",
                              f"name existing columns in the mapping: {reader.fieldnames}")
        for row in reader:
            yield f"line {reader.line_num}", row, None


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _attributes(element: Any) -> dict[str, str]:
    return {child.get("key"): child.get("value") for child in element if _local(child.tag) != "event" and child.get("key")}


def _xes_rows(path: Path, mapping: Mapping) -> Iterator[Row]:
    try:
        yield from _xes_elements(path, mapping)
    except (etree.XMLSyntaxError, gzip.BadGzipFile, EOFError) as exc:
        where = f"line {exc.lineno}" if getattr(exc, "lineno", None) else "(file)"
        raise ConfigError(str(path), where, f"not a readable XES event log ({exc})",
                          "give an XES file (.xes or .xes.gz), or --format csv for a CSV file") from None


def _xes_elements(path: Path, _mapping: Mapping) -> Iterator[Row]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:  # type: ignore[operator]
        trace_index = 0
        for _, element in etree.iterparse(handle, events=("end",), huge_tree=True):
            if _local(element.tag) != "trace":
                continue
            trace_index += 1
            case = _attributes(element).get(XES_TRACE_CASE)
            for event_index, child in enumerate((c for c in element if _local(c.tag) == "event"), start=1):
                yield f"trace {trace_index} event {event_index}", _attributes(child), case or ""
            element.clear()
            while element.getprevious() is not None:  # keep memory flat: drop what was read
                del element.getparent()[0]


def import_log(engine: Engine, path: Path, fmt: Literal["csv", "xes"], mapping: Mapping) -> dict[str, Any]:
    """Load the log into a new batch; returns the batch's statistics (and counts of quarantined rows)."""
    if not path.is_file():
        raise ConfigError(str(path), "(file)", "missing", "give the path of the event log to import")
    batch = f"imp-{clock.now():%Y%m%d%H%M%S}-{uuid.uuid4().hex[:6]}"
    reader = _Reader(mapping)
    rows = (_csv_rows if fmt == "csv" else _xes_rows)(path, mapping)
    events_t, quarantine_t = ImportedEvent.__table__, QuarantinedRow.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(sa.insert(ImportBatch.__table__), [{  # type: ignore[attr-defined]
            "id": batch, "source": str(path), "format": fmt, "mapping": mapping.model_dump(),
            "imported_at": clock.now(), "statistics": {}}])
        good: list[dict[str, Any]] = []
        bad: list[dict[str, Any]] = []
        quarantined = 0
        for position, fields, case in rows:
            try:
                good.append({"batch": batch, **reader.event(case, fields)})
            except ValueError as exc:
                bad.append({"batch": batch, "position": position, "reason": str(exc)[:500], "row": fields})
            if len(good) >= CHUNK:
                conn.execute(sa.insert(events_t), good)
                good = []
            if len(bad) >= CHUNK:
                quarantined += len(bad)
                conn.execute(sa.insert(quarantine_t), bad)
                bad = []
        if good:
            conn.execute(sa.insert(events_t), good)
        if bad:
            quarantined += len(bad)
            conn.execute(sa.insert(quarantine_t), bad)
        stats = _statistics(conn, batch)
        stats["batch"], stats["quarantined"] = batch, quarantined
        conn.execute(sa.update(ImportBatch.__table__).where(ImportBatch.__table__.c.id == batch)  # type: ignore[attr-defined]
                     .values(statistics=stats))
    return stats


def _statistics(conn: Any, batch: str) -> dict[str, Any]:
    """Cases, events, activities, variants (distinct activity sequences) and throughput times."""
    e = ImportedEvent.__table__  # type: ignore[attr-defined]
    ordered = (sa.select(e.c.case_ref, e.c.activity, e.c.at).where(e.c.batch == batch)
               .order_by(e.c.case_ref, e.c.at, e.c.id))
    variants: set[str] = set()
    throughput: list[float] = []
    cases: list[dict[str, Any]] = []
    events = 0
    activities: set[str] = set()

    def close(ref: str, sequence: list[str], first: datetime, last: datetime) -> None:
        variant = hashlib.sha256("\x1f".join(sequence).encode()).hexdigest()[:16]
        variants.add(variant)
        throughput.append((last - first).total_seconds())
        cases.append({"batch": batch, "case_ref": ref, "events": len(sequence), "variant": variant,
                      "started_at": first, "ended_at": last})

    current: str | None = None
    sequence: list[str] = []
    first = last = None
    for ref, activity, at in conn.execute(ordered.execution_options(yield_per=CHUNK)):
        events += 1
        activities.add(activity)
        if ref != current:
            if current is not None:
                close(current, sequence, first, last)  # type: ignore[arg-type]
            current, sequence, first = ref, [], at
        sequence.append(activity)
        last = at
        if len(cases) >= CHUNK:
            conn.execute(sa.insert(ImportedCase.__table__), cases)  # type: ignore[attr-defined]
            cases.clear()
    if current is not None:
        close(current, sequence, first, last)  # type: ignore[arg-type]
    if cases:
        conn.execute(sa.insert(ImportedCase.__table__), cases)  # type: ignore[attr-defined]
    return {
        "cases": len(throughput), "events": events, "activities": len(activities), "variants": len(variants),
        "throughput_seconds": {
            "mean": round(statistics.fmean(throughput), 1) if throughput else None,
            "median": statistics.median(throughput) if throughput else None,
            "max": max(throughput) if throughput else None,
        },
    }
