"""`kefu intake …` (issue 13): the CFPB sample imports with the shipped mapping, every row
accounted for; the result as JSON; the held rows listed; a bad mapping is a clear refusal."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
from offline_cli import invoke

REPO = Path(__file__).resolve().parents[2]
CFPB_GZ = REPO / "tests" / "data" / "cfpb_complaints_2014.csv.gz"
MAPPING = REPO / "docs" / "mappings" / "cfpb_complaints_2014.yaml"


@pytest.fixture(autouse=True)
def _home(kefu_env):
    yield


def test_the_cfpb_sample_imports_as_an_archive_with_every_row_accounted_for(tmp_path):
    """8,340 real complaints: the two without an Issue are held, the rest archived; again, all duplicates."""
    CFPB = tmp_path / "cfpb_complaints_2014.csv"
    with gzip.open(CFPB_GZ) as packed, CFPB.open("wb") as out:
        shutil.copyfileobj(packed, out)
    done = invoke(["intake", "complaints", str(CFPB), "--mapping", str(MAPPING), "--json"])
    assert done.exit_code == 0, done.output
    result = json.loads(done.stdout)
    assert set(result) == {"batch", "target", "as", "source", "rows", "imported", "quarantined", "duplicates",
                           "reasons", "dry_run"}
    assert (result["rows"], result["imported"], result["quarantined"], result["duplicates"]) == (8340, 8338, 2, 0)
    assert result["reasons"] == {"content: missing": 2}
    held = json.loads(invoke(["intake", "quarantine", "--batch", result["batch"], "--json"]).stdout)
    assert [(r["row"], r["field"]) for r in held] == [(2061, "content"), (3208, "content")]
    again = json.loads(invoke(["intake", "complaints", str(CFPB), "--mapping", str(MAPPING), "--json"]).stdout)
    assert (again["imported"], again["duplicates"], again["quarantined"]) == (0, 8338, 2)
    shown = invoke(["case", "show", "C-20141113-0001"]).stdout
    assert "category: 服务态度 Service attitude (service_attitude); source_category: Debt collection" in shown and "from:     cfpb-2014 #1114245" in shown


def test_the_text_output_counts_and_names_the_reasons(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("Complaint ID,Date received,Submitted via,Product,Issue,Sub-issue,Company response\n"
                    "1,11/20/2026,Web,Mortgage,Late fee,,Closed\n"
                    "2,11/20/2026,Pigeon,Mortgage,Late fee,,Closed\n", encoding="utf-8")
    done = invoke(["intake", "complaints", str(path), "--mapping", str(MAPPING)])
    assert done.exit_code == 0, done.output
    assert ": 2 rows — 1 imported, 1 quarantined, 0 duplicates" in done.stdout
    assert "1 × channel: not one of" in done.stdout and "kefu intake quarantine --batch in-" in done.stdout
    listed = invoke(["intake", "quarantine"]).stdout
    assert "row 3: channel 'Pigeon' — not one of" in listed


def test_a_mapping_naming_a_column_the_file_lacks_is_refused_with_the_fix(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("Ticket,When\nA,2026-11-20\n", encoding="utf-8")
    done = invoke(["intake", "complaints", str(path), "--mapping", str(MAPPING), "--json"])
    assert done.exit_code == 2
    error = json.loads(done.stdout)["error"]
    assert error["field"].endswith("columns.external_id") and "no column 'Complaint ID'" in error["problem"]
    assert "Ticket, When" in error["fix"]


def test_a_file_kefu_cannot_read_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("x", encoding="utf-8")
    done = invoke(["intake", "complaints", str(path), "--mapping", str(MAPPING), "--json"])
    assert done.exit_code == 2 and json.loads(done.stdout)["error"]["field"] == "file"
