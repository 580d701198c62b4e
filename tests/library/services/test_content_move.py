"""Contents kept in a FileSystemStorage are moved into place (linked), not copied; no temporary file stays."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import transaction

from library import content as content_module
from library.content import content_open, content_spool, content_store, contents_keep, storage_name_for
from library.models import StoredContent


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def leftovers(media: Path) -> list[str]:
    """Every file under the storage's folder that is not a stored content, and spools in the system temp."""
    files = [str(path.relative_to(media)) for path in media.rglob("*") if path.is_file()]
    stored = set(StoredContent.objects.values_list("storage_name", flat=True))
    system = [path.name for path in Path(tempfile.gettempdir()).glob(".library-spool-*")]
    return sorted(name for name in files if name not in stored) + system


@pytest.fixture
def no_copies(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names FileSystemStorage._save is asked to write (a copy); it writes them as before."""
    copied: list[str] = []
    save = FileSystemStorage._save

    def recording(self: FileSystemStorage, name: str, content: Any) -> str:
        copied.append(name)
        return save(self, name, content)  # type: ignore[no-any-return]

    monkeypatch.setattr(FileSystemStorage, "_save", recording)
    monkeypatch.setattr(content_module, "_disk_storage", lambda: default_storage)  # _save is wrapped now
    return copied


@pytest.mark.parametrize("unnamed", [True, False], ids=["o_tmpfile", "named-spool"])
def test_a_content_is_moved_into_the_storage_leaving_no_temporary_file(
    media: Path, db: Any, no_copies: list[str], monkeypatch: pytest.MonkeyPatch, unnamed: bool
) -> None:
    if not unnamed:  # a system without unnamed files: a named spool in the storage's folder
        monkeypatch.delattr(os, "O_TMPFILE", raising=False)

    # when
    with content_spool(iter([b"moved ", b"bytes"])) as spooled, transaction.atomic():
        assert (spooled.link_from or "").startswith("/proc/self/fd/" if unnamed else str(media / ".library-spool-"))
        stored = contents_keep([spooled])[spooled.sha256]

    # then the file is in place, was never copied, and nothing else is left
    digest = sha(b"moved bytes")
    assert (stored.sha256, stored.storage_name) == (digest, storage_name_for(digest))
    assert (media / stored.storage_name).read_bytes() == b"moved bytes"
    assert os.stat(media / stored.storage_name).st_nlink == 1
    assert oct(os.stat(media / stored.storage_name).st_mode & 0o777) == oct(default_storage.file_permissions_mode)
    assert no_copies == []
    assert leftovers(media) == []
    with content_open(digest) as handle:
        assert handle.read() == b"moved bytes"


def test_a_taken_name_gets_another_one_as_the_storage_gives(media: Path, db: Any, no_copies: list[str]) -> None:
    # given a file left at the content's name (by a crash) with no row
    digest = sha(b"fresh")
    (media / "library" / digest[:2]).mkdir(parents=True)
    (media / storage_name_for(digest)).write_bytes(b"stale")

    # when
    stored = content_store(iter([b"fresh"]))

    # then the stale file is untouched and the content has a name of its own
    assert stored.storage_name != storage_name_for(digest)
    assert stored.storage_name.startswith(storage_name_for(digest))
    assert (media / storage_name_for(digest)).read_bytes() == b"stale"
    assert (media / stored.storage_name).read_bytes() == b"fresh"
    assert no_copies == []


def test_a_content_that_cannot_be_linked_is_copied(
    media: Path, db: Any, no_copies: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(source: str, target: str, **options: Any) -> None:
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", refused)

    stored = content_store(iter([b"copied"]))

    assert (media / stored.storage_name).read_bytes() == b"copied"
    assert no_copies == [storage_name_for(sha(b"copied"))]
    assert leftovers(media) == []


def test_a_failed_spool_leaves_nothing_in_the_storage(media: Path, db: Any) -> None:
    def broken() -> Any:
        yield b"half"
        raise ConnectionResetError("gone")

    with pytest.raises(ConnectionResetError), content_spool(broken()):
        pass

    assert leftovers(media) == [] and StoredContent.objects.count() == 0


def test_other_storages_get_a_copy_from_a_system_temporary_file(db: Any, settings: Any) -> None:
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}

    with content_spool(iter([b"in memory"])) as spooled:
        assert spooled.link_from is None
        kept = contents_keep([spooled])[spooled.sha256]

    assert default_storage.open(kept.storage_name).read() == b"in memory"
