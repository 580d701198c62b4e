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
    assert counts == [f"Demo data: {done}/18 objects" for done in (2, 4, 6, 8, 9, 11, 13, 15, 17, 18)]
    assert "\r" not in output
    assert lines[len(counts)] == "Demo data ready."


def test_on_a_terminal_a_bar_counts_the_objects():
    output = seed(Terminal())

    assert "\r" in output and "18/18" in output and "100%" in output
    assert "\nDemo data ready.\n" in output
    assert "  Log in as 'admin' (superuser), 'demo', 'viewer' or 'acme' with password 'informer-demo'.\n" in output


def test_the_count_completes_when_it_makes_less():
    # given: 'demo' is taken, so none of its jobs are made
    UserFactory(username="demo")
    seed()

    # when: and the second time everything is found rather than made
    output = seed()

    # then
    assert "Demo data: 18/18 objects" in output.splitlines()


@pytest.mark.django_db(transaction=True)  # the run's heartbeat writes from a thread of its own
def test_the_sales_demo_has_rows_at_once_and_its_job_mails_a_workbook_and_a_report(mailoutbox):
    from datasets.models import Dataset

    # given: the default tenant the migrations made (a transactional test may follow one that flushed it)
    from informer.models import Tenant
    from jobs.models import Job
    from runs.executor import execute_run
    from runs.services import run_create_manual

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


def test_the_demo_library_lists_its_documents_in_six_formats_at_once(settings):
    from library.models import Library, LibraryFile

    # when
    output = seed()

    # then: synced once by the command, the files under their folders
    library = Library.objects.get(slug="demo-documents")
    assert "  Library 'default:demo-documents' synced: 12 files.\n" in output
    assert (library.natural_id, library.owner.username, library.type, library.settings, library.embedded) == (
        "default:demo-documents",
        "demo",
        "local",
        {"path": "demo-documents"},
        True,
    )
    files = LibraryFile.objects.filter(library=library, directory=False)
    assert (library.files, library.synced_at is not None) == (12, True)
    assert {path.rpartition(".")[2] for path in files.values_list("path", flat=True)} == {
        "txt",
        "md",
        "csv",
        "html",
        "pdf",
        "docx",
    }
    assert sorted(LibraryFile.objects.filter(library=library, directory=True).values_list("path", flat=True)) == [
        "guides",
        "policies",
        "reports",
    ]
    assert all(file.sha256 and file.size for file in files)
    assert (
        (settings.INFORMER_LIBRARY_ROOT / "demo-documents" / "reports" / "price-list.csv")
        .read_text()
        .startswith("code,product,unit_price_gbp\n")
    )


def test_a_second_seed_neither_syncs_nor_duplicates_the_demo_library():
    from library.models import Library, LibraryFile

    seed()
    synced_at = Library.objects.get(slug="demo-documents").synced_at

    again = seed()

    assert "synced" not in again
    assert (Library.objects.count(), LibraryFile.objects.count()) == (1, 15)
    assert Library.objects.get(slug="demo-documents").synced_at == synced_at


def test_seed_demo_leaves_a_library_it_did_not_make_alone():
    # given: someone else's library of that slug in the default tenant
    from informer.models import Tenant
    from library.models import Library, LibraryFile
    from tests.library.factories import LibraryFactory

    theirs = LibraryFactory(
        owner=UserFactory(tenant=Tenant.objects.get(slug="default")), slug="demo-documents", settings={"path": "x"}
    )
    before = Library.objects.values().get(pk=theirs.pk)

    # when
    output = seed()

    # then
    assert "Library 'default:demo-documents' exists and was not made by seed_demo: it was left as it is." in output
    assert Library.objects.values().get(pk=theirs.pk) == before
    assert not LibraryFile.objects.exists()


def test_the_demo_user_syncs_and_opens_the_demo_library_in_the_admin():
    from django.test import Client
    from django.urls import reverse

    from library.models import Library, LibraryFile

    # given
    seed()
    library = Library.objects.get(slug="demo-documents")
    file = LibraryFile.objects.get(library=library, path="guides/product-guide-2026.pdf")
    client = Client()
    assert client.login(username="demo", password="informer-demo")

    # when
    pages = {
        url: client.get(url)
        for url in (
            reverse("admin:library_library_changelist"),
            reverse("admin:library_library_change", args=[library.pk]),
            reverse("admin:library_library_add"),
            reverse("admin:library_libraryfile_changelist"),
            reverse("admin:library_libraryfile_change", args=[file.pk]),
            reverse("admin:library_libraryfile_download", args=[file.pk]),
        )
    }
    synced = client.post(reverse("admin:library_library_sync", args=[library.pk]))

    # then
    assert {url: response.status_code for url, response in pages.items()} == dict.fromkeys(pages, 200)
    assert ">Sync now</button>" in pages[reverse("admin:library_library_change", args=[library.pk])].content.decode()
    assert b"".join(pages[reverse("admin:library_libraryfile_download", args=[file.pk])].streaming_content)[:5] == (
        b"%PDF-"
    )
    assert synced.status_code == 302
    assert client.get(reverse("admin:library_storedcontent_changelist")).status_code == 403
