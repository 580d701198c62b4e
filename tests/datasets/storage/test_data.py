"""Pages of stored rows: index-range paging, typed sort, q, filter, and their errors."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from datasets.data import data_page, dataset_rows, generation_cells
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
    (1, "west", 10, "2024-01-10", "2024-01-10T08:00:00Z", True),
    (2, "East", 2, "2023-12-31", "2024-01-10T07:59:59.500000Z", False),
    (3, "North", 2.5, "2024-02-01", "2024-01-09T23:00:00-02:00", None),
    (4, None, None, None, None, True),
    (5, "West 100%_", 100, "2024-01-02", "2024-03-01T00:00:00", False),
]


@pytest.fixture
def generation(db: Any) -> Generation:
    return stored_generation(DatasetFactory(), FIELDS, ROWS)


def _ids(generation: Generation, **options: Any) -> tuple[list[int], int]:
    items, total = data_page(generation_id=generation.pk, fields=FIELDS, **options)
    return [item["id"] for item in items], total


def test_page_as_objects(generation: Generation) -> None:
    items, total = data_page(generation_id=generation.pk, fields=FIELDS, start=3, limit=1)

    assert total == 5
    assert items == [
        {"id": 4, "region": None, "amount": None, "sold_on": None, "sold_at": None, "paid": True},
    ]


def test_page_beyond_the_end_and_without_generation(generation: Generation) -> None:
    assert _ids(generation, start=5) == ([], 5)
    assert _ids(generation, limit=0) == ([], 5)
    assert data_page(generation_id=None, fields=FIELDS) == ([], 0)


def test_page_without_sort_is_an_index_range(generation: Generation) -> None:
    with CaptureQueriesContext(connection) as queries:
        data_page(generation_id=generation.pk, fields=FIELDS, start=990000, limit=100)

    (page_sql,) = [query["sql"] for query in queries.captured_queries if "datasets_datasetrow" in query["sql"]]
    assert '"position" >= 990000' in page_sql
    assert "OFFSET" not in page_sql.upper()
    assert "count(" not in " ".join(query["sql"].lower() for query in queries.captured_queries)


@pytest.mark.parametrize(
    ("sort", "ids"),
    [
        ("id", [1, 2, 3, 4, 5]),
        ("-id", [5, 4, 3, 2, 1]),
        ("amount", [2, 3, 1, 5, 4]),  # numerically: 2 < 2.5 < 10 < 100, the empty cell last
        ("-amount", [4, 5, 1, 3, 2]),  # and first going down
        ("region", [2, 3, 1, 5, 4]),  # case-insensitively
        ("sold_on", [2, 5, 1, 3, 4]),
        # by time: 2024-01-09T23:00-02:00 is 2024-01-10T01:00Z
        ("sold_at", [3, 2, 1, 5, 4]),
        ("-sold_at", [4, 5, 1, 2, 3]),
        ("paid", [2, 5, 1, 4, 3]),
    ],
)
def test_sort_is_typed(generation: Generation, sort: str, ids: list[int]) -> None:
    assert _ids(generation, sort=sort) == (ids, 5)


def test_sorted_pages(generation: Generation) -> None:
    assert _ids(generation, sort="-amount", start=1, limit=2) == ([5, 1], 5)


@pytest.mark.parametrize(
    ("q", "ids"),
    [("WEST", [1, 5]), ("st", [1, 2, 5]), ("100%", [5]), ("%", [5]), ("_", [5]), ("nowhere", []), ("2024", [])],
)
def test_q_is_a_case_insensitive_substring_of_text_fields(generation: Generation, q: str, ids: list[int]) -> None:
    assert _ids(generation, q=q) == (ids, len(ids))


@pytest.mark.parametrize(
    ("filter", "ids"),
    [
        ({"region": "East"}, [2]),
        ('{"region": "East"}', [2]),
        ({"region": None}, [4]),
        ({"amount": 2}, [2]),
        ({"amount": {"gte": 10}}, [1, 5]),
        ({"amount": {"gt": 2, "lt": 100}}, [1, 3]),
        ({"amount": {"lte": 2.5}}, [2, 3]),
        ({"amount": {"ne": 2}}, [1, 3, 4, 5]),
        ({"amount": {"in": [2, 100]}}, [2, 5]),
        ({"amount": {"isnull": True}}, [4]),
        ({"amount": {"isnull": False}}, [1, 2, 3, 5]),
        ({"region": {"contains": "WEST"}}, [1, 5]),
        ({"region": {"in": ["East", "North"]}}, [2, 3]),
        ({"sold_on": {"gte": "2024-01-02", "lt": "2024-02-01"}}, [1, 5]),
        ({"sold_on": "2024-01-10"}, [1]),
        ({"sold_at": {"gt": "2024-01-10T07:59:59Z"}}, [1, 2, 5]),
        ({"sold_at": {"lt": "2024-01-10T09:00:00+01:00"}}, [2, 3]),
        ({"paid": True}, [1, 4]),
        ({"paid": {"ne": True}}, [2, 3, 5]),
        ({"region": {"contains": "e"}, "amount": {"lt": 50}}, [1, 2]),
    ],
)
def test_filter(generation: Generation, filter: Any, ids: list[int]) -> None:
    assert _ids(generation, filter=filter) == (ids, len(ids))


def test_filter_q_and_sort_together(generation: Generation) -> None:
    assert _ids(generation, filter={"amount": {"gte": 2}}, q="e", sort="-amount", limit=2) == ([5, 1], 3)


@pytest.mark.parametrize(
    ("options", "field", "message"),
    [
        (
            {"sort": "price"},
            "sort",
            "sort: unknown field 'price'; the fields are: id, region, amount, sold_on, sold_at, paid.",
        ),
        ({"sort": "-"}, "sort", "sort: unknown field ''; the fields are: id, region, amount, sold_on, sold_at, paid."),
        (
            {"filter": {"price": 1}},
            "filter",
            "filter: unknown field 'price'; the fields are: id, region, amount, sold_on, sold_at, paid.",
        ),
        ({"filter": "{nope"}, "filter", 'filter: must be a JSON object, such as {"region": "West"}.'),
        ({"filter": "[1]"}, "filter", 'filter: must be a JSON object, such as {"region": "West"}.'),
        (
            {"filter": {"amount": {"like": 1}}},
            "filter",
            "filter: unknown operator 'like' on amount; use one of gte, gt, lte, lt, ne, in, contains, isnull.",
        ),
        (
            {"filter": {"amount": {}}},
            "filter",
            "filter: amount has no operator; use one of gte, gt, lte, lt, ne, in, contains, isnull.",
        ),
        ({"filter": {"amount": "ten"}}, "filter", "filter: amount must be compared with a number, not 'ten'."),
        (
            {"filter": {"sold_on": {"gte": "soon"}}},
            "filter",
            "filter: sold_on must be compared with a date in ISO 8601, not 'soon'.",
        ),
        ({"filter": {"paid": "yes"}}, "filter", "filter: paid must be compared with true or false, not 'yes'."),
        ({"filter": {"region": 3}}, "filter", "filter: region must be compared with a string, not 3."),
        ({"filter": {"amount": {"in": 3}}}, "filter", "filter: in on amount takes a list of values."),
        ({"filter": {"amount": {"isnull": 1}}}, "filter", "filter: isnull on amount takes true or false."),
        ({"filter": {"region": {"contains": 1}}}, "filter", "filter: contains on region takes a string."),
        ({"q": "a\x00"}, "q", "q: must not contain a NUL character."),
        ({"limit": 1001}, "limit", "limit: must be a whole number from 0 to 1000."),
        ({"limit": -1}, "limit", "limit: must be a whole number from 0 to 1000."),
        ({"start": -1}, "start", "start: must be a whole number of 0 or more."),
    ],
)
def test_bad_options_name_their_parameter(
    generation: Generation, options: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(DomainError) as raised:
        data_page(generation_id=generation.pk, fields=FIELDS, **options)

    assert raised.value.details == {field: [message]}


def test_dataset_rows_and_generation_cells(generation: Generation) -> None:
    assert [row["id"] for row in dataset_rows(generation_id=generation.pk, fields=FIELDS, limit=3)] == [1, 2, 3]
    assert dataset_rows(generation_id=None, fields=FIELDS) == []
    batches = list(generation_cells(generation.pk, batch_size=2))
    assert [[cells[0] for cells in batch] for batch in batches] == [[1, 2], [3, 4], [5]]
    assert list(generation_cells(None)) == []
