"""Validated intake (kefu/intake, issue 13): every row of a file is accounted for
(rows = imported + quarantined + duplicates), each bad row quarantined with its row number,
field, value and reason; re-imports import nothing twice; CSV in UTF-8 and GB18030 and XLSX."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from people import signed_in

from kefu import intake, processes
from kefu.audit import replay
from kefu.core.config import ConfigError
from kefu.core.refusals import InputRefused
from kefu.intake.mapping import load_mapping
from kefu.processes.complaint import decisions
from models.records import ImportBatch, QuarantinedRow

HEADER = ["Ticket", "Opened", "Via", "Topic", "Summary", "Detail", "Customer", "Mobile", "Mail"]
GOOD = [
    ["T-1", "11/20/2026", "Web", "Delivery", "Late parcel", "three days", "王芳", "13800138000", "wang@example.cn"],
    ["T-2", "11/21/2026", "Phone", "Quality", "Broken lid", "", "李雷", "13900139000", ""],
]
MAPPING = {
    "source": "shop-export",
    "columns": {"external_id": "ticket", "received_at": "Opened ", "channel": "VIA?", "category": "Topic",
                "source_category": "Topic", "content": ["Summary", "Detail"], "name": "Customer", "phone": "Mobile",
                "email": "Mail"},
    "date_format": "%m/%d/%Y",
    "timezone": "Asia/Shanghai",
    "values": {"channel": {"Web": "web", "Phone": "phone", "Post": "mail"},
               "category": {"Delivery": "logistics", "Quality": "product_quality"}},
}


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8", header: list[str] = HEADER) -> Path:
    with path.open("w", newline="", encoding=encoding) as handle:
        out = csv.writer(handle)
        out.writerow(header)
        out.writerows(rows)
    return path


def write_mapping(path: Path, **changes) -> Path:
    path.write_text(yaml.safe_dump({**MAPPING, **changes}, allow_unicode=True), encoding="utf-8")
    return path


def take_in(store, rules, path: Path, mapping: Path, **kwargs):
    with signed_in("li.na"):
        return intake.take_in(store, rules, processes.intake_target("complaints"), path, load_mapping(mapping),
                              mode=kwargs.pop("mode", "archive"), actor="li.na", **kwargs)


def accounted(result) -> bool:
    return result.rows == result.imported + result.quarantined + result.duplicates


def held(store, batch):
    return {(r["row"], r["field"]): r for r in intake.held_rows(store, batch)}


@pytest.fixture
def files(tmp_path):
    return tmp_path, write_mapping(tmp_path / "mapping.yaml")


def test_good_rows_become_closed_archived_complaints_that_replay_consistent(store, rules, frozen_clock, files):
    """建立投诉归档资料 (seed 002 §4 (7)): archived, closed, no flow run, verifiable like any case."""
    folder, mapping = files
    result = take_in(store, rules, write_csv(folder / "in.csv", GOOD), mapping)
    assert (result.rows, result.imported, result.quarantined, result.duplicates) == (2, 2, 0, 0)
    cases = store.cases()
    assert {c.status for c in cases} == {"closed"} and {c.flow_run_id for c in cases} == {None}
    first = store.state(min(c.id for c in cases))
    assert first.outcome == "archived" and first.intake["category"] == "logistics"
    assert first.intake["source_category"] == "Delivery"  # the source's own word, kept
    assert first.intake["content"] == "Late parcel — three days"  # joined, the empty part skipped
    assert first.intake["imported"] == {"source": "shop-export", "batch": result.batch, "external_id": "T-1", "row": 2}
    assert first.intake["severity"] == rules.complaint.default_severity
    assert first.opened_at.isoformat() == "2026-11-19T16:00:00+00:00"  # midnight in the mapping's zone
    assert [r.verdict for r in replay.replay(store.engine)] == ["consistent"] * 2


@pytest.mark.parametrize("cells, field, value, reason", [
    ({4: "", 5: ""}, "content", None, "missing"),
    ({1: "2026-11-20"}, "received_at", "2026-11-20", "not a date written as %m/%d/%Y"),
    ({1: "13/45/2026"}, "received_at", "13/45/2026", "not a date written as %m/%d/%Y"),
    ({1: "12/25/2026"}, "received_at", "12/25/2026", "in the future"),
    ({2: "Carrier pigeon"}, "channel", "Carrier pigeon", "not one of phone, in_person, fax, chat, email, sms, web, "
                                                         "mail, other, and values.channel of the mapping does not map it"),
    ({7: "call me"}, "phone", "call me", "not a phone number"),
    ({8: "wang-at-example"}, "email", "wang-at-example", "not an e-mail address"),
    ({6: "x" * 201}, "name", "x" * 201, "longer than 200 characters"),
    ({4: "Refund\u202e"}, "content", "Refund\u202e", "contains an invisible character that changes how the text reads"),
    ({3: ""}, "category", None, "missing"),
    ({3: "Weather"}, "category", "Weather", "not one of product_quality, logistics, service_attitude, billing, "
                                          "installation_repair, other, and values.category of the mapping does not map it"),
])
def test_each_bad_row_is_quarantined_with_its_row_field_value_and_reason(store, rules, frozen_clock, files,
                                                                         cells, field, value, reason):
    folder, mapping = files
    bad = list(GOOD[1])
    for index, cell in cells.items():
        bad[index] = cell
    result = take_in(store, rules, write_csv(folder / "in.csv", [GOOD[0], bad]), mapping)
    assert (result.imported, result.quarantined) == (1, 1) and accounted(result)
    assert result.reasons == {f"{field}: {reason}": 1}
    [row] = intake.held_rows(store, result.batch)
    assert (row["row"], row["field"], row["value"], row["reason"]) == (3, field, value, reason)


def test_a_file_with_every_kind_of_fault_accounts_for_every_row(store, rules, frozen_clock, files):
    folder, mapping = files
    rows = [list(GOOD[0]), list(GOOD[1])]
    rows.append(list(GOOD[0]))                                     # the same row again: a duplicate
    rows.append(["T-2", *GOOD[0][1:]])                             # T-2's id on another row: a conflict
    rows.append(["T-5", "", "Web", "Delivery", "late", "", "赵", "13700137000", ""])  # no date
    rows.append(["T-6", "11/22/2026", "Fax?", "Delivery", "late", "", "钱", "bad", "nope"])  # three faults, one row
    rows.append(["", "11/22/2026", "Web", "Delivery", "late", "", "孙", "13700137000", ""])  # no id
    result = take_in(store, rules, write_csv(folder / "in.csv", rows), mapping)
    assert (result.rows, result.imported, result.quarantined, result.duplicates) == (7, 2, 4, 1) and accounted(result)
    assert sum(result.reasons.values()) == result.quarantined
    rows_held = held(store, result.batch)
    assert rows_held[(5, "external_id")]["reason"] == "already taken in with other content"
    assert rows_held[(5, "external_id")]["problems"][0]["detail"] == "row 3"
    assert [p["field"] for p in rows_held[(7, "channel")]["problems"]] == ["channel", "phone", "email"]
    assert (8, "external_id") in rows_held and (6, "received_at") in rows_held


def test_reimporting_the_same_file_imports_nothing_twice(store, rules, frozen_clock, files):
    folder, mapping = files
    path = write_csv(folder / "in.csv", GOOD + [["T-3", "", "Web", "Delivery", "late", "", "赵", "13700137000", ""]])
    first = take_in(store, rules, path, mapping)
    again = take_in(store, rules, path, mapping)
    assert (first.imported, first.quarantined) == (2, 1)
    assert (again.imported, again.quarantined, again.duplicates) == (0, 1, 2) and accounted(again)
    assert len(store.cases()) == 2
    # the same id with other content in a later file is a conflict, not an overwrite
    changed = take_in(store, rules, write_csv(folder / "changed.csv", [[*GOOD[0][:4], "Lost parcel", *GOOD[0][5:]]]),
                      mapping)
    assert changed.reasons == {"external_id: already taken in with other content": 1}
    [row] = intake.held_rows(store, changed.batch)
    assert row["problems"][0]["detail"].startswith("C-")


def test_a_quarantined_row_fixed_and_reimported_goes_in_and_is_no_longer_held(store, rules, frozen_clock, files):
    folder, mapping = files
    broken = [["T-9", "11/20/2026", "Web", "Delivery", "", "", "周", "13600136000", ""]]
    first = take_in(store, rules, write_csv(folder / "in.csv", broken), mapping)
    assert [r["row"] for r in intake.held_rows(store)] == [2]
    fixed = take_in(store, rules, write_csv(folder / "in.csv", [[*broken[0][:4], "refund late", *broken[0][5:]]]),
                    mapping)
    assert (fixed.imported, fixed.quarantined) == (1, 0)
    assert intake.held_rows(store) == [] and intake.held_rows(store, first.batch) == []


def test_a_gb18030_export_reads_as_its_chinese_text(store, rules, frozen_clock, files):
    """Chinese Excel saves CSV in GB18030: read it, not as mojibake or an error."""
    folder, mapping = files
    result = take_in(store, rules, write_csv(folder / "in.csv", GOOD, encoding="gb18030"), mapping)
    assert result.imported == 2
    assert sorted(store.state(c.id).intake["name"] for c in store.cases()) == ["李雷", "王芳"]


def test_a_workbook_reads_like_its_csv_dates_and_numbers_included(store, rules, frozen_clock, files):
    from datetime import datetime

    from openpyxl import Workbook

    folder, mapping = files
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append(["T-1", datetime(2026, 11, 20), "Web", "Delivery", "Late", None, "王芳", 13800138000, None])
    sheet.append([None] * len(HEADER))  # a blank line is not a row
    sheet.append(["T-2", "11/21/2026", "Phone", "Quality", "Broken", None, "李雷", "13900139000", "x@y"])
    book.save(folder / "in.xlsx")
    result = take_in(store, rules, folder / "in.xlsx", mapping)
    assert (result.rows, result.imported, result.quarantined) == (2, 1, 1)
    assert store.state(store.cases()[0].id).intake["phone"] == "13800138000"
    assert [(r["row"], r["field"]) for r in intake.held_rows(store, result.batch)] == [(4, "email")]


def test_a_blank_line_is_no_row_but_the_rows_after_it_keep_their_numbers(store, rules, frozen_clock, files):
    """A held row is reported at the row a person finds it in the file (header = row 1), blank
    lines counted as a spreadsheet shows them, and a blank line is no row of the accounting."""
    folder, mapping = files
    bad = ["T-3", "11/21/2026", "Web", "Delivery", "Late", "", "赵", "13700137000", "not-an-address"]
    path = folder / "in.csv"
    lines = write_csv(path, GOOD).read_text(encoding="utf-8").splitlines(keepends=True)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.writelines([lines[0], lines[1], "\r\n", "\r\n", lines[2]])
        csv.writer(out).writerow(bad)
    result = take_in(store, rules, path, mapping)
    assert (result.rows, result.imported, result.quarantined) == (3, 2, 1)
    assert [(r["row"], r["field"]) for r in intake.held_rows(store, result.batch)] == [(6, "email")]


def test_a_dry_run_counts_every_row_and_writes_nothing(store, rules, frozen_clock, files):
    folder, mapping = files
    result = take_in(store, rules, write_csv(folder / "in.csv", GOOD + [GOOD[0]]), mapping, dry_run=True)
    assert (result.rows, result.imported, result.duplicates) == (3, 2, 1)
    from sqlmodel import Session, select

    with Session(store.engine) as session:
        assert session.exec(select(ImportBatch)).all() == []
    assert store.cases() == []


def test_a_new_rule_in_config_is_checked_without_code(config_copy, sqlite_store, frozen_clock, files):
    """The suite is built from complaint.yaml intake.fields: a rule added there is an expectation."""
    text = (config_copy / "complaint.yaml").read_text(encoding="utf-8")
    (config_copy / "complaint.yaml").write_text(text.replace(
        "    name: {required: true, max_length: 200}",
        "    name: {required: true, max_length: 200, pattern: '^[^0-9]+$'}"), encoding="utf-8")
    rules = processes.load_rules(config_copy)
    folder, mapping = files
    result = take_in(sqlite_store, rules, write_csv(folder / "in.csv", [GOOD[0], ["T-2", *GOOD[1][1:6], "客户007",
                                                                                  *GOOD[1][7:]]]), mapping)
    assert result.reasons == {"name: does not match ^[^0-9]+$": 1}


def test_a_broken_intake_rule_fails_at_load_naming_the_key(config_copy):
    text = (config_copy / "complaint.yaml").read_text(encoding="utf-8")
    (config_copy / "complaint.yaml").write_text(text.replace("channel: {required: true, one_of: channels}",
                                                             "channel: {required: true, one_of: chanels}"))
    with pytest.raises(ConfigError) as caught:
        processes.load_rules(config_copy)
    assert caught.value.key == "intake.fields.channel.one_of" and "channels" in caught.value.fix


@pytest.mark.parametrize("changes, key, problem", [
    ({"columns": {**MAPPING["columns"], "content": "Body"}}, "columns.content", "the file has no column 'Body'"),
    ({"columns": {k: v for k, v in MAPPING["columns"].items() if k != "name"}}, "columns",
     "name is required and not mapped"),
    ({"values": {"channel": {"Web": "website"}}}, "values.channel.Web", "'website' is not a configured value"),
    ({"columns": {**MAPPING["columns"], "colour": "Topic"}}, "columns.colour", "is not a field kefu takes in here"),
])
def test_a_mapping_that_does_not_fit_the_file_is_refused_before_any_row(store, rules, frozen_clock, files,
                                                                        changes, key, problem):
    folder, _ = files
    with pytest.raises(ConfigError) as caught:
        take_in(store, rules, write_csv(folder / "in.csv", GOOD), write_mapping(folder / "m.yaml", **changes))
    assert (caught.value.key, caught.value.problem) == (key, problem)
    assert store.cases() == []


def test_missing_name_is_filled_by_the_mappings_default(store, rules, frozen_clock, files):
    folder, _ = files
    columns = {k: v for k, v in MAPPING["columns"].items() if k != "name"}
    mapping = write_mapping(folder / "m.yaml", columns=columns, defaults={"name": "anonymous"})
    take_in(store, rules, write_csv(folder / "in.csv", GOOD), mapping)
    assert {c.customer_name for c in store.cases()} == {"anonymous"}


def test_a_closing_before_the_complaint_arrived_is_quarantined_by_the_complaints_own_rule(store, rules, frozen_clock,
                                                                                         tmp_path):
    mapping = write_mapping(tmp_path / "m.yaml", columns={**MAPPING["columns"], "closed_at": "Closed"})
    path = write_csv(tmp_path / "in.csv", [[*GOOD[0], "11/19/2026"], [*GOOD[1], "11/22/2026"]],
                     header=HEADER + ["Closed"])
    result = take_in(store, rules, path, mapping)
    assert (result.imported, result.quarantined) == (1, 1)
    assert list(result.reasons) == ["closed_at: is before received_at (2026-11-19T16:00:00+00:00)"]
    # Held with the row's cells as the file had them, like a row the validation refused.
    table = QuarantinedRow.__table__
    with store.engine.connect() as conn:
        (cells,) = conn.execute(sa.select(table.c.row).where(table.c.batch == result.batch)).scalars()
    assert cells["cells"]["Closed"] == "11/19/2026"


def test_rows_opened_live_go_through_the_normal_intake_and_its_refusals_are_held(store, rules, frozen_clock,
                                                                                  tmp_path, monkeypatch):
    """--as open: the Complaint Register's rules apply (a phone is required, a contact is registered
    within registered_within_days), and each row's key commits with its case."""
    monkeypatch.setattr(intake._Pace, "wait", lambda self: None)
    mapping = write_mapping(tmp_path / "m.yaml")
    old = ["T-3", "09/01/2026", "Web", "Delivery", "late", "", "赵", "13700137000", ""]
    no_phone = ["T-4", "11/21/2026", "Web", "Delivery", "late", "", "钱", "", ""]
    path = write_csv(tmp_path / "in.csv", GOOD + [old, no_phone])

    def opener(target, registration, origin, also):
        with signed_in("li.na"):
            return decisions.register_contact(store, rules, registration.model_copy(update={"by": "li.na"}),
                                              imported=origin, also=also)

    result = take_in(store, rules, path, mapping, mode="open", opener=opener)
    assert (result.imported, result.quarantined) == (2, 2) and accounted(result)
    assert set(result.reasons) == {"phone: missing", "received_at: is more than 30 days ago (2026-08-31)"}
    opened = [store.state(c.id) for c in store.cases()]
    assert {s.step for s in opened} == {"judgement"} and {s.status for s in opened} == {"open"}
    assert {s.intake["imported"]["external_id"] for s in opened} == {"T-1", "T-2"}
    again = take_in(store, rules, path, mapping, mode="open", opener=opener)
    assert (again.imported, again.duplicates) == (0, 2) and len(store.cases()) == 2


def test_an_unknown_mode_is_refused(store, rules, frozen_clock, files):
    folder, mapping = files
    with pytest.raises(InputRefused) as caught:
        take_in(store, rules, write_csv(folder / "in.csv", GOOD), mapping, mode="live")
    assert caught.value.field == "as"
