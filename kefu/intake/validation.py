"""A chunk of rows as kefu's fields, and its check by a Great Expectations suite built from the
target's field rules (``kefu.core.field_rules``): one expectation per rule, each carrying the
field and the reason it stands for, so a failed expectation's ``unexpected_index_list`` (the
COMPLETE result format) names the rows to quarantine and why.

Great Expectations costs about 3 s to import: only ``kefu intake`` imports this module, never
a flow run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pandas as pd

from kefu.core.field_rules import FieldRule
from kefu.intake.mapping import JOIN, Plan

# Text others will read carries no character that reorders or hides it (models.case.plain).
INVISIBLE = "[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
TRUE_WORDS = {"true", "yes", "y", "1", "t", "是"}
FALSE_WORDS = {"false", "no", "n", "0", "f", "否"}
# Suffixes of the columns a field's reading adds: the parsed time, the text that did not parse.
PARSED, UNREAD, TAKEN = ":at", ":unread", ":taken"
UNIQUE = "unique"


@dataclass(frozen=True)
class Problem:
    row: int
    field: str
    value: str | None
    reason: str
    kind: str = "rule"  # rule | unique (a repeat: a duplicate or a conflict, decided later)
    detail: str | None = None  # what the reason refers to (the case that took the id first)


def shape(plan: Plan, raw: pd.DataFrame) -> pd.DataFrame:
    """The chunk as kefu's fields: mapped columns (joined, trimmed, "" as missing), values
    translated, defaults for the fields the file lacks, and each datetime or boolean field read."""
    mapping, frame = plan.mapping, pd.DataFrame(index=raw.index)
    for name, sources in plan.columns.items():
        parts = [raw[column].astype(str).str.strip() for column in sources]
        if len(parts) == 1:
            column = parts[0]
        else:
            column = pd.Series([JOIN.join(p for p in values if p) for values in zip(*parts)], index=raw.index,
                               dtype=str)
        column = column.where(column != "", None)
        table = mapping.values.get(name)
        if table:
            column = column.map(lambda v, table=table: table.get(v, v) if v is not None else None)
        frame[name] = column
    for name, value in mapping.defaults.items():
        if name not in frame:
            frame[name] = value
    zone = ZoneInfo(mapping.timezone)
    for name, rule in plan.fields.items():
        if name not in frame:
            continue
        if rule.type == "datetime":
            frame[name + PARSED] = _times(frame[name], mapping.date_format, zone)
            frame[name + UNREAD] = frame[name].where(frame[name].notna() & frame[name + PARSED].isna(), None)
        elif rule.type == "boolean":
            lowered = frame[name].str.lower()
            frame[name + PARSED] = lowered.map(lambda v: True if v in TRUE_WORDS else False if v in FALSE_WORDS
                                               else None)
            frame[name + UNREAD] = frame[name].where(frame[name].notna() & frame[name + PARSED].isna(), None)
    return frame


def _times(texts: pd.Series, date_format: str | None, zone: ZoneInfo) -> pd.Series:
    """Each text as an aware UTC time (NaT where it does not read); times without an offset are in ``zone``."""
    if date_format:
        parsed = pd.to_datetime(texts, format=date_format, errors="coerce")
        if getattr(parsed.dt, "tz", None) is None:
            parsed = parsed.dt.tz_localize(zone, ambiguous="NaT", nonexistent="shift_forward")
        return parsed.dt.tz_convert("UTC")
    return pd.Series([_iso(v, zone) for v in texts], index=texts.index, dtype="datetime64[us, UTC]")


def _iso(value: str | None, zone: ZoneInfo) -> Any:
    if value is None:
        return pd.NaT
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return pd.NaT
    return (at if at.tzinfo else at.replace(tzinfo=zone)).astimezone(timezone.utc)


def warm_up() -> None:
    """Import Great Expectations now (a bench times it apart from the rows)."""
    import great_expectations  # noqa: F401


class Validator:
    """The suite of one target's field rules, run over each chunk. The GX context is made once;
    each chunk gets the suite with the ids already taken (earlier chunks, earlier imports)."""

    def __init__(self, fields: dict[str, FieldRule], allowed: dict[str, list[str] | None],
                 mapped: dict[str, dict[str, str]], date_format: str | None, now: datetime) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self._gx = gx
        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self._batches = (context.data_sources.add_pandas("kefu-intake").add_dataframe_asset("rows")
                         .add_batch_definition_whole_dataframe("chunk"))
        self.fields, self.allowed, self.mapped = fields, allowed, mapped
        self.date_format, self.now = date_format, pd.Timestamp(now)
        self._chunk = 0

    def _expectations(self, frame: pd.DataFrame, taken: set[str]) -> list[Any]:
        ex, out = self._gx.expectations, []

        def add(expectation: Any, field: str, reason: str, kind: str = "rule") -> None:
            expectation.meta = {"field": field, "reason": reason, "kind": kind, "order": len(out)}
            out.append(expectation)

        for name, rule in self.fields.items():
            if name not in frame:
                continue
            if rule.required:
                add(ex.ExpectColumnValuesToNotBeNull(column=name), name, "missing")
            if rule.type == "datetime":
                written = f"as {self.date_format}" if self.date_format else "as ISO-8601 (2026-11-23 or 2026-11-23T09:30+08:00)"
                add(ex.ExpectColumnValuesToBeNull(column=name + UNREAD), name, f"not a date written {written}")
                if rule.not_future:
                    add(ex.ExpectColumnValuesToBeBetween(column=name + PARSED, max_value=self.now), name, "in the future")
            elif rule.type == "boolean":
                add(ex.ExpectColumnValuesToBeNull(column=name + UNREAD), name, "not yes/no (true, false, 是, 否, 1, 0)")
            else:
                add(ex.ExpectColumnValuesToNotMatchRegex(column=name, regex=INVISIBLE), name,
                    "contains an invisible character that changes how the text reads")
            values = self.allowed.get(name)
            if values is not None:
                reason = f"not one of {', '.join(values)}"
                if name in self.mapped:
                    reason += f", and values.{name} of the mapping does not map it"
                add(ex.ExpectColumnValuesToBeInSet(column=name, value_set=values), name, reason)
            if rule.regex is not None:
                what = {"phone": "not a phone number", "email": "not an e-mail address"}.get(rule.pattern or "",
                                                                                           f"does not match {rule.pattern}")
                add(ex.ExpectColumnValuesToMatchRegex(column=name, regex=rule.regex), name, what)
            if rule.max_length is not None:
                add(ex.ExpectColumnValueLengthsToBeBetween(column=name, max_value=rule.max_length), name,
                    f"longer than {rule.max_length} characters")
            if rule.unique:
                add(ex.ExpectColumnValuesToBeUnique(column=name), name, "repeats in the file", UNIQUE)
                # The ids taken already, as a column (a value set of thousands of ids in the
                # expectation costs GX seconds to serialise, over and over).
                frame[name + TAKEN] = frame[name].where(frame[name].isin(taken), None)
                add(ex.ExpectColumnValuesToBeNull(column=name + TAKEN), name, "already taken in", UNIQUE)
        return out

    def problems(self, frame: pd.DataFrame, taken: set[str]) -> dict[int, list[Problem]]:
        """Each row's broken rules, in the order of the field rules (a row may break several)."""
        self._chunk += 1
        suite = self._gx.ExpectationSuite(name=f"intake-{self._chunk}", expectations=self._expectations(frame, taken))
        batch = self._batches.get_batch(batch_parameters={"dataframe": frame})
        result = batch.validate(suite, result_format={"result_format": "COMPLETE"})
        found: dict[int, list[tuple[int, Problem]]] = {}
        for outcome in result.results:
            if outcome.success:
                continue
            if outcome.exception_info and outcome.exception_info.get("raised_exception"):
                raise RuntimeError(f"the check of {outcome.expectation_config.meta['field']} failed: "
                                   f"{outcome.exception_info.get('exception_message')}")
            meta = outcome.expectation_config.meta
            position = int(meta["order"])
            rows = outcome.result.get("unexpected_index_list") or []
            values = frame[meta["field"]].loc[rows].tolist() if rows else []
            for row, value in zip(rows, values):
                found.setdefault(int(row), []).append((position, Problem(
                    int(row), meta["field"], None if value is None or value != value else str(value), meta["reason"],
                    meta["kind"])))
        return {row: [p for _, p in sorted(items, key=lambda item: item[0])] for row, items in found.items()}


def records_of(frame: pd.DataFrame, fields: dict[str, FieldRule]) -> dict[int, dict[str, Any]]:
    """Each row as kefu takes it in, by row number: text as text, times as aware UTC datetimes,
    booleans, a missing value as None (column by column: a cell at a time costs 30 µs)."""
    columns: dict[str, list[Any]] = {}
    for name, rule in fields.items():
        if name not in frame:
            continue
        if rule.type == "datetime":
            values = frame[name + PARSED]
            columns[name] = [None if pd.isna(v) else v for v in values.dt.to_pydatetime()]
        elif rule.type == "boolean":
            columns[name] = [None if v is None or v != v else bool(v) for v in frame[name + PARSED]]
        else:
            columns[name] = [None if v is None or v != v else str(v) for v in frame[name]]
    names = list(columns)
    return {int(row): dict(zip(names, values)) for row, values in zip(frame.index, zip(*columns.values()))}


def fingerprint(record: dict[str, Any]) -> str:
    """The row as kefu read it, hashed: the same row imported again has the same fingerprint."""
    return hashlib.sha256(orjson.dumps(record, option=orjson.OPT_SORT_KEYS | orjson.OPT_UTC_Z)).hexdigest()
