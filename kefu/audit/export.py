"""The event log for process-mining tools: IEEE XES (1849-2016) or CSV, one trace per case.

XES is written with lxml's incremental writer (``etree.xmlfile``): one event at a time, so the
log's size does not matter. pm4py would also write XES, but it brings matplotlib, scipy, networkx,
cvxopt and graphviz for one file format; lxml is already here.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Iterator

from lxml import etree
from sqlalchemy.engine import Engine

from kefu.core.chain import events_by_case

XES_NS = "http://www.xes-standard.org/"
EXTENSIONS = [("Concept", "concept"), ("Time", "time"), ("Organizational", "org"), ("Lifecycle", "lifecycle")]
CSV_COLUMNS = ["case_id", "activity", "timestamp", "resource", "lifecycle"]
LIFECYCLE = "complete"  # every kefu event records something that has happened


def log_rows(engine: Engine) -> Iterator[tuple[Any, list[dict[str, str]]]]:
    """Each case and its events as (activity, timestamp, resource, lifecycle) rows."""
    for case, events in events_by_case(engine):
        yield case, [{"case_id": case.id, "activity": e.type, "timestamp": e.at.isoformat(timespec="milliseconds"),
                      "resource": e.actor, "lifecycle": LIFECYCLE} for e in events]


def write_csv(engine: Engine, path: Path) -> dict[str, int]:
    counts = {"cases": 0, "events": 0}
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, CSV_COLUMNS)
        writer.writeheader()
        for _case, rows in log_rows(engine):
            writer.writerows(rows)
            counts["cases"] += 1
            counts["events"] += len(rows)
    return counts


def _tag(name: str) -> str:
    return f"{{{XES_NS}}}{name}"


def _attr(xf: Any, kind: str, key: str, value: str) -> None:
    with xf.element(_tag(kind), key=key, value=value):
        pass  # an attribute element has no body


def write_xes(engine: Engine, path: Path) -> dict[str, int]:
    counts = {"cases": 0, "events": 0}
    with etree.xmlfile(str(path), encoding="utf-8") as xf:
        xf.write_declaration()
        with xf.element(_tag("log"), {"xes.version": "1.0", "xes.features": "nested-attributes"}, nsmap={None: XES_NS}):
            for name, prefix in EXTENSIONS:
                with xf.element(_tag("extension"), name=name, prefix=prefix, uri=f"{XES_NS}{prefix}.xesext"):
                    pass
            with xf.element(_tag("global"), scope="trace"):
                _attr(xf, "string", "concept:name", "__INVALID__")
            with xf.element(_tag("global"), scope="event"):
                _attr(xf, "string", "concept:name", "__INVALID__")
                _attr(xf, "date", "time:timestamp", "1970-01-01T00:00:00.000+00:00")
                _attr(xf, "string", "org:resource", "__INVALID__")
                _attr(xf, "string", "lifecycle:transition", LIFECYCLE)
            with xf.element(_tag("classifier"), name="Activity", keys="concept:name"):
                pass
            _attr(xf, "string", "concept:name", "kefu")
            for case, rows in log_rows(engine):
                with xf.element(_tag("trace")):
                    _attr(xf, "string", "concept:name", case.id)
                    _attr(xf, "string", "kefu:process", case.process)
                    for row in rows:
                        with xf.element(_tag("event")):
                            _attr(xf, "string", "concept:name", row["activity"])
                            _attr(xf, "date", "time:timestamp", row["timestamp"])
                            _attr(xf, "string", "org:resource", row["resource"])
                            _attr(xf, "string", "lifecycle:transition", row["lifecycle"])
                counts["cases"] += 1
                counts["events"] += len(rows)
    return counts
