"""Driver values as cells, their data types, and fields inferred while streaming (pure, no database)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from datasets.cells import FieldInference, data_type_of, field_label, row_json, rows_json, to_cell, unique_names
from datasets.connectors.base import Column


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (None, None),
        (True, True),
        (7, 7),
        (2.5, 2.5),
        (float("nan"), None),
        (float("inf"), None),
        ("text", "text"),
        (Decimal("12.00"), 12),
        (Decimal("12.50"), 12.5),
        (Decimal("NaN"), None),
        (dt.date(2024, 2, 29), "2024-02-29"),
        (dt.datetime(2024, 2, 29, 8, 30), "2024-02-29T08:30:00"),
        (dt.datetime(2024, 2, 29, 8, 30, tzinfo=ZoneInfo("Europe/Paris")), "2024-02-29T07:30:00Z"),
        (dt.datetime(2024, 2, 29, 8, 30, 0, 250000, tzinfo=dt.UTC), "2024-02-29T08:30:00.250000Z"),
        (dt.time(23, 59, 1), "23:59:01"),
        (b"\x00\xffA", "AP9B"),
        (memoryview(b"hi"), "aGk="),
        (uuid.UUID("12345678-1234-5678-1234-567812345678"), "12345678-1234-5678-1234-567812345678"),
        (dt.timedelta(hours=1), "1:00:00"),
        ([1, Decimal("2.5")], [1, 2.5]),
        ({"a": dt.date(2024, 1, 1)}, {"a": "2024-01-01"}),
    ],
)
def test_to_cell(value: Any, cell: Any) -> None:
    assert to_cell(value) == cell


def test_row_json_encodes_like_to_cell() -> None:
    row = (1, "é", Decimal("3.10"), dt.date(2024, 1, 2), None, True, float("nan"))

    text = row_json(row)

    assert json.loads(text) == [1, "é", 3.1, "2024-01-02", None, True, None]
    assert "é" in text  # UTF-8 kept, not escaped


def test_rows_json_converts_by_column_as_row_json_does() -> None:
    # given: columns of one special type (the fast loops), of mixed types, with nulls, NaN and infinity
    paris = ZoneInfo("Europe/Paris")
    rows = [
        (
            dt.date(2024, 1, 1),
            dt.datetime(2024, 1, 1, 8, tzinfo=dt.UTC),
            Decimal("2.00"),
            1,
            "a\\b\t",
            [Decimal("1.5")],
        ),
        (None, dt.datetime(2024, 1, 1, 8, tzinfo=paris), Decimal("2.50"), "x", None, {"k": dt.date(2024, 1, 2)}),
        (dt.date(2024, 1, 3), dt.datetime(2024, 1, 1, 8), Decimal("NaN"), float("inf"), "é", None),
        (dt.date(2024, 1, 4), None, None, 2.5, "", []),
    ]

    # when
    texts = rows_json(rows)

    # then
    assert texts == [row_json(row) for row in rows]
    assert [json.loads(text) for text in texts] == [
        ["2024-01-01", "2024-01-01T08:00:00Z", 2, 1, "a\\b\t", [1.5]],
        [None, "2024-01-01T07:00:00Z", 2.5, "x", None, {"k": "2024-01-02"}],
        ["2024-01-03", "2024-01-01T08:00:00", None, None, "é", None],
        ["2024-01-04", None, None, 2.5, "", []],
    ]
    assert rows_json([]) == []


@pytest.mark.parametrize(
    ("value", "data_type"),
    [
        (None, None),
        (True, "boolean"),
        (3, "integer"),
        (3.5, "number"),
        (Decimal("1"), "number"),
        ("x", "string"),
        (dt.date(2024, 1, 1), "date"),
        (dt.datetime(2024, 1, 1, tzinfo=dt.UTC), "datetime"),
        (b"x", "string"),
    ],
)
def test_data_type_of(value: Any, data_type: str | None) -> None:
    assert data_type_of(value) == data_type


@pytest.mark.parametrize(
    ("name", "label"),
    [("order_date", "Order date"), ("totalAmount", "Total amount"), ("ID", "ID"), ("region", "Region"), ("__", "__")],
)
def test_field_label(name: str, label: str) -> None:
    assert field_label(name) == label


def test_unique_names() -> None:
    assert unique_names(["id", "id", "", "id_2", "id"]) == ["id", "id_2", "column_3", "id_2_2", "id_3"]


def test_inference_refines_driver_types_from_values() -> None:
    # given: a driver that knows some types and not others
    columns = [
        Column("id", "integer"),
        Column("amount", "integer"),  # declared integer, but floats arrive
        Column("label", None),
        Column("day", "date"),  # text that reads as dates stays a date
        Column("note", "date"),  # text that does not becomes a string
        Column("empty", None),
        Column("mixed", None),
        Column("flag", None),
    ]
    inference = FieldInference(columns)

    # when
    inference.observe(
        [(1, 2, "a", "2024-01-01", "soon", None, 1, True), (2, 2.5, None, None, "2024-01-01", None, "x", False)]
    )
    inference.observe([])

    # then
    assert [field["dataType"] for field in inference.fields()] == [
        "integer",
        "number",
        "string",
        "date",
        "string",
        "string",
        "string",
        "boolean",
    ]
    assert inference.fields()[0] == {"name": "id", "label": "Id", "dataType": "integer", "position": 0}


def test_inference_keeps_driver_type_of_all_null_column_and_merges_dates() -> None:
    inference = FieldInference([Column("at", "datetime"), Column("when", None)])

    inference.observe([(None, dt.date(2024, 1, 1)), (None, dt.datetime(2024, 1, 1, 5, tzinfo=dt.UTC))])

    assert [field["dataType"] for field in inference.fields()] == ["datetime", "datetime"]
