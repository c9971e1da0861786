"""Reading a file's rows in chunks, as text: CSV (UTF-8, with or without a BOM, or GB18030, the
encoding of Chinese Excel exports) with pandas, XLSX with openpyxl's streaming reader. Every
chunk is a DataFrame of strings indexed by the row's number as a spreadsheet shows it (the
header is row 1), so memory stays flat however long the file is."""

from __future__ import annotations

import codecs
from datetime import date, time
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

import pandas as pd

from kefu.core.refusals import InputRefused

ENCODINGS = ("utf-8-sig", "gb18030")
FORMATS = ("csv", "xlsx")


def format_of(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise InputRefused("file", f"{path.name}: kefu reads {' and '.join(FORMATS).upper()} files",
                           "save the file as .csv or .xlsx")
    return suffix


def encoding_of(path: Path) -> str:
    """The first of :data:`ENCODINGS` the whole file decodes in (read in blocks, never whole),
    found once per file version: the header and the chunks ask again."""
    stat = path.stat()
    return _encoding(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _encoding(name: str, mtime_ns: int, size: int) -> str:
    path = Path(name)
    for encoding in ENCODINGS:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with path.open("rb") as handle:
                while block := handle.read(1 << 20):
                    decoder.decode(block)
                decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError:
            continue
    raise InputRefused("file", f"{path.name} is neither UTF-8 nor GB18030 text",
                       "export it again as CSV UTF-8 (or GB18030), or as .xlsx")


def headers_of(path: Path) -> list[str]:
    if format_of(path) == "csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding_of(path), nrows=0).columns.tolist()
    return next(_workbook_chunks(path, 1, None, header_only=True)).columns.tolist()


def chunks(path: Path, rows: int, date_format: str | None = None) -> Iterator[pd.DataFrame]:
    """The file's rows, ``rows`` at a time, each by its row number as a spreadsheet shows it (the
    header is row 1): strings, blank cells as "" (a date cell of a workbook written as
    ``date_format``, or ISO-8601). A blank line is no row, but keeps its number: the rows after it
    are reported where a person finds them."""
    if format_of(path) != "csv":
        yield from _workbook_chunks(path, rows, date_format, header_only=False)
        return
    first = 2
    for chunk in pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding_of(path), chunksize=rows,
                             skip_blank_lines=False):
        chunk.index = range(first, first + len(chunk))
        first += len(chunk)
        filled = chunk[(chunk != "").any(axis=1)]
        if len(filled):
            yield filled


def _workbook_chunks(path: Path, rows: int, date_format: str | None, header_only: bool) -> Iterator[pd.DataFrame]:
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        lines = sheet.iter_rows(values_only=True)
        header = [_cell(v, date_format) for v in next(lines, ())]
        while header and header[-1] == "":
            header.pop()
        if header_only:
            yield pd.DataFrame(columns=header)
            return
        batch: list[list[str]] = []
        numbers: list[int] = []
        for number, line in enumerate(lines, start=2):
            cells = [_cell(v, date_format) for v in line[:len(header)]]
            if not any(cells):
                continue  # a blank line, as pandas skips them in a CSV
            batch.append(cells + [""] * (len(header) - len(cells)))
            numbers.append(number)
            if len(batch) == rows:
                yield pd.DataFrame(batch, columns=header, index=numbers, dtype=str)
                batch, numbers = [], []
        if batch:
            yield pd.DataFrame(batch, columns=header, index=numbers, dtype=str)
    finally:
        workbook.close()


def _cell(value: Any, date_format: str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, date):  # a datetime too
        return value.strftime(date_format) if date_format else value.isoformat()
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a phone number or an id Excel keeps as a number
    return str(value)


def rows_in(path: Path) -> int | None:
    """About how many rows the file holds (for a progress bar): lines of a CSV, a sheet's extent."""
    if format_of(path) == "csv":
        with path.open("rb") as handle:
            return max(sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b"")) - 1, 0)
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True)
    try:
        extent = workbook.worksheets[0].max_row
        return None if extent is None else max(extent - 1, 0)
    finally:
        workbook.close()
