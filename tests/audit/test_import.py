"""Import of another helpdesk's event log (issue 6): the Italian help-desk log (4TU "Helpdesk",
published: 4,580 cases, 21,348 events, 14 activities) imports with its published figures, from
CSV and from XES (also gzipped); bad rows are quarantined with their reason, never dropped."""

from __future__ import annotations

import gzip
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from kefu.audit import importer
from models.records import ImportBatch, ImportedCase, QuarantinedRow

REPO = Path(__file__).resolve().parents[2]
LOG = REPO / "tests" / "data" / "helpdesk_italy.csv.gz"  # tests/data/README.md: its source
MAPPING = REPO / "docs" / "mappings" / "helpdesk_italy.yaml"
PUBLISHED = {"cases": 4580, "events": 21348, "activities": 14}


@pytest.fixture(scope="module")
def independent():
    """The statistics computed another way (pandas), to compare with the importer's."""
    frame = pd.read_csv(LOG, dtype=str, keep_default_na=False)
    frame["at"] = pd.to_datetime(frame["time:timestamp"], utc=True)
    frame = frame.reset_index().sort_values(["case:concept:name", "at", "index"], kind="stable")
    grouped = frame.groupby("case:concept:name")
    durations = (grouped["at"].max() - grouped["at"].min()).dt.total_seconds()
    return {
        "variants": grouped["concept:name"].agg(tuple).nunique(),
        "throughput_seconds": {"mean": round(durations.mean(), 1), "median": float(durations.median()),
                               "max": float(durations.max())},
    }


def imported(store, path, fmt, mapping=None):
    return importer.import_log(store.engine, path, fmt, importer.load_mapping(mapping))


def test_the_italian_helpdesk_log_imports_with_its_published_figures(store, independent, frozen_clock):
    stats = imported(store, LOG, "csv", MAPPING)
    assert {k: stats[k] for k in PUBLISHED} == PUBLISHED
    assert stats["variants"] == independent["variants"]
    assert stats["throughput_seconds"] == pytest.approx(independent["throughput_seconds"])
    assert stats["quarantined"] == 0
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(ImportedCase.__table__)).scalar() == 4580


def test_imported_cases_are_never_live_cases(store, frozen_clock):
    imported(store, LOG, "csv", MAPPING)
    assert store.cases() == []


def _xes_from_csv(path: Path, gz: bool) -> None:
    """The same log as XES, written with the standard library (not kefu's writer)."""
    frame = pd.read_csv(LOG, dtype=str, keep_default_na=False)
    log = ET.Element("log", {"xes.version": "1.0", "xmlns": "http://www.xes-standard.org/"})
    for case, events in frame.groupby("case:concept:name", sort=False):
        trace = ET.SubElement(log, "trace")
        ET.SubElement(trace, "string", key="concept:name", value=case)
        for row in events.itertuples(index=False):
            event = ET.SubElement(trace, "event")
            ET.SubElement(event, "string", key="concept:name", value=row[0])
            ET.SubElement(event, "string", key="lifecycle:transition", value=row[1])
            ET.SubElement(event, "string", key="org:resource", value=row[2])
            ET.SubElement(event, "date", key="time:timestamp", value=row[3].replace(" ", "T"))
    data = ET.tostring(log, encoding="utf-8", xml_declaration=True)
    path.write_bytes(gzip.compress(data) if gz else data)


@pytest.mark.parametrize("name", ["helpdesk.xes", "helpdesk.xes.gz"])
def test_the_same_log_as_xes_imports_with_the_standard_attributes_by_default(sqlite_store, independent, tmp_path,
                                                                              frozen_clock, name):
    path = tmp_path / name
    _xes_from_csv(path, gz=name.endswith(".gz"))
    stats = imported(sqlite_store, path, "xes")
    assert {k: stats[k] for k in PUBLISHED} == PUBLISHED
    assert stats["variants"] == independent["variants"]


def test_bad_rows_are_quarantined_with_their_reason_and_counted(sqlite_store, tmp_path, frozen_clock):
    lines = gzip.decompress(LOG.read_bytes()).decode("utf-8").splitlines()
    header, rows = lines[0], lines[1:11]
    broken = [rows[0].replace(rows[0].split(",")[3], "yesterday"),  # unreadable time
              ",".join(["", *rows[1].split(",")[1:]])]               # no activity
    path = tmp_path / "bad.csv"
    path.write_text("\n".join([header, *rows[2:], *broken]) + "\n", encoding="utf-8")
    stats = imported(sqlite_store, path, "csv", MAPPING)
    assert stats["events"] == 8 and stats["quarantined"] == 2
    with sqlite_store.engine.connect() as conn:
        reasons = dict(conn.execute(sa.select(QuarantinedRow.position, QuarantinedRow.reason)).all())
    assert reasons == {"line 10": "timestamp (time:timestamp) 'yesterday' is not ISO-8601",
                       "line 11": "activity (concept:name) is empty or missing"}


def test_kefu_audit_import_json_prints_the_statistics(kefu_env, independent):
    from kefu.cli import app

    result = CliRunner().invoke(app, ["audit", "import", str(LOG), "--format", "csv", "--mapping", str(MAPPING), "--json"])
    assert result.exit_code == 0, result.output
    stats = json.loads(result.output)
    assert {k: stats[k] for k in PUBLISHED} == PUBLISHED
    assert stats["throughput_seconds"] == pytest.approx(independent["throughput_seconds"])


def test_a_mapping_naming_a_column_the_log_lacks_is_refused_with_the_columns_it_has(kefu_env, tmp_path):
    from kefu.cli import app

    mapping = tmp_path / "m.yaml"
    mapping.write_text("case: ticket\nactivity: concept:name\ntimestamp: time:timestamp\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["audit", "import", str(LOG), "--format", "csv", "--mapping", str(mapping), "--json"])
    assert result.exit_code == 2
    error = json.loads(result.output)["error"]
    assert "'ticket'" in error["problem"] and "case:concept:name" in error["fix"]


@pytest.mark.parametrize("name, content", [("notes.xes", b"case,activity\n1,open\n"), ("log.xes.gz", b"plain text")])
def test_a_file_that_is_not_xes_is_refused_and_nothing_is_stored(kefu_env, tmp_path, name, content):
    """`kefu audit import --format xes` of a CSV or a broken archive: exit 2 with the file and the fix, no traceback."""
    from kefu import runtime
    from kefu.cli import app

    path = tmp_path / name
    path.write_bytes(content)
    result = CliRunner().invoke(app, ["audit", "import", str(path), "--format", "xes", "--json"])
    assert result.exit_code == 2, result.output
    error = json.loads(result.output)["error"]
    assert "not a readable XES event log" in error["problem"] and "--format csv" in error["fix"]
    with runtime.store().engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(ImportBatch)).scalar() == 0
