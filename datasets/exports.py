"""A generation's rows as a file to download or attach: csv, xlsx or json, streamed in constant memory.

Rows are read in key ranges (``data.generation_cells``) and written out batch by batch; an xlsx is built by
openpyxl's write-only workbook in a temporary file (a zip cannot be streamed while it is written), then
read back in chunks and removed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from datasets.data import generation_cells
from informer.api.exceptions import DomainError

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}
READ_BATCH = 2000  # rows read from the database at a time
CHUNK_BYTES = 64 * 1024  # bytes of a file handed out at a time


@dataclass(frozen=True)
class Export:
    """An export about to be produced: its type and file name, and its bytes as they are made."""

    content_type: str
    filename: str
    _produce: Callable[[], Iterator[bytes]]

    def chunks(self) -> Iterator[bytes]:
        """The file's bytes, a batch of rows at a time."""
        return self._produce()


def _filename_stem(stem: str) -> str:
    # A name a Content-Disposition header and every file system take: no separators, quotes or controls.
    cleaned = re.sub(r"[^\w.\- ]+", "-", stem, flags=re.UNICODE).strip(" .-")
    return cleaned[:150] or "dataset"


def export(*, generation_id: int | None, fields: list[dict[str, Any]], format: str, filename_stem: str) -> Export:
    """The rows of a generation (none when it is None) in ``format``: csv, xlsx or json."""
    if format not in FORMATS:
        raise DomainError(f"format: must be one of {', '.join(FORMATS)}, not {format!r}.", field="format")
    stem = _filename_stem(filename_stem)
    producers = {"csv": _csv, "xlsx": _xlsx, "json": _json}
    producer = producers[format]
    return Export(
        content_type=FORMATS[format],
        filename=f"{stem}.{format}",
        _produce=lambda: producer(generation_id, fields, stem),
    )


def export_bytes(*, generation_id: int | None, fields: list[dict[str, Any]], format: str, filename_stem: str) -> bytes:
    """The whole export in memory, for an attachment (whose mail holds it in memory anyway)."""
    return b"".join(
        export(generation_id=generation_id, fields=fields, format=format, filename_stem=filename_stem).chunks()
    )


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def _csv(generation_id: int | None, fields: list[dict[str, Any]], stem: str) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([item["name"] for item in fields])
    for batch in generation_cells(generation_id, batch_size=READ_BATCH):
        writer.writerows([[_csv_value(value) for value in cells] for cells in batch])
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def _json(generation_id: int | None, fields: list[dict[str, Any]], stem: str) -> Iterator[bytes]:
    names = [item["name"] for item in fields]
    separator = "\n"
    yield b"["
    for batch in generation_cells(generation_id, batch_size=READ_BATCH):
        text = ",\n".join(json.dumps(dict(zip(names, cells, strict=False)), ensure_ascii=False) for cells in batch)
        yield (separator + text).encode()
        separator = ",\n"
    yield b"\n]\n" if separator != "\n" else b"]\n"


def _xlsx_converter(data_type: str | None) -> Callable[[Any], Any]:
    """How a stored cell of the field's type becomes a spreadsheet value (dates as dates, not text)."""

    def convert(value: Any) -> Any:
        if isinstance(value, str):
            if data_type in ("date", "datetime"):
                try:
                    moment = dt.datetime.fromisoformat(value)
                except ValueError:
                    pass
                else:
                    if data_type == "date" and len(value) == 10:
                        return moment.date()
                    # Spreadsheets have no time zones: the instant in UTC, as the service keeps it.
                    return moment.astimezone(dt.UTC).replace(tzinfo=None) if moment.tzinfo else moment
            return ILLEGAL_CHARACTERS_RE.sub("", value)
        if isinstance(value, list | dict):
            return json.dumps(value, ensure_ascii=False)
        return value

    return convert


def _sheet_title(stem: str) -> str:
    return re.sub(r"[\[\]:*?/\\]", "-", stem)[:31] or "Data"


def _xlsx(generation_id: int | None, fields: list[dict[str, Any]], stem: str) -> Iterator[bytes]:
    handle, path = tempfile.mkstemp(prefix="informer-export-", suffix=".xlsx")
    os.close(handle)
    try:
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(_sheet_title(stem))
        sheet.append([item["name"] for item in fields])
        converters = [_xlsx_converter(item.get("dataType")) for item in fields]
        for batch in generation_cells(generation_id, batch_size=READ_BATCH):
            for cells in batch:
                sheet.append([convert(value) for convert, value in zip(converters, cells, strict=False)])
        workbook.save(path)
        with open(path, "rb") as built:
            while chunk := built.read(CHUNK_BYTES):
                yield chunk
    finally:
        os.unlink(path)
