"""Process-mining export (issue 6): the event log as IEEE XES and CSV, read back by an independent
parser (the standard library's ElementTree and csv), and re-imported by kefu."""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET
from datetime import datetime

import pytest
from audit_cases import answered_consultation, resolved_complaint

from kefu.audit import export, importer

XES = "{http://www.xes-standard.org/}"


@pytest.fixture
def recorded(store, rules, frozen_clock):
    ids = [resolved_complaint(store, rules, escalate=True), answered_consultation(store, rules)]
    return {case_id: store.events(case_id) for case_id in ids}


def test_the_xes_export_opens_in_an_independent_parser_with_every_case_and_event(store, recorded, tmp_path):
    path = tmp_path / "kefu.xes"
    counts = export.write_xes(store.engine, path)
    root = ET.parse(path).getroot()
    assert root.tag == f"{XES}log"
    traces = root.findall(f"{XES}trace")
    names = {t.find(f"{XES}string[@key='concept:name']").get("value"): t for t in traces}
    assert set(names) == set(recorded)
    assert counts == {"cases": 2, "events": sum(len(v) for v in recorded.values())}
    for case_id, events in recorded.items():
        xes_events = names[case_id].findall(f"{XES}event")
        assert len(xes_events) == len(events)
        for xes_event, event in zip(xes_events, events):
            attributes = {a.get("key"): a.get("value") for a in xes_event}
            assert attributes["concept:name"] == event.type
            assert attributes["org:resource"] == event.actor
            assert attributes["lifecycle:transition"] == "complete"
            assert datetime.fromisoformat(attributes["time:timestamp"]) == event.at


def test_the_csv_export_has_one_row_per_event_with_the_five_columns(store, recorded, tmp_path):
    path = tmp_path / "kefu.csv"
    export.write_csv(store.engine, path)
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["case_id", "activity", "timestamp", "resource", "lifecycle"]
    assert len(rows) == sum(len(v) for v in recorded.values())
    assert {r["case_id"] for r in rows} == set(recorded)


def test_an_exported_log_imports_back_with_the_same_counts(store, recorded, tmp_path, frozen_clock):
    path = tmp_path / "kefu.xes"
    export.write_xes(store.engine, path)
    stats = importer.import_log(store.engine, path, "xes", importer.Mapping())
    assert (stats["cases"], stats["events"]) == (2, sum(len(v) for v in recorded.values()))
    assert stats["activities"] == len({e.type for v in recorded.values() for e in v})
