"""``search_libraries`` (§9 "Search"): ranking, limits, one file, which libraries are searched, what is refused."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import pytest

from informer.api.exceptions import DomainError
from library.embedding import HashingEmbedder
from library.models import Chunk, LibraryFile
from library.services import search as search_services
from library.services.search import SearchHit, search_libraries
from library.vectors import ExactVectorStore, vector_store
from tests.library.conftest import require_pgvector
from tests.library.factories import LibraryFactory
from tests.library.searching import HASHING, MINILM, index_texts


@pytest.fixture(autouse=True)
def _hashing(settings: Any) -> None:
    settings.INFORMER_EMBEDDER = HASHING


@pytest.fixture
def library(owner: Any) -> Any:
    return LibraryFactory(owner=owner, name="Docs", slug="docs")


def test_a_hit_says_where_it_is_and_how_near(library):
    # given
    files = index_texts(library, {"guides/report.pdf": [(3, "otters hold hands while sleeping")]})

    # when
    hits = search_libraries([library], "  otters sleeping  ")

    # then
    chunk = Chunk.objects.get(file=files["guides/report.pdf"])
    assert len(hits) == 1
    hit = hits[0]
    assert hit == SearchHit(
        library_id=library.pk,
        file_id=files["guides/report.pdf"].pk,
        filename="report.pdf",
        path="guides/report.pdf",
        page=3,
        chunk=chunk.ordinal,
        text="otters hold hands while sleeping",
        score=hit.score,
    )
    assert type(hit.score) is float
    assert 0.5 < hit.score <= 1.0 + 1e-6


def test_hits_come_best_first_up_to_the_limit(library):
    # given: chunks sharing three, two, one and none of the query's words
    index_texts(
        library,
        {
            "three.txt": ["alpha bravo charlie"],
            "two.txt": ["alpha bravo zulu"],
            "one.txt": ["alpha yankee zulu"],
            "none.txt": ["xray yankee zulu"],
        },
    )

    # when
    everything = search_libraries([library], "alpha bravo charlie", limit=100)
    top_two = search_libraries([library], "alpha bravo charlie", limit=2)

    # then
    assert [hit.path for hit in everything][:3] == ["three.txt", "two.txt", "one.txt"]
    scores = [hit.score for hit in everything]
    assert scores == sorted(scores, reverse=True)
    assert [hit.path for hit in top_two] == ["three.txt", "two.txt"]


def test_file_id_keeps_the_search_to_that_file(library):
    # given: the better match is in the other file
    files = index_texts(library, {"a.txt": ["kiwi mango"], "b.txt": ["kiwi mango papaya", "papaya"]})

    # when
    hits = search_libraries([library], "kiwi mango papaya", file_id=files["a.txt"].pk)

    # then
    assert [(hit.path, hit.chunk) for hit in hits] == [("a.txt", 0)]


@pytest.mark.parametrize("which", ["folder", "another library's file", "unknown"])
def test_file_id_must_be_a_file_of_the_libraries(library, owner, which):
    # given
    index_texts(library, {"a.txt": ["kiwi"]})
    other = LibraryFactory(owner=owner)
    other_file = index_texts(other, {"b.txt": ["kiwi"]})["b.txt"]
    folder = LibraryFile.objects.create(library=library, path="guides", filename="guides", directory=True)
    file_id = {"folder": folder.pk, "another library's file": other_file.pk, "unknown": uuid.uuid4()}[which]

    # when
    with pytest.raises(DomainError) as raised:
        search_libraries([library], "kiwi", file_id=file_id)

    # then
    assert raised.value.status_code == 400
    assert raised.value.details == {"fileId": [raised.value.message]}
    assert raised.value.message == f"fileId '{file_id}' is no file of this library."


@pytest.mark.parametrize(
    ("q", "limit", "field", "message"),
    [
        ("", 10, "q", "q is blank: give the text to search for."),
        (" \t\n ", 10, "q", "q is blank: give the text to search for."),
        ("x" * 1001, 10, "q", "q is 1001 characters long; at most 1000 are searched."),
        ("kiwi", 0, "limit", "limit 0 is out of range; it must be between 1 and 100."),
        ("kiwi", 101, "limit", "limit 101 is out of range; it must be between 1 and 100."),
        ("kiwi", -1, "limit", "limit -1 is out of range; it must be between 1 and 100."),
        ("kiwi", True, "limit", "limit True is out of range; it must be between 1 and 100."),
    ],
)
def test_bad_queries_and_limits_are_refused_naming_the_field(library, q, limit, field, message):
    with pytest.raises(DomainError) as raised:
        search_libraries([library], q, limit=limit)

    assert raised.value.status_code == 400
    assert (raised.value.message, raised.value.details) == (message, {field: [message]})


def test_the_longest_query_and_the_largest_limit_are_accepted(library):
    index_texts(library, {"a.txt": ["kiwi"]})

    hits = search_libraries([library], "kiwi " + "x" * 995, limit=100)

    assert [hit.path for hit in hits] == ["a.txt"]


def test_only_the_given_libraries_are_searched(owner):
    # given: the same text in two libraries of one owner
    mine, other = LibraryFactory(owner=owner), LibraryFactory(owner=owner)
    index_texts(mine, {"mine.txt": ["kiwi mango"]})
    index_texts(other, {"other.txt": ["kiwi mango"]})

    # when
    hits = search_libraries([mine], "kiwi mango")
    both = search_libraries(type(mine).objects.filter(pk__in=[mine.pk, other.pk]), "kiwi mango")

    # then
    assert [hit.library_id for hit in hits] == [mine.pk]
    assert {hit.library_id for hit in both} == {mine.pk, other.pk}


def test_a_library_indexed_by_another_model_is_not_searched(owner):
    # given: two libraries with the same chunk, one of them indexed (so it says) by another model
    current, stale = LibraryFactory(owner=owner), LibraryFactory(owner=owner)
    index_texts(current, {"a.txt": ["kiwi mango"]})
    index_texts(stale, {"b.txt": ["kiwi mango"]}, model="another-model-v1")

    # when
    hits = search_libraries([current, stale], "kiwi mango")
    queryset_hits = search_libraries(type(current).objects.filter(pk__in=[current.pk, stale.pk]), "kiwi mango")

    # then
    assert [hit.library_id for hit in hits] == [current.pk]
    assert [hit.library_id for hit in queryset_hits] == [current.pk]
    assert search_libraries([stale], "kiwi mango") == []


def test_a_library_not_indexed_yet_has_no_hits_and_loads_no_model(library, monkeypatch):
    # given: an embedder that would fail if asked to embed
    class Refusing(HashingEmbedder):
        def embed(self, texts: Any) -> np.ndarray:
            raise AssertionError("nothing should be embedded")

    monkeypatch.setattr(search_services, "get_embedder", Refusing)

    # then
    assert search_libraries([library], "kiwi") == []
    assert search_libraries([], "kiwi") == []


class _Store:
    """A vector store answering fixed ids, as a store could after the rows moved under it."""

    name = "fixed"

    def __init__(self, answer: list[tuple[int, float]]) -> None:
        self.answer = answer

    def add(self, chunks: Any) -> None:
        pass

    def search(self, library_ids: Any, query: Any, *, limit: int, file_id: Any = None) -> list[tuple[int, float]]:
        return self.answer


def test_ids_the_store_names_that_are_gone_or_elsewhere_are_dropped_in_order(library, owner, monkeypatch):
    # given: the store names a deleted chunk, a chunk of a library not searched, and two real ones
    files = index_texts(library, {"a.txt": ["kiwi one", "kiwi two"]})
    first, second = Chunk.objects.filter(file=files["a.txt"]).order_by("ordinal")
    outside = index_texts(LibraryFactory(owner=owner), {"x.txt": ["kiwi"]})["x.txt"]
    outside_chunk = Chunk.objects.get(file=outside)
    gone = Chunk.objects.create(library=library, file=files["a.txt"], ordinal=9, text="gone", vector=b"")
    gone_id = gone.pk
    gone.delete()
    answer = [(second.pk, 0.9), (gone_id, 0.8), (outside_chunk.pk, 0.7), (first.pk, 0.6)]
    monkeypatch.setattr(search_services, "vector_store", lambda dimensions, using="default": _Store(answer))

    # when
    hits = search_libraries([library], "kiwi")

    # then
    assert [(hit.text, hit.score) for hit in hits] == [("kiwi two", 0.9), ("kiwi one", 0.6)]


def test_on_postgresql_search_goes_through_pgvector_with_the_exact_stores_answers(library, monkeypatch):
    require_pgvector()
    # given
    index_texts(library, {f"{n}.txt": [" ".join(f"word{k}" for k in range(n, n + 5))] for n in range(20)})
    assert vector_store(384).name == "pgvector"

    # when
    by_pgvector = search_libraries([library], "word7 word8 word9", limit=5)
    monkeypatch.setattr(search_services, "vector_store", lambda dimensions, using="default": ExactVectorStore(384))
    by_exact = search_libraries([library], "word7 word8 word9", limit=5)

    # then
    assert [hit.path for hit in by_pgvector] == [hit.path for hit in by_exact]
    assert [hit.score for hit in by_pgvector] == pytest.approx([hit.score for hit in by_exact], abs=1e-5)
    assert {hit.path for hit in by_pgvector[:3]} == {"5.txt", "6.txt", "7.txt"}  # each holds all three words


def test_the_real_model_finds_a_kitten_in_a_cat_document_not_a_finance_one(settings, owner, minilm):
    # given: documents indexed with the real model; the query shares no word with either
    settings.INFORMER_EMBEDDER = MINILM
    library = LibraryFactory(owner=owner)
    index_texts(
        library,
        {
            "pets/cats.md": ["Cats purr when they are content and sleep much of the day curled on a sofa."],
            "finance/rates.md": ["Quarterly revenue grew while interest rates and bond yields rose sharply."],
        },
        embedder=minilm,
    )

    # when
    hits = search_libraries([library], "a young kitten napping")

    # then
    assert [hit.path for hit in hits] == ["pets/cats.md", "finance/rates.md"]
    assert hits[0].score > hits[1].score + 0.2
