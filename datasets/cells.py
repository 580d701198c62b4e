"""Driver values as stored cells, and the fields inferred from them (pure: no ORM, no settings).

A stored row is a JSON array; every cell is a JSON value: numbers stay numbers (a ``Decimal`` becomes an
int when integral, else a float), dates and times become ISO 8601 strings (an aware datetime in UTC with
``Z``), bytes become base64, anything else its ``str``. Rows are encoded by ``row_json`` with the C
encoder, which only calls back into Python for the values JSON has no type for.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

from datasets.connectors.base import Column

JsonValue = Any  # None | bool | int | float | str | list | dict


_ZERO = dt.timedelta(0)


def _datetime_cell(value: dt.datetime) -> str:
    offset = value.utcoffset()
    if offset is None:
        return value.isoformat()
    if offset == _ZERO:  # the common case (sessions in UTC): no conversion, only the suffix
        return value.replace(tzinfo=None).isoformat() + "Z"
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat() + "Z"


def _decimal_cell(value: Decimal) -> int | float | None:
    if not value.is_finite():
        return None
    whole = int(value)
    return whole if whole == value else float(value)


def _bytes_cell(value: bytes | bytearray | memoryview) -> str:
    return base64.b64encode(bytes(value)).decode("ascii")


# The converters by exact type: one dictionary lookup for the values drivers return most.
_CONVERTERS: dict[type, Callable[[Any], JsonValue]] = {
    Decimal: _decimal_cell,
    dt.datetime: _datetime_cell,
    dt.date: dt.date.isoformat,
    dt.time: dt.time.isoformat,
    bytes: _bytes_cell,
    uuid.UUID: str,
}


def _special(value: Any) -> JsonValue:
    """A JSON value for one of the types the encoder does not know (also called by ``to_cell``)."""
    convert = _CONVERTERS.get(type(value))
    if convert is not None:
        return convert(value)
    if isinstance(value, Decimal):
        return _decimal_cell(value)
    if isinstance(value, dt.datetime):  # before date: a datetime is a date
        return _datetime_cell(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return _bytes_cell(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, tuple | set | frozenset):
        return [to_cell(item) for item in value]
    return str(value)


def to_cell(value: Any) -> JsonValue:
    """The JSON value stored for one driver value."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        # JSON has no NaN or infinity (PostgreSQL's jsonb refuses them): such a cell is empty.
        return value if math.isfinite(value) else None
    if isinstance(value, list):
        return [to_cell(item) for item in value]
    if isinstance(value, dict):
        return {str(key): to_cell(item) for key, item in value.items()}
    return _special(value)


def _row_encoder() -> Callable[[Sequence[Any]], str]:
    """One encoder for every row: json.dumps with options would build a new one per call."""
    # The C encoder's constructor (what JSONEncoder.iterencode builds for each call), made once.
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return json.JSONEncoder(default=_special, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode
    encode = make(None, _special, json.encoder.encode_basestring, None, ":", ",", False, False, False)
    return lambda row: "".join(encode(row, 0))


_ENCODE = _row_encoder()
# Types the encoder writes itself (a NaN float makes it raise, and the row takes the slow path).
_NATIVE = frozenset({type(None), bool, int, float, str, list, dict})


def row_json(row: Sequence[Any]) -> str:
    """One row's cells as JSON text (the stored form), UTF-8 characters kept as they are."""
    try:
        return _ENCODE(row)
    except ValueError:
        # A NaN or infinite float somewhere: the slow path turns them into nulls.
        return json.dumps([to_cell(value) for value in row], ensure_ascii=False, separators=(",", ":"))


def _converted(column: tuple[Any, ...], kinds: set[type]) -> list[Any]:
    """A column's values as cells, converted in a loop of Python rather than called back from the encoder."""
    kinds = kinds - {type(None)}
    if kinds == {dt.date}:
        return [value if value is None else value.isoformat() for value in column]
    if kinds == {dt.datetime}:
        # Inline for the common case, a datetime in UTC: its ISO text with Z for +00:00.
        return [
            value
            if value is None
            else (text[:-6] + "Z" if (text := value.isoformat()).endswith("+00:00") else _datetime_cell(value))
            for value in column
        ]
    if kinds == {Decimal}:
        # An integral value as an int (exact, from the Decimal); NaN and infinity take the slow path of row_json.
        return [
            value if value is None else (int(value) if (number := float(value)).is_integer() else number)
            for value in column
        ]
    return [to_cell(value) for value in column]


def rows_json(rows: Sequence[Sequence[Any]]) -> list[str]:
    """A batch of rows as JSON texts, as ``row_json`` makes them, converting column by column.

    The C encoder calling back into Python for every date or Decimal costs more than converting each such
    column in one loop first; columns of JSON's own types are not touched.
    """
    if not rows:
        return []
    columns: list[Any] = list(zip(*rows, strict=False))
    for index, column in enumerate(columns):
        kinds = set(map(type, column))
        if not kinds <= _NATIVE:
            columns[index] = _converted(column, kinds)
    return [row_json(row) for row in zip(*columns, strict=False)]


def data_type_of(value: Any) -> str | None:
    """The data type (one of DATA_TYPES) of a driver value; None for a null."""
    if value is None:
        return None
    return _TYPE_OF.get(type(value)) or _data_type_slow(value)


def _data_type_slow(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float | Decimal):
        return "number"
    if isinstance(value, dt.datetime):
        return "datetime"
    if isinstance(value, dt.date):
        return "date"
    return "string"


_TYPE_OF: dict[type, str] = {
    bool: "boolean",
    int: "integer",
    float: "number",
    Decimal: "number",
    str: "string",
    dt.date: "date",
    dt.datetime: "datetime",
}


def merge_types(first: str | None, second: str | None) -> str | None:
    """The type of a field holding values of both types (integer and number make number, …)."""
    if first is None or first == second:
        return second if first is None else first
    if second is None:
        return first
    pair = {first, second}
    if pair == {"integer", "number"}:
        return "number"
    if pair == {"date", "datetime"}:
        return "datetime"
    return "string"


# ISO 8601 dates and datetimes as a driver may hand them over as text (SQLite has no date type).
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?\Z")


def _text_matches(data_type: str, values: Iterable[Any]) -> bool:
    """Whether every text value is an ISO date (or datetime) that the declared type can keep."""
    pattern = _ISO_DATE if data_type == "date" else _ISO_DATETIME
    return all(pattern.match(value) for value in values if isinstance(value, str))


def field_label(name: str) -> str:
    """A readable label for a column name: ``order_date`` → ``Order date``, ``totalAmount`` → ``Total amount``."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)
    words = re.sub(r"[_\-.\s]+", " ", spaced).strip()
    if not words:
        return name
    return words[0].upper() + words[1:].lower() if not words.isupper() else words


class FieldInference:
    """The fields of a result: the driver's column types, refined from the non-null values streamed."""

    def __init__(self, columns: Sequence[Column]) -> None:
        self.columns = list(columns)
        self.declared = [column.data_type for column in self.columns]
        # The type seen in values so far; None until a non-null value arrives.
        self.seen: list[str | None] = [None] * len(self.columns)

    def observe(self, rows: Sequence[Sequence[Any]]) -> None:
        """Refine the types from one batch of driver rows."""
        if not rows:
            return
        for index, values in enumerate(zip(*rows, strict=False)):
            kinds = set(map(type, values))
            kinds.discard(type(None))
            if not kinds:
                continue
            current = self.seen[index]
            for kind in kinds:
                found = _TYPE_OF.get(kind)
                if found is None:
                    found = _data_type_slow(next(value for value in values if type(value) is kind))
                if found == "string" and self.declared[index] in ("date", "datetime"):
                    # Text in a date column stays a date only while every value reads as one.
                    declared = self.declared[index]
                    assert declared is not None
                    found = declared if _text_matches(declared, values) else "string"
                current = merge_types(current, found)
            self.seen[index] = current

    def data_type(self, index: int) -> str:
        """The field's type: what its values were, or what the driver said when all were null."""
        seen = self.seen[index]
        declared = self.declared[index]
        if seen is None:
            return declared or "string"
        if declared is None or declared == seen:
            return seen
        # integer and number make number, date and datetime make datetime; otherwise the values decide (a
        # column declared as a date holding text that is not one is text, so typed sorts never cast it).
        if {declared, seen} in ({"integer", "number"}, {"date", "datetime"}):
            return merge_types(declared, seen) or seen
        return seen

    def fields(self) -> list[dict[str, Any]]:
        """``[{name, label, dataType, position}]`` in column order, names made unique (``id``, ``id_2``)."""
        return [
            {"name": name, "label": field_label(name), "dataType": self.data_type(index), "position": index}
            for index, name in enumerate(unique_names([column.name for column in self.columns]))
        ]


def unique_names(names: Sequence[str]) -> list[str]:
    """The names with repeats (two joined tables' ``id``) and blanks told apart: ``id``, ``id_2``, ``column_3``."""
    taken: set[str] = set()
    out: list[str] = []
    for index, raw in enumerate(names):
        base = str(raw) or f"column_{index + 1}"
        name, suffix = base, 2
        while name in taken:
            name, suffix = f"{base}_{suffix}", suffix + 1
        taken.add(name)
        out.append(name)
    return out
