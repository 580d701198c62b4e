"""``seed_demo``'s progress: a bar on a terminal, plain lines otherwise, complete however much it made."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


class Terminal(StringIO):
    def isatty(self) -> bool:
        return True


def seed(stdout: StringIO | None = None) -> str:
    out = stdout if stdout is not None else StringIO()
    call_command("seed_demo", stdout=out, stderr=StringIO())
    return out.getvalue()


def test_plain_output_counts_the_objects_at_each_tenth():
    output = seed()

    lines = output.splitlines()
    counts = [line for line in lines if line.startswith("Demo data: ")]
    assert counts == [f"Demo data: {done}/17 objects" for done in (2, 4, 6, 7, 9, 11, 12, 14, 16, 17)]
    assert "\r" not in output
    assert lines[len(counts)] == "Demo data ready."


def test_on_a_terminal_a_bar_counts_the_objects():
    output = seed(Terminal())

    assert "\r" in output and "17/17" in output and "100%" in output
    assert "\nDemo data ready.\n" in output
    assert "  Log in as 'admin' (superuser), 'demo', 'viewer' or 'acme' with password 'informer-demo'.\n" in output


def test_the_count_completes_when_it_makes_less():
    # given: 'demo' is taken, so none of its jobs are made
    UserFactory(username="demo")
    seed()

    # when: and the second time everything is found rather than made
    output = seed()

    # then
    assert "Demo data: 17/17 objects" in output.splitlines()


@pytest.mark.django_db(transaction=True)  # the run's heartbeat writes from a thread of its own
def test_the_sales_demo_has_rows_at_once_and_its_job_mails_a_workbook_and_a_report(mailoutbox):
    from datasets.models import Dataset
    from jobs.models import Job
    from runs.executor import execute_run
    from runs.services import run_create_manual

    # given: the default tenant the migrations made (a transactional test may follow one that flushed it)
    from informer.models import Tenant

    Tenant.objects.get_or_create(slug="default", defaults={"name": "Default"})
    output = seed()
    dataset = Dataset.objects.get(slug="sales-orders")
    job = Job.objects.get(slug="weekly-sales-workbook")

    # then: refreshed once by the command, its rows readable at once
    assert "  Dataset 'default:sales-orders' refreshed: 3000 rows.\n" in output
    assert (dataset.records, dataset.owner.username, dataset.datasource.type) == (3000, "demo", "sqlite")
    assert [field["name"] for field in dataset.fields][:3] == ["id", "ordered_on", "region"]
    assert (job.type, job.interval, job.timezone, job.next_run_at is not None) == (
        "dataset-refresh",
        "0 7 * * mon",
        "Europe/London",
        True,
    )

    # when: the job runs
    run = run_create_manual(job=job, params={}, enqueue=False)
    execute_run(str(run.pk))

    # then: it refreshed the dataset and mailed both files
    run.refresh_from_db()
    assert (run.status, run.error) == ("succeeded", "")
    (message,) = mailoutbox
    assert message.subject == "Sales orders: 3000 lines"
    names = [(name, mimetype) for name, _, mimetype in message.attachments]
    assert names == [
        ("Sales orders workbook.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("Sales orders report.pdf", "application/pdf"),
    ]
    assert message.attachments[1][1][:5] == b"%PDF-"


def test_a_second_seed_neither_refreshes_nor_duplicates_the_sales_demo():
    seed()
    again = seed()

    from datasets.models import Dataset, Datasource, Generation

    assert "refreshed" not in again
    assert (Datasource.objects.count(), Dataset.objects.count(), Generation.objects.count()) == (1, 1, 1)
