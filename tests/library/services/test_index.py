"""library_index on a local library: what is indexed, what is not (and why), what a later indexing reads again.

Most tests use the hashing stand-in embedder (words as tokens, no meaning); one uses the real model.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.db import DatabaseError
from django.utils import timezone

from library import vectors
from library.embedding import HashingEmbedder, get_embedder
from library.models import Chunk, Library, LibraryFile
from library.services import index as index_services
from library.services.files import file_delete
from library.services.index import IndexBusy, IndexProgress, library_index
from library.services.sync import library_sync
from library.vectors import vector_array
from tests.library.conftest import require_pgvector
from tests.library.services.conftest import MTIME, write

HASHING = "library.embedding.HashingEmbedder"
HASHING_NAME = HashingEmbedder.name

ALPHA = b"Alpha apples are crisp.\n\nThey grow in the orchard north of the river."
BETA = b"# Beta\n\nBeta bees make honey in the summer meadow."
GAMMA = b"name,colour\nplum,purple\npear,green\n"
DELTA = (
    b"<html><head><title>t</title><script>var hidden = 1;</script></head><body><p>Delta dunes drift.</p></body></html>"
)


@pytest.fixture(autouse=True)
def hashing(settings: Any) -> None:
    settings.INFORMER_EMBEDDER = HASHING


@pytest.fixture
def four(folder: Path) -> Path:
    """Four files of four formats, one in a sub-folder."""
    write(folder / "a.txt", ALPHA)
    write(folder / "b.md", BETA)
    write(folder / "data" / "c.csv", GAMMA)
    write(folder / "d.html", DELTA)
    return folder


@pytest.fixture
def extracted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every file the indexer extracts, by filename, in order."""
    seen: list[str] = []
    original = index_services.extract  # type: ignore[attr-defined]

    def counting(fileobj: Any, *, filename: str, content_type: str = "", max_chars: int | None = None) -> Any:
        seen.append(filename)
        return original(fileobj, filename=filename, content_type=content_type, max_chars=max_chars)

    monkeypatch.setattr(index_services, "extract", counting)
    return seen


def synced(library: Library) -> Library:
    result = library_sync(library=library)
    assert result.success, result.errors
    return library


def state(library: Library) -> dict[str, tuple[str, str, int]]:
    """Every file of ``library`` by path: (index status, index error, chunk count)."""
    rows = LibraryFile.objects.filter(library=library, directory=False)
    return {row.path: (row.index_status, row.index_error, row.chunks) for row in rows}


def chunks_of(library: Library, path: str) -> list[tuple[int, str]]:
    """The (id, text) of each chunk of the file at ``path``, in order."""
    rows = Chunk.objects.filter(file__library=library, file__path=path).order_by("ordinal")
    return list(rows.values_list("id", "text"))


def version(library: Library) -> int:
    return Library.objects.values_list("index_version", flat=True).get(pk=library.pk)


def later(path: Path, content: bytes, *, minutes: int = 1) -> None:
    """Change the file at ``path``, with a later modification time (so the next sync fetches it)."""
    write(path, content, mtime=MTIME + 60 * minutes)


# --- A first indexing ---------------------------------------------------------------------------------------


def test_a_first_indexing_stores_every_files_chunks_and_the_library_says_with_what(library, four, extracted):
    # given
    synced(library)
    seen: list[IndexProgress] = []

    # when
    result = library_index(library, progress=seen.append)

    # then
    assert result.to_dict() == {
        "indexed": 4,
        "unchanged": 0,
        "noText": 0,
        "skipped": 0,
        "errors": [],
        "chunks": result.chunks,
        "duration": result.duration,
        "success": True,
    }
    assert result.chunks == Chunk.objects.filter(library=library).count() >= 4
    assert sorted(extracted) == ["a.txt", "b.md", "c.csv", "d.html"]
    assert {path: status for path, (status, _, _) in state(library).items()} == {
        "a.txt": "indexed",
        "b.md": "indexed",
        "data/c.csv": "indexed",
        "d.html": "indexed",
    }
    for row in LibraryFile.objects.filter(library=library, directory=False):
        assert row.chunks == Chunk.objects.filter(file=row).count() > 0
        assert row.indexed_at is not None
        assert row.index_error == ""
    texts = " ".join(text for _, text in chunks_of(library, "d.html"))
    assert "Delta dunes drift." in texts and "hidden" not in texts
    assert "plum" in " ".join(text for _, text in chunks_of(library, "data/c.csv"))
    # each chunk holds the unit vector of its text
    chunk = Chunk.objects.filter(file__path="a.txt").order_by("ordinal").first()
    assert chunk is not None
    vector = vector_array(chunk.vector)
    assert vector.shape == (384,)
    assert np.allclose(vector, get_embedder().embed([chunk.text])[0], atol=1e-6)
    library.refresh_from_db()
    assert (library.index_model, library.index_started_at) == (HASHING_NAME, None)
    assert library.indexed_at is not None and library.index_version >= 4
    # progress: the start, then each file with the chunks so far
    assert [(item.files_done, item.files_total) for item in seen] == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]
    assert [item.chunks for item in seen] == sorted(item.chunks for item in seen)
    assert seen[-1].chunks == result.chunks
    assert sorted(item.path for item in seen[1:]) == ["a.txt", "b.md", "d.html", "data/c.csv"]


def test_folders_and_files_without_content_are_not_indexed(library, folder, settings, extracted):
    # given: a file over the sync's size limit is listed without content
    write(folder / "a.txt", ALPHA)
    write(folder / "big.txt", b"x" * 200)
    settings.INFORMER_LIBRARY_MAX_FILE_BYTES = 100
    library_sync(library=library)

    # when
    result = library_index(library)

    # then
    assert (result.indexed, result.unchanged, result.skipped) == (1, 0, 0)
    assert extracted == ["a.txt"]
    assert state(library)["big.txt"][0] == "skipped"  # as the sync left it, with its reason
    assert "INFORMER_LIBRARY_MAX_FILE_BYTES" in state(library)["big.txt"][1]


# --- Incremental ---------------------------------------------------------------------------------------------


def test_a_second_indexing_reads_no_unchanged_file_and_changes_nothing(library, four, extracted):
    # given
    synced(library)
    library_index(library)
    before = (list(Chunk.objects.order_by("id").values_list("id", "text")), version(library))
    extracted.clear()

    # when
    result = library_index(library)

    # then
    assert extracted == []
    assert (result.indexed, result.unchanged, result.chunks, result.errors, result.success) == (0, 4, 0, [], True)
    assert (list(Chunk.objects.order_by("id").values_list("id", "text")), version(library)) == before


def test_a_changed_file_is_read_again_and_its_chunks_replaced(library, four, extracted):
    # given
    synced(library)
    library_index(library)
    old = chunks_of(library, "a.txt")
    others = {path: chunks_of(library, path) for path in ("b.md", "data/c.csv", "d.html")}
    before = version(library)
    later(four / "a.txt", b"Zebra zones are striped.")
    synced(library)
    assert state(library)["a.txt"][0] == "pending"
    extracted.clear()

    # when
    result = library_index(library)

    # then
    assert extracted == ["a.txt"]
    assert (result.indexed, result.unchanged) == (1, 3)
    new = chunks_of(library, "a.txt")
    assert [text for _, text in new] == ["Zebra zones are striped."]
    assert not Chunk.objects.filter(pk__in=[pk for pk, _ in old]).exists()
    assert not Chunk.objects.filter(text__contains="Alpha").exists()
    assert {path: chunks_of(library, path) for path in others} == others
    assert state(library)["a.txt"] == ("indexed", "", 1)
    assert version(library) > before


def test_a_write_that_fails_midway_keeps_the_old_chunks_and_the_file_pending(library, four, monkeypatch):
    # given: indexed, then a.txt changed and a new file added
    synced(library)
    library_index(library)
    old = chunks_of(library, "a.txt")
    later(four / "a.txt", b"Zebra zones are striped.")
    write(four / "e.txt", b"Echo canyons answer back.")
    synced(library)
    real = vectors.vector_store

    class Failing:
        """The vector store, failing for a.txt's chunks (after they were inserted in the transaction)."""

        def __init__(self, store: Any) -> None:
            self.store = store
            self.name = store.name

        def add(self, chunks: Sequence[Chunk]) -> None:
            if chunks and chunks[0].text.startswith("Zebra"):
                raise DatabaseError("the disk is full")
            self.store.add(chunks)

        def search(self, *args: Any, **kwargs: Any) -> Any:
            return self.store.search(*args, **kwargs)

    monkeypatch.setattr(index_services, "vector_store", lambda dimensions: Failing(real(dimensions)))

    # when
    result = library_index(library)

    # then: a.txt is as it was, chunks and all; the new file is indexed
    assert result.success is False
    assert result.errors == [
        {"path": "a.txt", "error": "Writing its index failed, it stays pending with its old chunks: the disk is full"}
    ]
    assert chunks_of(library, "a.txt") == old
    assert not Chunk.objects.filter(text__startswith="Zebra").exists()
    assert state(library)["a.txt"] == ("pending", "", 0)
    assert state(library)["e.txt"][0] == "indexed"
    assert result.indexed == 1

    # when: the next indexing, with the store working again
    monkeypatch.setattr(index_services, "vector_store", real)
    again = library_index(library)

    # then
    assert (again.indexed, again.success) == (1, True)
    assert [text for _, text in chunks_of(library, "a.txt")] == ["Zebra zones are striped."]


def test_a_file_changed_while_it_was_read_is_left_pending_for_the_next_indexing(library, four, monkeypatch):
    # given: indexed; a.txt changes; and while it is being read, a sync records newer content again
    synced(library)
    library_index(library)
    old = chunks_of(library, "a.txt")
    later(four / "a.txt", b"Zebra zones are striped.")
    synced(library)
    original = index_services.extract

    def meanwhile(fileobj: Any, **kwargs: Any) -> Any:
        if kwargs["filename"] == "a.txt":
            LibraryFile.objects.filter(library=library, path="a.txt").update(sha256="0" * 64)
        return original(fileobj, **kwargs)

    monkeypatch.setattr(index_services, "extract", meanwhile)

    # when
    result = library_index(library)

    # then: nothing written for it (not even its old chunks deleted); it stays pending
    assert (result.indexed, result.errors) == (0, [])
    assert chunks_of(library, "a.txt") == old
    assert state(library)["a.txt"] == ("pending", "", 0)


def test_a_deleted_files_chunks_go_with_it_and_caches_hear_of_it(library, four):
    # given
    synced(library)
    library_index(library)
    gone = chunks_of(library, "b.md")
    before = version(library)

    # when: the sync deletes it (gone from the folder)
    (four / "b.md").unlink()
    synced(library)

    # then
    assert not Chunk.objects.filter(pk__in=[pk for pk, _ in gone]).exists()
    assert version(library) == before + 1
    assert chunks_of(library, "a.txt")

    # when: a deletion through the files service
    before = version(library)
    file_delete(file=LibraryFile.objects.get(library=library, path="a.txt"))

    # then
    assert chunks_of(library, "a.txt") == []
    assert version(library) == before + 1
    # and an indexing afterwards finds the others unchanged
    result = library_index(library)
    assert (result.indexed, result.unchanged) == (0, 2)


def test_a_deletion_of_files_without_chunks_leaves_the_version(library, four):
    # given: synced, never indexed
    synced(library)
    before = version(library)

    # when
    (four / "b.md").unlink()
    synced(library)
    file_delete(file=LibraryFile.objects.get(library=library, path="a.txt"))

    # then
    assert version(library) == before


def test_chunks_of_a_file_that_became_a_folder_are_deleted(library, folder):
    # given: notes.txt was a file, indexed; now it is a folder
    write(folder / "notes.txt", b"Xylophones ring.")
    synced(library)
    library_index(library)
    assert chunks_of(library, "notes.txt")
    (folder / "notes.txt").unlink()
    write(folder / "notes.txt" / "inner.txt", b"Inner islands.")
    write(folder / "y.txt", b"Yonder yaks.")
    library_sync(library=library)
    assert LibraryFile.objects.get(library=library, path="notes.txt").directory is True

    # when
    library_index(library)

    # then
    assert chunks_of(library, "notes.txt") == []
    assert not Chunk.objects.filter(text__contains="Xylophones").exists()
    assert chunks_of(library, "notes.txt/inner.txt")


# --- Files that are not indexed, and why ---------------------------------------------------------------------


def test_each_file_that_cannot_be_indexed_says_why_and_the_rest_are_indexed(library, folder, settings, extracted):
    # given
    write(folder / "a.txt", ALPHA)
    write(folder / "blank.txt", b"   \n\n  \n")
    write(folder / "broken.pdf", b"%PDF-1.4 this is no PDF at all")
    write(folder / "picture.png", b"\x89PNG\r\n\x1a\n0000")
    write(folder / "large.md", b"# Large\n\n" + b"word " * 200)
    settings.INFORMER_LIBRARY_MAX_INDEX_BYTES = 500
    synced(library)

    # when
    result = library_index(library)

    # then
    files = state(library)
    assert files["a.txt"][0] == "indexed"
    assert files["blank.txt"] == (
        "no_text",
        "No text was found in the file (a scanned document or an image has none to index).",
        0,
    )
    assert files["broken.pdf"][0] == "error" and files["broken.pdf"][1] and files["broken.pdf"][2] == 0
    assert files["picture.png"] == (
        "skipped",
        "Not a format that is indexed (txt, md, csv, html, pdf, docx); it is not read.",
        0,
    )
    assert files["large.md"] == (
        "skipped",
        "The file is larger than the 500 bytes limit for indexing (INFORMER_LIBRARY_MAX_INDEX_BYTES); it is not "
        "indexed.",
        0,
    )
    assert sorted(extracted) == ["a.txt", "blank.txt", "broken.pdf"]  # the skipped ones are not read
    assert (result.indexed, result.no_text, result.skipped) == (1, 1, 2)
    assert result.errors == [{"path": "broken.pdf", "error": files["broken.pdf"][1]}]
    assert result.success is True  # the file's own failure: indexing again would not change it
    assert Chunk.objects.filter(library=library).exclude(file__path="a.txt").count() == 0

    # when: again, nothing changed
    extracted.clear()
    again = library_index(library)

    # then: none of them is read again
    assert extracted == []
    assert (again.unchanged, again.errors) == (5, [])


def test_an_extractor_that_raises_anything_fails_that_file_only(library, four, monkeypatch):
    # given
    synced(library)
    original = index_services.extract

    def explode(fileobj: Any, **kwargs: Any) -> Any:
        if kwargs["filename"] == "b.md":
            raise KeyError("/Root")
        return original(fileobj, **kwargs)

    monkeypatch.setattr(index_services, "extract", explode)

    # when
    result = library_index(library)

    # then
    assert result.errors == [{"path": "b.md", "error": "The text could not be extracted: KeyError: '/Root'"}]
    assert state(library)["b.md"] == ("error", "The text could not be extracted: KeyError: '/Root'", 0)
    assert result.indexed == 3


def test_a_file_that_fails_after_it_was_indexed_loses_its_old_chunks(library, four):
    # given: b.md indexed, then replaced by a file with no text
    synced(library)
    library_index(library)
    later(four / "b.md", b"\n\n")
    synced(library)

    # when
    library_index(library)

    # then: its chunks were of the old content
    assert chunks_of(library, "b.md") == []
    assert state(library)["b.md"][0] == "no_text"


# --- Everything again ----------------------------------------------------------------------------------------


def test_force_indexes_every_file_again(library, four, extracted):
    # given
    synced(library)
    library_index(library)
    old_ids = set(Chunk.objects.values_list("id", flat=True))
    old_texts = sorted(Chunk.objects.values_list("text", flat=True))
    extracted.clear()

    # when
    result = library_index(library, force=True)

    # then
    assert sorted(extracted) == ["a.txt", "b.md", "c.csv", "d.html"]
    assert (result.indexed, result.unchanged) == (4, 0)
    assert set(Chunk.objects.values_list("id", flat=True)).isdisjoint(old_ids)
    assert sorted(Chunk.objects.values_list("text", flat=True)) == old_texts


def test_another_embedder_means_every_file_is_indexed_again(library, four, extracted):
    # given: indexed with another model
    synced(library)
    library_index(library)
    Library.objects.filter(pk=library.pk).update(index_model="another-model")
    library.refresh_from_db()
    extracted.clear()

    # when
    result = library_index(library)

    # then
    assert sorted(extracted) == ["a.txt", "b.md", "c.csv", "d.html"]
    assert (result.indexed, result.unchanged) == (4, 0)
    library.refresh_from_db()
    assert library.index_model == HASHING_NAME


def test_an_embedder_change_left_unfinished_does_not_claim_the_new_embedder(library, four, monkeypatch):
    # given: indexed with another model; the embedder fails now
    synced(library)
    Library.objects.filter(pk=library.pk).update(index_model="another-model")

    def broken(texts: Sequence[str]) -> np.ndarray:
        raise RuntimeError("the model file is gone")

    monkeypatch.setattr(get_embedder(), "embed", broken)

    # when
    result = library_index(library)

    # then: every file stays pending, and the library still says the old model
    assert result.success is False
    assert {error["path"] for error in result.errors} == {"a.txt", "b.md", "data/c.csv", "d.html"}
    assert result.errors[0]["error"] == (
        "Embedding its text failed, it stays pending: RuntimeError: the model file is gone"
    )
    assert {status for status, _, _ in state(library).values()} == {"pending"}
    assert Library.objects.get(pk=library.pk).index_model == "another-model"
    assert not Chunk.objects.exists()


# --- Batches ------------------------------------------------------------------------------------------------


def test_chunks_are_embedded_in_batches_gathered_across_files_sorted_by_length(library, folder, monkeypatch):
    # given: three files of 30 short paragraphs each (90 chunks: 64 + 26)
    for name in ("a", "b", "c"):
        paragraphs = [f"{name} paragraph {i} " + "word " * (i % 7) + "." for i in range(30)]
        write(folder / f"{name}.txt", "\n\n".join(paragraphs).encode())
    synced(library)
    embedder = get_embedder()
    calls: list[list[str]] = []
    original = embedder.embed

    def spy(texts: Sequence[str]) -> np.ndarray:
        calls.append(list(texts))
        return original(texts)

    monkeypatch.setattr(embedder, "embed", spy)
    monkeypatch.setattr(index_services, "MAX_TOKENS", 8)
    monkeypatch.setattr(index_services, "EMBED_BATCH", 64)  # a window the 90 chunks fill once

    # when
    result = library_index(library)

    # then
    total = Chunk.objects.filter(library=library).count()
    assert result.chunks == total > 64
    assert [len(call) for call in calls] == [64] * (total // 64) + ([total % 64] if total % 64 else [])
    assert {text.split()[0] for text in calls[0]} >= {"a", "b"}  # one batch, several files
    for call in calls:
        assert [len(text) for text in call] == sorted(len(text) for text in call)
    for row in LibraryFile.objects.filter(library=library, directory=False):
        for chunk in Chunk.objects.filter(file=row):
            assert np.allclose(vector_array(chunk.vector), original([chunk.text])[0], atol=1e-6)


# --- One at a time ------------------------------------------------------------------------------------------


def test_an_indexing_already_running_is_a_409_and_changes_nothing(library, four, extracted):
    # given
    synced(library)
    started = timezone.now() - dt.timedelta(minutes=5)
    Library.objects.filter(pk=library.pk).update(index_started_at=started)

    # when
    with pytest.raises(IndexBusy) as busy:
        library_index(library)

    # then
    assert (busy.value.status_code, busy.value.message) == (409, "The library is already being indexed.")
    assert extracted == []
    assert not Chunk.objects.exists()
    assert Library.objects.get(pk=library.pk).index_started_at == started
    assert {status for status, _, _ in state(library).values()} == {"pending"}


def test_a_claim_left_by_an_indexing_that_died_is_taken_over(library, four):
    # given: claimed two hours ago and never renewed
    synced(library)
    Library.objects.filter(pk=library.pk).update(index_started_at=timezone.now() - dt.timedelta(hours=2))

    # when
    result = library_index(library)

    # then
    assert result.indexed == 4
    assert Library.objects.get(pk=library.pk).index_started_at is None


def test_the_claim_is_released_when_the_indexing_fails(library, four, monkeypatch):
    # given
    synced(library)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise DatabaseError("gone")

    monkeypatch.setattr(index_services._Indexing, "_drop_strays", broken)

    # when
    with pytest.raises(DatabaseError):
        library_index(library)

    # then
    assert Library.objects.get(pk=library.pk).index_started_at is None


def test_an_indexing_that_is_cancelled_keeps_what_it_wrote(library, four):
    # given
    synced(library)
    asked: list[int] = []

    def cancelled() -> bool:
        asked.append(1)
        return len(asked) > 2

    # when
    with pytest.raises(index_services.IndexCancelled) as stopped:
        library_index(library, cancelled=cancelled)

    # then: two files indexed, the others still pending
    statuses = sorted(status for status, _, _ in state(library).values())
    assert statuses == ["indexed", "indexed", "pending", "pending"]
    assert (stopped.value.result.indexed, stopped.value.result.success) == (2, False)
    assert Library.objects.get(pk=library.pk).index_started_at is None


# --- The vector store ----------------------------------------------------------------------------------------


def test_on_pgvector_every_chunk_has_its_vector_copied_and_replaced_with_it(library, four):
    require_pgvector()
    from library.models import ChunkVector

    def copies() -> set[int]:
        return set(ChunkVector.objects.values_list("chunk_id", flat=True))

    # given
    synced(library)
    library_index(library)
    assert set(ChunkVector.objects.values_list("chunk_id", flat=True)) == set(
        Chunk.objects.values_list("id", flat=True)
    )

    # when
    later(four / "a.txt", b"Zebra zones are striped.")
    synced(library)
    library_index(library)

    # then
    assert set(ChunkVector.objects.values_list("chunk_id", flat=True)) == set(
        Chunk.objects.values_list("id", flat=True)
    )
    [(zebra, _)] = chunks_of(library, "a.txt")
    copied = np.asarray(ChunkVector.objects.get(chunk_id=zebra).embedding, dtype=np.float32)
    assert np.allclose(copied, vector_array(Chunk.objects.get(pk=zebra).vector), atol=1e-6)


# --- The real model -----------------------------------------------------------------------------------------


def test_the_real_model_indexes_by_meaning(library, folder, settings, monkeypatch, minilm):
    # given
    settings.INFORMER_EMBEDDER = "library.embedding.MiniLMEmbedder"
    monkeypatch.setattr(index_services, "get_embedder", lambda: minilm)
    write(folder / "refunds.md", b"# Returns\n\nYou can send a product back within 30 days for a full refund.")
    write(folder / "coffee.txt", b"Grind the beans finely and tamp the espresso evenly before brewing.")
    synced(library)

    # when
    result = library_index(library)

    # then
    assert (result.indexed, result.success) == (2, True)
    library.refresh_from_db()
    assert library.index_model == minilm.name
    query = minilm.embed(["How do I get my money back?"])[0]
    scores = {
        row.file.path: float(vector_array(row.vector) @ query)
        for row in Chunk.objects.filter(library=library).select_related("file")
    }
    assert scores["refunds.md"] > scores["coffee.txt"] + 0.1
    for row in Chunk.objects.filter(library=library):
        assert abs(float(np.linalg.norm(vector_array(row.vector))) - 1.0) < 1e-3
