"""``sync_library``: a local library synced end to end, its answer printed, its progress, its exit codes."""

from __future__ import annotations

import json
import re
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from library.models import Library, LibraryFile
from tests.library.factories import LibraryFactory
from tests.library.services.conftest import write


class Terminal(StringIO):
    """What a command's stdout is on an interactive terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def folder(local_library_root: Path, media: Path) -> Path:
    path = local_library_root / "docs"
    write(path / "a.txt", b"alpha")
    write(path / "b.txt", b"beta")
    write(path / "sub" / "c.txt", b"gamma")
    return path


@pytest.fixture
def library(owner: Any, folder: Path) -> Library:
    return LibraryFactory(owner=owner, name="Docs", slug="docs", settings={"path": "docs"})


def command(*args: str, stdout: StringIO | None = None) -> str:
    out = stdout if stdout is not None else StringIO()
    call_command("sync_library", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def failure_of(*args: str, stdout: StringIO | None = None) -> CommandError:
    with pytest.raises(CommandError) as failure:
        command(*args, stdout=stdout)
    assert failure.value.returncode == 1  # what manage.py exits with
    return failure.value


def test_a_sync_prints_what_it_did(library: Library) -> None:
    # when
    output = command("alpha:docs")

    # then: the plain output (no terminal) counts the files at each tenth, then the §9 answer
    stored = Library.objects.get(pk=library.pk)
    lines = output.splitlines()[2:]
    assert output.splitlines()[:3] == [
        "Syncing 'Docs', 5 bytes fetched: 1/3 files",
        "Syncing 'Docs', 9 bytes fetched: 2/3 files",
        "Syncing 'Docs', 14 bytes fetched: 3/3 files",
    ]
    assert lines[1:7] == [
        "  added: 3",
        "  updated: 0",
        "  deleted: 0",
        "  unchanged: 0",
        "  skipped: 0",
        "  fetched: 14 bytes",
    ]
    assert re.fullmatch(r"  duration: \d+\.\d s \(\d+ ms\)", lines[7])
    assert lines[8] == f"  synced at: {stored.synced_at:%Y-%m-%d %H:%M:%S} UTC"
    assert lines[9:] == ["Synced 'Docs' (alpha:docs): 3 files, 14 bytes."]
    assert (stored.files, stored.size, stored.syncing) == (3, 14, False)


def test_a_second_sync_by_uuid_finds_everything_unchanged(library: Library) -> None:
    command("alpha:docs")

    output = command(str(library.pk), "--json")

    assert output.splitlines()[0] == "Syncing 'Docs': 3/3 files"
    answer = json.loads(output.splitlines()[-1])
    assert answer == {
        "added": 0,
        "updated": 0,
        "deleted": 0,
        "unchanged": 3,
        "skipped": 0,
        "bytes": 0,
        "duration": answer["duration"],
        "errors": [],
        "success": True,
    }


def test_on_a_terminal_a_bar_counts_the_files(library: Library) -> None:
    terminal = Terminal()

    output = command("alpha:docs", stdout=terminal)

    assert "\r" in output and "3/3" in output and "files" in output
    assert "Synced 'Docs' (alpha:docs): 3 files, 14 bytes." in output


def test_a_mass_deletion_is_refused_unless_allowed(library: Library, folder: Path) -> None:
    # given the remote emptied after a sync
    command("alpha:docs")
    for path in ("a.txt", "b.txt", "sub/c.txt"):
        (folder / path).unlink()
    out = StringIO()

    # when
    failure = failure_of("alpha:docs", stdout=out)

    # then
    reason = (
        "Refused to delete 3 of the library's 3 files in one sync (more than half): nothing was deleted. "
        "Sync with allowMassDelete to delete them."
    )
    assert str(failure) == f"'Docs' was not fully synced: {reason}"
    assert f"  Docs: {reason}" in out.getvalue().splitlines()
    assert LibraryFile.objects.filter(library=library, directory=False).count() == 3

    # when allowed
    output = command("alpha:docs", "--allow-mass-delete")

    assert "  deleted: 3" in output.splitlines()
    assert LibraryFile.objects.filter(library=library, directory=False).count() == 0


def test_a_failed_listing_exits_1_with_the_reason(library: Library, folder: Path) -> None:
    folder.rename(folder.parent / "gone")

    failure = failure_of("alpha:docs")

    assert str(failure) == (
        "'Docs' was not fully synced: The listing failed, so nothing was changed: "
        "There is no folder 'docs' under the library root."
    )


def test_an_unknown_library_and_one_being_synced_exit_1(library: Library) -> None:
    assert str(failure_of("alpha:nope")) == "No library 'alpha:nope'."
    assert str(failure_of("not-an-id")) == "No library 'not-an-id'."

    Library.objects.filter(pk=library.pk).update(sync_started_at=timezone.now())

    assert str(failure_of("alpha:docs")) == (
        "'Docs' was not synced: The library is being synced; try again once that sync has finished."
    )
    assert LibraryFile.objects.filter(library=library).count() == 0
