"""``refresh_dataset``: a SQLite source refreshed end to end, its answer printed, its progress, its exit codes."""

from __future__ import annotations

import json
import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from datasets.models import Dataset
from tests.datasets.conftest import SourceDatabase
from tests.datasets.factories import DatasetFactory, DatasourceFactory
from tests.factories import UserFactory

SALES = """
CREATE TABLE sales (id INTEGER PRIMARY KEY, region TEXT, amount REAL);
INSERT INTO sales (region, amount) VALUES ('West', 12.5), ('East', 7.25), ('West', 3.0);
"""


class Terminal(StringIO):
    """What a command's stdout is on an interactive terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def dataset(tenant, sqlite_source: SourceDatabase) -> Dataset:
    sqlite_source.execute(SALES)
    owner = UserFactory(username="owner", tenant=tenant)
    source = DatasourceFactory(owner=owner, name="Warehouse", slug="warehouse", database="source.sqlite3")
    return DatasetFactory(
        owner=owner,
        datasource=source,
        name="Sales",
        slug="sales",
        query="SELECT region, amount FROM sales WHERE amount >= :minimum ORDER BY id",
        params=[{"name": "minimum", "type": "number", "default": 0, "required": False}],
    )


def command(*args: str, stdout: StringIO | None = None) -> str:
    out = stdout if stdout is not None else StringIO()
    call_command("refresh_dataset", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def failure_of(*args: str) -> CommandError:
    with pytest.raises(CommandError) as failure:
        command(*args)
    assert failure.value.returncode == 1  # what manage.py exits with
    return failure.value


def test_a_refresh_prints_what_it_did(dataset):
    # when
    output = command("alpha:sales")

    # then: the plain output (no terminal) counts the rows once, then the §8 answer
    stored = Dataset.objects.get(pk=dataset.pk)
    lines = output.splitlines()
    assert lines[0] == "Refreshing 'Sales': 3 rows"
    assert lines[1:3] == ["  records: 3", "  previous count: 0"]
    assert re.fullmatch(r"  duration: \d+\.\d s \(\d+ ms\)", lines[3])
    assert lines[4:7] == ["  fields added: region, amount", "  fields updated: -", "  truncated: no"]
    assert lines[7] == f"  data updated at: {stored.data_updated_at:%Y-%m-%d %H:%M:%S} UTC"
    assert lines[8:] == ["Refreshed 'Sales' (alpha:sales): 3 records."]
    assert (stored.records, stored.truncated, stored.refreshing) == (3, False, False)


def test_a_second_refresh_reports_the_previous_count_and_no_new_fields(dataset, sqlite_source):
    command(str(dataset.pk))
    sqlite_source.execute("INSERT INTO sales (region, amount) VALUES ('North', 1.0);")

    output = command(str(dataset.pk))

    assert "  records: 4\n  previous count: 3\n" in output
    assert "  fields added: -\n  fields updated: -\n" in output


def test_a_param_is_converted_to_its_declared_type(dataset):
    output = command("alpha:sales", "--param", "minimum=5")

    assert "  records: 2\n" in output
    assert Dataset.objects.get(pk=dataset.pk).records == 2


def test_json_prints_the_apis_answer(dataset):
    answer = json.loads(command("alpha:sales", "--json").splitlines()[-1])

    stored = Dataset.objects.get(pk=dataset.pk)
    assert set(answer) == {
        "id",
        "records",
        "previousRecordCount",
        "duration",
        "fieldsAdded",
        "fieldsUpdated",
        "dataUpdatedAt",
        "truncated",
        "success",
    }
    assert (answer["id"], answer["records"], answer["previousRecordCount"]) == (str(dataset.pk), 3, 0)
    assert (answer["fieldsAdded"], answer["fieldsUpdated"], answer["truncated"], answer["success"]) == (
        ["region", "amount"],
        [],
        False,
        True,
    )
    assert answer["dataUpdatedAt"] == stored.data_updated_at.isoformat().replace("+00:00", "Z")


def test_on_a_terminal_the_rows_advance_a_bar(dataset, sqlite_source):
    # given: more rows than one batch
    sqlite_source.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 11997) "
        "INSERT INTO sales (region, amount) SELECT 'South', i FROM n;"
    )
    terminal = Terminal()

    # when
    command("alpha:sales", stdout=terminal)

    # then: a bar that redraws its line, counting rows, then the answer on lines of their own
    text = terminal.getvalue()
    assert "\rRefreshing 'Sales': " in text
    assert "12000rows" in text.replace(" ", "").replace(",", "")
    assert "\n  records: 12000\n" in text
    assert text.endswith("Refreshed 'Sales' (alpha:sales): 12000 records.\n")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (["--param", "nope=1"], "params.nope"),
        (["--param", "minimum=lots"], "params.minimum"),
        (["--param", "minimum"], "--param 'minimum' must be NAME=VALUE."),
    ],
)
def test_a_bad_param_exits_non_zero_saying_which_and_changes_nothing(dataset, params, message):
    # given
    before = Dataset.objects.values().get(pk=dataset.pk)

    # when
    failure = failure_of("alpha:sales", *params)

    # then
    assert message in str(failure)
    assert Dataset.objects.values().get(pk=dataset.pk) == before
    assert not dataset.generations.exists()


@pytest.mark.parametrize("key", ["alpha:missing", "00000000-0000-0000-0000-000000000000", "nonsense"])
def test_an_unknown_dataset_exits_non_zero(db, key):
    failure = failure_of(key)

    assert str(failure) == f"No dataset '{key}'."


def test_a_failing_source_exits_non_zero_and_keeps_the_stored_rows(dataset, sqlite_source):
    # given: refreshed once, then the table goes
    command("alpha:sales")
    before = Dataset.objects.values().get(pk=dataset.pk)
    sqlite_source.execute("DROP TABLE sales;")

    # when
    failure = failure_of("alpha:sales")

    # then
    assert str(failure).startswith("'Sales' was not refreshed: ")
    assert "sales" in str(failure).removeprefix("'Sales' was not refreshed: ")
    assert Dataset.objects.values().get(pk=dataset.pk) == before


def test_a_dataset_being_refreshed_exits_non_zero(dataset):
    from django.utils import timezone

    Dataset.objects.filter(pk=dataset.pk).update(refresh_started_at=timezone.now())

    failure = failure_of("alpha:sales")

    assert "being refreshed" in str(failure)
    assert Dataset.objects.get(pk=dataset.pk).records == 0
