"""``seed_demo`` indexes the demo library after syncing it (with the real model), so a search answers at once;
a second seed indexes nothing again."""

from __future__ import annotations

from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command

from library.embedding import MiniLMEmbedder, get_embedder
from library.models import Chunk, Library, LibraryFile
from library.vectors import vector_array

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, stderr=StringIO())
    return out.getvalue()


def test_the_demo_library_is_indexed_with_the_real_model_and_answers_a_question(settings):
    # given: the default embedder
    settings.INFORMER_EMBEDDER = "library.embedding.MiniLMEmbedder"

    # when
    output = seed()

    # then
    library = Library.objects.get(slug="demo-documents")
    files = LibraryFile.objects.filter(library=library, directory=False)
    chunks = Chunk.objects.filter(library=library)
    assert f"  Library 'default:demo-documents' indexed: 12 files, {chunks.count()} chunks.\n" in output
    assert sorted(set(files.values_list("index_status", flat=True))) == ["indexed"]
    assert all(file.chunks > 0 for file in files)
    assert (library.index_model, library.indexed_at is not None) == (MiniLMEmbedder.name, True)
    assert "were not indexed" not in output
    # the nearest chunk to a question is the returns policy's
    query = get_embedder().embed(["How many days do I have to send a product back?"])[0]
    best = max(chunks.select_related("file"), key=lambda chunk: float(vector_array(chunk.vector) @ query))
    assert best.file.path.startswith("policies/") and "return" in best.file.path
    assert "30 days" in best.text


def test_a_second_seed_indexes_nothing_again(settings, monkeypatch):
    # given
    settings.INFORMER_EMBEDDER = "library.embedding.HashingEmbedder"
    first = seed()
    library = Library.objects.get(slug="demo-documents")
    assert "  Library 'default:demo-documents' indexed: 12 files, " in first
    before = (list(Chunk.objects.order_by("id").values_list("id", flat=True)), library.indexed_at)
    from library.services import index as index_services

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("indexed again")

    monkeypatch.setattr(index_services, "extract", refuse)

    # when
    again = seed()

    # then
    assert "indexed" not in again
    library.refresh_from_db()
    assert (list(Chunk.objects.order_by("id").values_list("id", flat=True)), library.indexed_at) == before


def test_a_seed_after_the_embedder_changed_indexes_the_demo_library_again(settings):
    # given: seeded with one embedder
    settings.INFORMER_EMBEDDER = "library.embedding.HashingEmbedder"
    seed()
    assert Library.objects.get(slug="demo-documents").index_model == "hashing-test-embedder"

    # when: another
    settings.INFORMER_EMBEDDER = "library.embedding.MiniLMEmbedder"
    again = seed()

    # then
    assert "  Library 'default:demo-documents' indexed: 12 files, " in again
    library = Library.objects.get(slug="demo-documents")
    assert library.index_model == MiniLMEmbedder.name
    # every chunk now holds the new model's vector
    chunk = Chunk.objects.filter(library=library).first()
    assert chunk is not None
    assert np.allclose(vector_array(chunk.vector), get_embedder().embed([chunk.text])[0], atol=1e-4)
