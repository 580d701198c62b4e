"""``index_library``: a local library indexed end to end, its counts printed, its progress, its exit codes; and
``sync_library`` indexing an embedded library after its sync."""

from __future__ import annotations

import json
import re
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError
from django.utils import timezone

from library.models import Chunk, Library, LibraryFile
from library.services import index as index_services
from library.services.sync import library_sync
from tests.library.factories import LibraryFactory
from tests.library.services.conftest import write


class Terminal(StringIO):
    """What a command's stdout is on an interactive terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def hashing(settings: Any) -> None:
    settings.INFORMER_EMBEDDER = "library.embedding.HashingEmbedder"


@pytest.fixture
def folder(local_library_root: Path, media: Path) -> Path:
    path = local_library_root / "docs"
    write(path / "a.txt", b"Alpha apples.")
    write(path / "b.md", b"# Beta\n\nBeta bees.")
    write(path / "sub" / "c.txt", b"Gamma grapes.")
    return path


@pytest.fixture
def library(owner: Any, folder: Path) -> Library:
    library: Library = LibraryFactory(owner=owner, name="Docs", slug="docs", settings={"path": "docs"})
    library_sync(library=library)
    return library


def command(name: str, *args: str, stdout: StringIO | None = None) -> str:
    out = stdout if stdout is not None else StringIO()
    call_command(name, *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def failure_of(name: str, *args: str, stdout: StringIO | None = None) -> tuple[CommandError, str]:
    out = stdout if stdout is not None else StringIO()
    with pytest.raises(CommandError) as failure:
        command(name, *args, stdout=out)
    assert failure.value.returncode == 1  # what manage.py exits with
    return failure.value, out.getvalue()


def statuses(library: Library) -> dict[str, str]:
    return dict(LibraryFile.objects.filter(library=library, directory=False).values_list("path", "index_status"))


def test_an_indexing_prints_its_progress_and_what_it_did(library):
    # when
    output = command("index_library", "alpha:docs")

    # then: the plain output (no terminal) counts the files at each tenth, then the counts
    stored = Library.objects.get(pk=library.pk)
    lines = output.splitlines()
    assert lines[:3] == [
        "Indexing 'Docs', 1 chunks: 1/3 files",
        "Indexing 'Docs', 2 chunks: 2/3 files",
        "Indexing 'Docs', 3 chunks: 3/3 files",
    ]
    assert lines[3:9] == [
        "  indexed: 3",
        "  unchanged: 0",
        "  no text: 0",
        "  skipped: 0",
        "  errors: 0",
        "  chunks: 3",
    ]
    assert re.fullmatch(r"  duration: \d+\.\d s", lines[9])
    assert lines[10] == f"  indexed at: {stored.indexed_at:%Y-%m-%d %H:%M:%S} UTC"
    assert lines[11:] == ["Indexed 'Docs' (alpha:docs) with hashing-test-embedder."]
    assert set(statuses(library).values()) == {"indexed"}


def test_on_a_terminal_a_bar_counts_the_files(library):
    # when
    output = command("index_library", str(library.pk), stdout=Terminal())

    # then
    assert "3/3" in output and "\r" in output
    assert "Indexed 'Docs' (alpha:docs)" in output


def test_a_second_indexing_reads_nothing_and_force_reads_everything(library, monkeypatch):
    # given
    command("index_library", "alpha:docs")
    read: list[str] = []
    original = index_services.extract

    def counting(fileobj: Any, **kwargs: Any) -> Any:
        read.append(kwargs["filename"])
        return original(fileobj, **kwargs)

    monkeypatch.setattr(index_services, "extract", counting)

    # when
    again = json.loads(command("index_library", "alpha:docs", "--json").splitlines()[-1])

    # then
    assert (again["indexed"], again["unchanged"], read) == (0, 3, [])

    # when
    forced = json.loads(command("index_library", "alpha:docs", "--force", "--json").splitlines()[-1])

    # then
    assert (forced["indexed"], forced["unchanged"], sorted(read)) == (3, 0, ["a.txt", "b.md", "c.txt"])
    assert set(forced) == {"indexed", "unchanged", "noText", "skipped", "errors", "chunks", "duration", "success"}


def test_a_file_that_cannot_be_indexed_is_shown_and_does_not_fail_the_command(library, folder):
    # given
    write(folder / "broken.pdf", b"%PDF-1.4 not a PDF")
    library_sync(library=library)

    # when
    output = command("index_library", "alpha:docs")

    # then
    assert "  errors: 1" in output
    assert re.search(r"^  broken\.pdf: .+", output, re.MULTILINE)
    assert statuses(library)["broken.pdf"] == "error"


def test_files_left_pending_fail_the_command(library, monkeypatch):
    # given: writing the index fails
    def failing(dimensions: int) -> Any:
        class Store:
            name = "exact"

            def add(self, chunks: Any) -> None:
                raise DatabaseError("the disk is full")

        return Store()

    monkeypatch.setattr(index_services, "vector_store", failing)

    # when
    failure, output = failure_of("index_library", "alpha:docs")

    # then
    assert str(failure) == (
        "'Docs' was not fully indexed: files stay pending (see above); the next indexing takes them."
    )
    assert "a.txt: Writing its index failed, it stays pending with its old chunks: the disk is full" in output
    assert set(statuses(library).values()) == {"pending"}
    assert not Chunk.objects.exists()


def test_an_unknown_library_fails(db):
    # when
    failure, _ = failure_of("index_library", "alpha:nothing")

    # then
    assert str(failure) == "No library 'alpha:nothing'."


def test_a_library_being_indexed_fails_and_is_left_alone(library):
    # given
    Library.objects.filter(pk=library.pk).update(index_started_at=timezone.now())

    # when
    failure, _ = failure_of("index_library", "alpha:docs")

    # then
    assert str(failure) == "'Docs' was not indexed: The library is already being indexed."
    assert not Chunk.objects.exists()


# --- sync_library -------------------------------------------------------------------------------------------


def test_sync_library_indexes_an_embedded_library_after_its_sync(library, folder):
    # given: embedded, and a new file to sync
    Library.objects.filter(pk=library.pk).update(embedded=True)
    write(folder / "d.txt", b"Delta dunes.")

    # when
    output = command("sync_library", "alpha:docs")

    # then: the sync's lines, then the indexing's bar and counts
    assert "  added: 1" in output
    assert "Indexing 'Docs', 4 chunks: 4/4 files" in output
    assert "  indexed: 4" in output
    assert output.rstrip().endswith("Indexed 'Docs' (alpha:docs) with hashing-test-embedder.")
    assert set(statuses(library).values()) == {"indexed"}

    # when: as JSON, nothing new
    answer = json.loads(command("sync_library", "alpha:docs", "--json").splitlines()[-1])

    # then
    assert answer["unchanged"] == 4
    assert (answer["index"]["indexed"], answer["index"]["unchanged"]) == (0, 4)


def test_sync_library_does_not_index_a_library_that_is_not_embedded(library):
    # when
    output = command("sync_library", "alpha:docs")

    # then
    assert "Indexing" not in output
    assert set(statuses(library).values()) == {"pending"}


def test_sync_library_does_not_index_after_a_failed_sync(library, folder):
    # given: embedded; the folder is gone
    Library.objects.filter(pk=library.pk).update(embedded=True)
    for path in sorted(folder.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    folder.rmdir()

    # when
    _, output = failure_of("sync_library", "alpha:docs")

    # then
    assert "Indexing" not in output
    assert Library.objects.get(pk=library.pk).indexed_at is None


def test_sync_library_fails_when_the_indexing_cannot_run_and_still_shows_the_sync(library, folder):
    # given
    Library.objects.filter(pk=library.pk).update(embedded=True, index_started_at=timezone.now())
    write(folder / "d.txt", b"Delta dunes.")

    # when
    failure, output = failure_of("sync_library", "alpha:docs")

    # then
    assert str(failure) == "'Docs' was not indexed: The library is already being indexed."
    assert "  added: 1" in output
    assert LibraryFile.objects.filter(library=library, path="d.txt").exists()
