"""Exports of stored rows: csv, xlsx and json, read back with their own parsers."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import tempfile
from typing import Any

import openpyxl
import pytest

from datasets import exports
from datasets.exports import export, export_bytes
from datasets.models import Generation
from informer.api.exceptions import DomainError
from tests.datasets.factories import DatasetFactory, fields_of, stored_generation

FIELDS = fields_of(
    ("id", "integer"),
    ("region", "string"),
    ("amount", "number"),
    ("sold_on", "date"),
    ("sold_at", "datetime"),
    ("paid", "boolean"),
)
ROWS = [
    (1, "West", 10.5, "2024-01-10", "2024-01-10T08:00:00Z", True),
    (2, 'Say "hi",\nthen go', 2, "2023-12-31", "2024-01-10T07:59:59", False),
    (3, "Ünïcode \x01", None, None, None, None),
]


@pytest.fixture
def generation(db: Any, monkeypatch: pytest.MonkeyPatch) -> Generation:
    monkeypatch.setattr(exports, "READ_BATCH", 2)  # several batches, as with many rows
    return stored_generation(DatasetFactory(), FIELDS, ROWS)


def test_csv(generation: Generation) -> None:
    # when
    made = export(generation_id=generation.pk, fields=FIELDS, format="csv", filename_stem="Sales / 2024")
    chunks = list(made.chunks())

    # then
    assert (made.content_type, made.filename) == ("text/csv; charset=utf-8", "Sales - 2024.csv")
    assert len(chunks) == 2
    assert list(csv.reader(io.StringIO(b"".join(chunks).decode()))) == [
        ["id", "region", "amount", "sold_on", "sold_at", "paid"],
        ["1", "West", "10.5", "2024-01-10", "2024-01-10T08:00:00Z", "true"],
        ["2", 'Say "hi",\nthen go', "2", "2023-12-31", "2024-01-10T07:59:59", "false"],
        ["3", "Ünïcode \x01", "", "", "", ""],
    ]


def test_json(generation: Generation) -> None:
    made = export(generation_id=generation.pk, fields=FIELDS, format="json", filename_stem="sales")

    body = b"".join(made.chunks())

    assert (made.content_type, made.filename) == ("application/json", "sales.json")
    assert json.loads(body) == [
        {
            "id": 1,
            "region": "West",
            "amount": 10.5,
            "sold_on": "2024-01-10",
            "sold_at": "2024-01-10T08:00:00Z",
            "paid": True,
        },
        {
            "id": 2,
            "region": 'Say "hi",\nthen go',
            "amount": 2,
            "sold_on": "2023-12-31",
            "sold_at": "2024-01-10T07:59:59",
            "paid": False,
        },
        {"id": 3, "region": "Ünïcode \x01", "amount": None, "sold_on": None, "sold_at": None, "paid": None},
    ]


def test_xlsx(generation: Generation) -> None:
    # given: the temporary files before
    before = set(os.listdir(tempfile.gettempdir()))

    # when
    made = export(generation_id=generation.pk, fields=FIELDS, format="xlsx", filename_stem="sales")
    body = b"".join(made.chunks())

    # then
    assert made.filename == "sales.xlsx"
    assert made.content_type == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = openpyxl.load_workbook(io.BytesIO(body)).active
    assert sheet is not None and sheet.title == "sales"
    assert [list(row) for row in sheet.iter_rows(values_only=True)] == [
        ["id", "region", "amount", "sold_on", "sold_at", "paid"],
        [1, "West", 10.5, dt.datetime(2024, 1, 10), dt.datetime(2024, 1, 10, 8), True],
        [2, 'Say "hi",\nthen go', 2, dt.datetime(2023, 12, 31), dt.datetime(2024, 1, 10, 7, 59, 59), False],
        [3, "Ünïcode ", None, None, None, None],  # the control character xlsx cannot hold is dropped
    ]
    assert {name for name in os.listdir(tempfile.gettempdir()) if name.startswith("informer-export-")} <= {
        name for name in before if name.startswith("informer-export-")
    }


@pytest.mark.parametrize(("format", "body"), [("csv", b"id,region,amount,sold_on,sold_at,paid\r\n"), ("json", b"[]\n")])
def test_exports_of_no_rows(db: Any, format: str, body: bytes) -> None:
    assert export_bytes(generation_id=None, fields=FIELDS, format=format, filename_stem="") == body


def test_xlsx_of_no_rows(db: Any) -> None:
    body = export_bytes(generation_id=None, fields=FIELDS, format="xlsx", filename_stem="x")

    sheet = openpyxl.load_workbook(io.BytesIO(body)).active
    assert sheet is not None
    assert [list(row) for row in sheet.iter_rows(values_only=True)] == [
        ["id", "region", "amount", "sold_on", "sold_at", "paid"]
    ]


def test_unknown_format() -> None:
    with pytest.raises(DomainError) as raised:
        export(generation_id=1, fields=FIELDS, format="pdf", filename_stem="sales")

    assert raised.value.details == {"format": ["format: must be one of csv, xlsx, json, not 'pdf'."]}
