"""Reading a generation's rows: pages with typed sorting, ``q`` and ``filter`` (§8 ``/data``), and plain iteration.

Cells are read out of each row's JSON array by position with the database's own JSON functions
(PostgreSQL ``cells ->> N``, SQLite ``json_extract(cells, '$[N]')``), typed by the field's dataType:
numbers compare as numbers (2 < 10), dates and datetimes as points in time, text case-insensitively. Only
a field's position, an integer taken from the stored fields, ever reaches the SQL; every value is a
parameter. A page without sort, ``q`` or ``filter`` is an index range on the key (generation, position);
a sorted one reads the generation's sort index on that field once ``sort_indexes`` has built it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

from django.db import connection, transaction
from django.db.models import (
    BigIntegerField,
    BooleanField,
    DateTimeField,
    Expression,
    F,
    Field,
    FloatField,
    Q,
    TextField,
)
from django.db.models.expressions import Func, OrderBy
from django.db.models.functions import Collate, Lower

from datasets import sort_indexes
from datasets.models import DatasetRow, Generation
from informer.api.exceptions import DomainError

PAGE_LIMIT_MAX = 1000
# From this offset on, a sorted page on PostgreSQL is read by one scan and sort rather than through the index.
DEEP_SORTED_START = 50_000
NUMERIC_TYPES = ("integer", "number")
TIME_TYPES = ("date", "datetime")
FILTER_OPERATORS = ("gte", "gt", "lte", "lt", "ne", "in", "contains", "isnull")


class Cell(Func):
    """Cell ``index`` of a stored row read as text, number, time or boolean (NULL when it is not one)."""

    def __init__(self, index: int, kind: str) -> None:
        output: Field[Any, Any] = TextField()
        if kind == "number":
            output = FloatField()
        elif kind == "boolean":
            output = BooleanField()
        elif kind == "time":
            # PostgreSQL reads the ISO text as timestamptz; SQLite as milliseconds since 1970 (exact integers).
            output = DateTimeField() if connection.vendor == "postgresql" else BigIntegerField()
        super().__init__(F("cells"), output_field=output)
        self.index = int(index)  # an int of our own: the only thing spliced into the SQL
        self.kind = kind

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:  # type: ignore[override]
        cells, params = compiler.compile(self.source_expressions[0])
        index = self.index
        if connection.vendor == "postgresql":
            text = f"({cells} ->> {index})"
            # Numbers and booleans cast from the jsonb value itself (-> then ::numeric), not from its text:
            # no text is made for each of a million rows, which took a sorted page from 1.5 s to 1.25 s.
            value = f"({cells} -> {index})"
            sql = {
                "text": text,
                "number": f"(CASE WHEN jsonb_typeof({value}) = 'number' THEN {value}::numeric END)",
                "time": f"(CASE WHEN jsonb_typeof({value}) = 'string' THEN {text}::timestamptz END)",
                "boolean": f"(CASE WHEN jsonb_typeof({value}) = 'boolean' THEN {value}::boolean END)",
            }[self.kind]
            return sql, [*params]
        # The path is written out, not a parameter: SQLite matches a sort index's expression only to the
        # same literal text (datasets.sort_indexes).
        path = f"'$[{index}]'"
        value = f"json_extract({cells}, {path})"
        if self.kind == "text":
            return value, [*params]
        if self.kind == "time":
            return f"CAST(round((julianday({value}) - 2440587.5) * 86400000.0) AS INTEGER)", [*params]
        types = "'integer', 'real'" if self.kind == "number" else "'true', 'false'"
        return f"(CASE WHEN json_type({cells}, {path}) IN ({types}) THEN {value} END)", [*params, *params]


def _sortable_text(index: int) -> Expression:
    text = Cell(index, "text")
    # As every list sorts text (informer.api.filters.sort_key): ASCII letters folded, the rest by code point.
    return Lower(Collate(text, "C")) if connection.vendor == "postgresql" else Lower(text)


def _kind(data_type: str | None) -> str:
    if data_type in NUMERIC_TYPES:
        return "number"
    if data_type in TIME_TYPES:
        return "time"
    if data_type == "boolean":
        return "boolean"
    return "text"


def _index(fields: list[dict[str, Any]], name: Any, parameter: str) -> tuple[int, dict[str, Any]]:
    for position, item in enumerate(fields):
        if item["name"] == name:
            return int(item.get("position", position)), item
    known = ", ".join(item["name"] for item in fields) or "none"
    raise DomainError(f"{parameter}: unknown field {name!r}; the fields are: {known}.", field=parameter)


def _check_page(start: Any, limit: Any) -> None:
    if isinstance(start, bool) or not isinstance(start, int) or start < 0:
        raise DomainError("start: must be a whole number of 0 or more.", field="start")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= PAGE_LIMIT_MAX:
        raise DomainError(f"limit: must be a whole number from 0 to {PAGE_LIMIT_MAX}.", field="limit")


def _no_nul(text: str, parameter: str) -> str:
    if "\x00" in text:
        raise DomainError(f"{parameter}: must not contain a NUL character.", field=parameter)
    return text


def _time_value(value: Any) -> Any:
    """A filter's date or datetime as the time expression compares it (UTC when it names no zone)."""
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    if moment is None:
        raise ValueError(value)
    moment = moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
    if connection.vendor == "postgresql":
        return moment
    return round(moment.timestamp() * 1000)


def _typed_value(kind: str, data_type: str, value: Any, name: str) -> Any:
    """The filter value in the expression's type; a DomainError on ``filter`` if it is not of that type."""
    try:
        if kind == "number" and isinstance(value, int | float) and not isinstance(value, bool):
            return value
        if kind == "boolean" and isinstance(value, bool):
            return value
        if kind == "time":
            return _time_value(value)
        if kind == "text" and isinstance(value, str):
            return _no_nul(value, "filter")
    except ValueError:
        pass
    expected = {"number": "a number", "boolean": "true or false", "time": f"a {data_type} in ISO 8601"}.get(kind)
    raise DomainError(f"filter: {name} must be compared with {expected or 'a string'}, not {value!r}.", field="filter")


def _parse_filter(filter: dict[str, Any] | str | None) -> dict[str, Any]:
    if filter is None or filter == "":
        return {}
    if isinstance(filter, str):
        try:
            filter = json.loads(filter)
        except ValueError:
            raise DomainError('filter: must be a JSON object, such as {"region": "West"}.', field="filter") from None
    if not isinstance(filter, dict):
        raise DomainError('filter: must be a JSON object, such as {"region": "West"}.', field="filter")
    return filter


def _field_condition(alias: str, kind: str, item: dict[str, Any], condition: Any) -> Q:
    name, data_type = item["name"], item.get("dataType") or "string"
    if condition is None:
        return Q(**{f"{alias}__isnull": True})
    if not isinstance(condition, dict):
        return Q(**{alias: _typed_value(kind, data_type, condition, name)})
    if not condition:
        raise DomainError(f"filter: {name} has no operator; use one of {', '.join(FILTER_OPERATORS)}.", field="filter")
    result = Q()
    for operator, value in condition.items():
        if operator not in FILTER_OPERATORS:
            raise DomainError(
                f"filter: unknown operator {operator!r} on {name}; use one of {', '.join(FILTER_OPERATORS)}.",
                field="filter",
            )
        if operator == "isnull":
            if not isinstance(value, bool):
                raise DomainError(f"filter: isnull on {name} takes true or false.", field="filter")
            result &= Q(**{f"{alias}__isnull": value})
        elif operator == "contains":
            if not isinstance(value, str):
                raise DomainError(f"filter: contains on {name} takes a string.", field="filter")
            result &= Q(**{f"text_{alias}__icontains": _no_nul(value, "filter")})
        elif operator == "in":
            if not isinstance(value, list):
                raise DomainError(f"filter: in on {name} takes a list of values.", field="filter")
            result &= Q(**{f"{alias}__in": [_typed_value(kind, data_type, each, name) for each in value]})
        elif operator == "ne":
            # Not equal includes the empty cells, which SQL's <> would drop.
            result &= ~Q(**{alias: _typed_value(kind, data_type, value, name)}) | Q(**{f"{alias}__isnull": True})
        else:
            result &= Q(**{f"{alias}__{operator}": _typed_value(kind, data_type, value, name)})
    return result


def _records(generation_id: int) -> int:
    records = Generation.objects.filter(pk=generation_id).order_by().values_list("records", flat=True)
    return next(iter(records), 0)


def data_page(
    *,
    generation_id: int | None,
    fields: list[dict[str, Any]],
    start: int = 0,
    limit: int = 100,
    sort: str | None = None,
    q: str | None = None,
    filter: dict[str, Any] | str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """One page of a generation's rows as ``{fieldName: value}`` objects, and the total after ``q``/``filter``."""
    _check_page(start, limit)
    if generation_id is None:
        # Still validated below, so that a dataset never refreshed answers a bad sort as one with rows does.
        generation_id = 0
    conditions = _parse_filter(filter)
    names = [item["name"] for item in fields]
    rows = DatasetRow.objects.filter(generation_id=generation_id)
    aliases: dict[str, Expression] = {}
    where = Q()
    for name, condition in conditions.items():
        index, item = _index(fields, name, "filter")
        kind = _kind(item.get("dataType"))
        alias = f"f{index}"
        aliases[alias] = Cell(index, kind)
        aliases[f"text_{alias}"] = Cell(index, "text")
        where &= _field_condition(alias, kind, item, condition)
    if q:
        _no_nul(q, "q")
        text_fields = [index for index, item in enumerate(fields) if _kind(item.get("dataType")) == "text"]
        matches = Q(position__in=[])  # no text field: nothing contains the text
        for index in text_fields:
            aliases[f"q{index}"] = Cell(int(fields[index].get("position", index)), "text")
            matches |= Q(**{f"q{index}__icontains": q})
        where &= matches
    order: list[OrderBy | str] = []
    if sort:
        descending = sort.startswith("-")
        index, item = _index(fields, sort[1:] if descending else sort, "sort")
        kind = _kind(item.get("dataType"))
        key = _sortable_text(index) if kind == "text" else Cell(index, kind)
        if generation_id:
            # Built on the first sort by this field, on exactly this key: the ORDER BY below reads it.
            sort_indexes.ensure(generation_id=generation_id, position=index, kind=kind, key=key)
        # An empty cell last going up and first going down, as every list of the API orders.
        order.append(key.desc(nulls_first=True) if descending else key.asc(nulls_last=True))
    if not generation_id:
        return [], 0
    if not (order or conditions or q):
        # Rows are numbered 0…n-1: a page is an index range on (generation, position), never an OFFSET scan.
        page = rows.filter(position__gte=start).order_by("position").values_list("cells", flat=True)[:limit]
        total = _records(generation_id)
    else:
        filtered = rows.alias(**aliases).filter(where) if aliases else rows
        # Rows are immutable: without q or filter, the count is the generation's, no scan needed.
        total = filtered.count() if (conditions or q) else _records(generation_id)
        page = filtered.order_by(*order, "position").values_list("cells", flat=True)[start : start + limit]
        if order and start >= DEEP_SORTED_START and connection.vendor == "postgresql":
            # Deep in a sorted order, walking the sort index means a random heap read for each of the `start`
            # rows skipped (13.6 s at start=990,000 of 1M, measured); one scan and sort of the generation is
            # faster there (4.5 s), so such a page is planned without index scans.
            with transaction.atomic(), connection.cursor() as cursor:
                # Set for this read alone, then as they were: a caller's transaction goes on with its own plans.
                cursor.execute("SELECT current_setting('enable_indexscan'), current_setting('enable_indexonlyscan')")
                before = cursor.fetchone()
                cursor.execute("SET LOCAL enable_indexscan = off")
                cursor.execute("SET LOCAL enable_indexonlyscan = off")
                try:
                    rows_of_page = list(page)
                finally:
                    cursor.execute(
                        "SELECT set_config('enable_indexscan', %s, true), set_config('enable_indexonlyscan', %s, true)",
                        before,
                    )
            return [dict(zip(names, cells, strict=False)) for cells in rows_of_page], total
    return [dict(zip(names, cells, strict=False)) for cells in page], total


def dataset_rows(*, generation_id: int | None, fields: list[dict[str, Any]], limit: int = 1000) -> list[dict[str, Any]]:
    """The first ``limit`` rows of a generation as objects (the run context's ``rows``)."""
    if generation_id is None or limit <= 0:
        return []
    names = [item["name"] for item in fields]
    cells = DatasetRow.objects.filter(generation_id=generation_id).order_by("position").values_list("cells", flat=True)
    return [dict(zip(names, row, strict=False)) for row in cells[:limit]]


def generation_cells(generation_id: int | None, *, batch_size: int = 2000) -> Iterator[list[list[Any]]]:
    """A generation's rows (cell arrays) in position order, ``batch_size`` at a time by key ranges."""
    if generation_id is None:
        return
    after = -1
    while True:
        # Keyset paging on the key: each batch is an index range, memory stays one batch whatever the size.
        batch = list(
            DatasetRow.objects.filter(generation_id=generation_id, position__gt=after)
            .order_by("position")
            .values_list("position", "cells")[:batch_size]
        )
        if not batch:
            return
        after = batch[-1][0]
        yield [cells for _, cells in batch]
        if len(batch) < batch_size:
            return
