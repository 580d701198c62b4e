"""The vector stores (library.vectors): the same searches against the exact store and, on PostgreSQL, pgvector.

On SQLite only the exact store exists. On PostgreSQL both are run; the pgvector store skips with one
line when the server lacks the extension, except under ``CI=true``, where that fails the test.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection
from django.db.models import F

from library.models import Chunk, Library, LibraryFile
from library.vectors import (
    HNSW_INDEX,
    LIBRARY_INDEX,
    ExactVectorStore,
    PgvectorStore,
    VectorStore,
    _cache,
    ensure_pgvector,
    pgvector_available,
    rebuild_vector_index,
    search_sql,
    vector_array,
    vector_bytes,
    vector_store,
)
from tests.library.conftest import require_pgvector
from tests.library.factories import ChunkFactory, LibraryFactory, LibraryFileFactory

DIMENSIONS = 384
POSTGRESQL = django_settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
STORES = ["exact", "pgvector"] if POSTGRESQL else ["exact"]
postgresql_only = pytest.mark.skipif(not POSTGRESQL, reason="pgvector is PostgreSQL only")


def unit(vector: np.ndarray) -> np.ndarray:
    vector = np.asarray(vector, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def random_units(count: int, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((count, DIMENSIONS)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def near(query: np.ndarray, closeness: float, seed: int) -> np.ndarray:
    """A unit vector whose cosine with the unit ``query`` is about ``closeness``."""
    noise = unit(np.random.default_rng(seed).standard_normal(DIMENSIONS))
    noise = unit(noise - float(noise @ query) * query)  # orthogonal to the query
    return unit(closeness * query + np.sqrt(1 - closeness**2) * noise)


def add_chunks(store: VectorStore, file: LibraryFile, vectors: Sequence[np.ndarray] | np.ndarray) -> list[Chunk]:
    """Chunks of ``file`` with these vectors, saved and given to the store as the indexer does (version bumped)."""
    start = Chunk.objects.filter(file=file).count()
    chunks = Chunk.objects.bulk_create(
        [
            Chunk(library=file.library, file=file, ordinal=start + i, text=f"chunk {i}", vector=vector_bytes(vector))
            for i, vector in enumerate(vectors)
        ]
    )
    store.add(chunks)
    Library.objects.filter(pk=file.library_id).update(index_version=F("index_version") + 1)
    return chunks


def a_file(**fields: Any) -> LibraryFile:
    """A file row (its library made too unless given)."""
    file = LibraryFileFactory(**fields)
    assert isinstance(file, LibraryFile)
    return file


def approximately(hits: Sequence[tuple[int, float]], tolerance: float = 1e-5) -> Any:
    """``hits`` as a value that equals any list of the same chunk ids with scores within ``tolerance``."""
    return [(chunk_id, pytest.approx(score, abs=tolerance)) for chunk_id, score in hits]


def make_store(name: str) -> VectorStore:
    if name == "pgvector":
        require_pgvector()
        return PgvectorStore()
    return ExactVectorStore(DIMENSIONS)


def brute_force(vectors: dict[int, np.ndarray], query: np.ndarray, limit: int) -> list[tuple[int, float]]:
    """The expected answer: every cosine computed, best first, ties to the lower id."""
    scored = [(chunk_id, float(unit(vector) @ unit(query))) for chunk_id, vector in vectors.items()]
    return sorted(scored, key=lambda hit: (-hit[1], hit[0]))[:limit]


def vector_rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM library_chunkvector")
        return int(cursor.fetchone()[0])


def test_vector_bytes_are_little_endian_float32_and_round_trip() -> None:
    vector = np.array([1.0, -0.5, 0.25], dtype=np.float64)

    data = vector_bytes(vector)

    assert data == np.array([1.0, -0.5, 0.25], dtype="<f4").tobytes()
    assert len(data) == 12
    assert vector_array(data).dtype == np.dtype("<f4")
    assert vector_array(memoryview(data)).tolist() == [1.0, -0.5, 0.25]


@pytest.mark.django_db
@pytest.mark.parametrize("store_name", STORES)
def test_search_returns_only_the_given_libraries(store_name: str) -> None:
    # given: the other library holds the query itself and vectors nearer than any of ours
    store = make_store(store_name)
    query = unit(np.arange(1, DIMENSIONS + 1, dtype=np.float32))
    ours = a_file()
    theirs = a_file(library=LibraryFactory(owner=ours.library.owner))
    our_chunks = add_chunks(store, ours, [near(query, 0.5, seed) for seed in range(5)])
    their_chunks = add_chunks(store, theirs, [query, *[near(query, 0.9, seed) for seed in range(10, 15)]])

    # when
    hits = store.search([ours.library_id], query, limit=10)
    both = store.search([ours.library_id, theirs.library_id], query, limit=3)

    # then
    assert {chunk_id for chunk_id, _ in hits} == {chunk.pk for chunk in our_chunks}
    assert both[:1] == approximately([(their_chunks[0].pk, 1.0)])
    assert {chunk_id for chunk_id, _ in both} <= {chunk.pk for chunk in their_chunks}
    assert store.search([uuid.uuid4()], query, limit=10) == []
    assert store.search([], query, limit=10) == []


@pytest.mark.django_db
@pytest.mark.parametrize("store_name", STORES)
def test_search_by_file_returns_that_files_chunks_only(store_name: str) -> None:
    # given: two files of one library; the other file's chunks are nearer
    store = make_store(store_name)
    query = unit(np.ones(DIMENSIONS))
    wanted = a_file()
    other = a_file(library=wanted.library)
    wanted_chunks = add_chunks(store, wanted, [near(query, 0.3, seed) for seed in range(4)])
    add_chunks(store, other, [near(query, 0.95, seed) for seed in range(20, 30)])

    # when
    hits = store.search([wanted.library_id], query, limit=3, file_id=wanted.pk)

    # then
    assert len(hits) == 3
    assert {chunk_id for chunk_id, _ in hits} < {chunk.pk for chunk in wanted_chunks}
    assert store.search([wanted.library_id], query, limit=3, file_id=uuid.uuid4()) == []
    # a file of a library not searched gives nothing either
    assert store.search([uuid.uuid4()], query, limit=3, file_id=wanted.pk) == []


@pytest.mark.django_db
@pytest.mark.parametrize("store_name", STORES)
def test_search_is_best_first_within_the_limit_with_exact_cosines(store_name: str) -> None:
    # given
    store = make_store(store_name)
    query = unit(np.random.default_rng(7).standard_normal(DIMENSIONS))
    file = a_file()
    vectors = [near(query, closeness, seed) for seed, closeness in enumerate(np.linspace(0.05, 0.95, 30))]
    chunks = add_chunks(store, file, vectors)

    # when
    hits = store.search([file.library_id], query * 3.0, limit=7)  # the query's length does not matter

    # then
    expected = brute_force({chunk.pk: vector for chunk, vector in zip(chunks, vectors, strict=True)}, query, 7)
    assert [chunk_id for chunk_id, _ in hits] == [chunk_id for chunk_id, _ in expected]
    assert [score for _, score in hits] == pytest.approx([score for _, score in expected], abs=1e-4)
    assert [score for _, score in hits] == sorted((score for _, score in hits), reverse=True)
    assert len(store.search([file.library_id], query, limit=100)) == 30
    assert store.search([file.library_id], query, limit=0) == []


@pytest.mark.django_db
@postgresql_only
def test_both_stores_give_the_same_answers() -> None:
    # given: three libraries, the vectors copied into pgvector
    pgvector = make_store("pgvector")
    exact = make_store("exact")
    files = [a_file() for _ in range(3)]
    for index, file in enumerate(files):
        add_chunks(pgvector, file, random_units(60, seed=100 + index))
    queries = random_units(5, seed=200)
    library_ids = [file.library_id for file in files]

    for query in queries:
        # when
        approximate = pgvector.search(library_ids, query, limit=10)
        exactly = exact.search(library_ids, query, limit=10)
        by_file_approximate = pgvector.search(library_ids, query, limit=5, file_id=files[1].pk)
        by_file_exactly = exact.search(library_ids, query, limit=5, file_id=files[1].pk)

        # then
        assert [chunk_id for chunk_id, _ in approximate] == [chunk_id for chunk_id, _ in exactly]
        assert [score for _, score in approximate] == pytest.approx([score for _, score in exactly], abs=1e-4)
        assert by_file_approximate == approximately(by_file_exactly, 1e-4)


@pytest.mark.django_db
def test_exact_cache_is_kept_until_the_index_version_moves() -> None:
    # given: a library searched once (loaded into the cache)
    store = ExactVectorStore(DIMENSIONS)
    query = unit(np.ones(DIMENSIONS))
    file = a_file()
    add_chunks(store, file, [near(query, 0.2, 1)])
    first = store.search([file.library_id], query, limit=5)
    loads = _cache.loads

    # when: a chunk appears without the version moving, then the version moves
    newer = ChunkFactory(file=file, ordinal=100, vector=vector_bytes(query))
    assert isinstance(newer, Chunk)
    cached = store.search([file.library_id], query, limit=5)
    loads_when_cached = _cache.loads
    Library.objects.filter(pk=file.library_id).update(index_version=F("index_version") + 1)
    reloaded = store.search([file.library_id], query, limit=5)

    # then
    assert cached == first
    assert loads_when_cached == loads
    assert reloaded[:1] == approximately([(newer.pk, 1.0)])
    assert len(reloaded) == 2
    assert _cache.loads == loads + 1


@pytest.mark.django_db
def test_exact_cache_is_bounded_least_recently_used_out(settings: Any) -> None:
    # given: room for about one library of 400 chunks (400 chunks of 1,548 bytes, about 0.6 MiB; the bound 1 MiB)
    settings.INFORMER_VECTOR_CACHE_MB = 1
    _cache.clear()
    store = ExactVectorStore(DIMENSIONS)
    query = unit(np.ones(DIMENSIONS))
    first, second = a_file(), a_file()
    add_chunks(store, first, random_units(400, seed=1))
    add_chunks(store, second, random_units(400, seed=2))

    # when
    store.search([first.library_id], query, limit=1)
    store.search([second.library_id], query, limit=1)
    loads = _cache.loads
    again = store.search([first.library_id], query, limit=1)

    # then: the first was put out by the second, so it was read again; the second went in its turn
    assert len(again) == 1
    assert _cache.loads == loads + 1
    assert _cache.keys() == [("default", first.library_id)]


@pytest.mark.django_db
def test_exact_store_searches_a_library_bigger_than_the_cache_without_keeping_it(settings: Any) -> None:
    settings.INFORMER_VECTOR_CACHE_MB = 0
    _cache.clear()
    store = ExactVectorStore(DIMENSIONS)
    file = a_file()
    chunks = add_chunks(store, file, random_units(3, seed=3))

    hits = store.search([file.library_id], vector_array(chunks[1].vector), limit=1)

    assert hits == approximately([(chunks[1].pk, 1.0)])
    assert _cache.keys() == []


@pytest.mark.django_db
def test_vector_store_is_exact_without_pgvector_or_for_other_dimensions() -> None:
    assert vector_store(512).name == "exact"
    if not POSTGRESQL:
        assert vector_store(DIMENSIONS).name == "exact"
        assert pgvector_available() is False
        assert ensure_pgvector() is False


@pytest.mark.django_db
@postgresql_only
def test_vector_store_is_pgvector_where_the_extension_is() -> None:
    require_pgvector()

    assert vector_store(DIMENSIONS).name == "pgvector"


@pytest.mark.django_db
@postgresql_only
def test_deleting_a_file_or_a_library_deletes_their_vectors() -> None:
    # given
    store = make_store("pgvector")
    kept, deleted_file = a_file(), a_file()
    deleted_library = a_file()
    kept_chunks = add_chunks(store, kept, random_units(3, seed=1))
    add_chunks(store, deleted_file, random_units(4, seed=2))
    add_chunks(store, deleted_library, random_units(5, seed=3))
    assert vector_rows() == 12

    # when
    deleted_file.delete()
    after_file = vector_rows()
    deleted_library.library.delete()

    # then
    assert after_file == 8
    with connection.cursor() as cursor:
        cursor.execute("SELECT chunk_id FROM library_chunkvector ORDER BY chunk_id")
        assert [row[0] for row in cursor.fetchall()] == sorted(chunk.pk for chunk in kept_chunks)


@pytest.mark.django_db
@postgresql_only
def test_ensure_pgvector_is_idempotent() -> None:
    require_pgvector()

    first, second = ensure_pgvector(), ensure_pgvector()

    assert first is second is True
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'library_chunkvector' ORDER BY indexname"
        )
        indexes = dict(cursor.fetchall())
        cursor.execute(
            "SELECT confdeltype FROM pg_constraint WHERE conrelid = 'library_chunkvector'::regclass AND contype = 'f'"
        )
        assert [row[0] for row in cursor.fetchall()] == ["c"]  # ON DELETE CASCADE, once
    assert set(indexes) == {"library_chunkvector_pkey", LIBRARY_INDEX, HNSW_INDEX}
    assert "USING hnsw (embedding vector_cosine_ops)" in indexes[HNSW_INDEX]


@pytest.mark.django_db
@postgresql_only
def test_ensure_pgvector_copies_the_vectors_of_existing_chunks_when_it_creates_the_table() -> None:
    # given: chunks indexed while the server had no vector table
    require_pgvector()
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE library_chunkvector")
    file = a_file()
    chunks = add_chunks(ExactVectorStore(DIMENSIONS), file, random_units(3, seed=5))
    ChunkFactory(file=file, ordinal=100, vector=vector_bytes(np.ones(8)))  # another embedder's size: not copied

    # when
    created = ensure_pgvector()

    # then
    assert created is True
    assert vector_rows() == 3
    hits = PgvectorStore().search([file.library_id], vector_array(chunks[2].vector), limit=1)
    assert hits == approximately([(chunks[2].pk, 1.0)])


@pytest.mark.django_db
@postgresql_only
def test_ensure_pgvector_without_the_right_to_create_the_extension_is_false_and_harmless() -> None:
    # given: no extension in this database, and a role that may not create it (all rolled back after the test)
    require_pgvector()
    role = f"vectors_{uuid.uuid4().hex[:12]}"
    with connection.cursor() as cursor:
        cursor.execute("DROP EXTENSION vector CASCADE")
        cursor.execute(f"CREATE ROLE {role} NOSUPERUSER")
        cursor.execute(f"GRANT ALL ON SCHEMA public TO {role}")
        cursor.execute(f"SET LOCAL ROLE {role}")

    # when
    created = ensure_pgvector()

    # then: False, and the transaction goes on
    assert created is False
    assert pgvector_available() is False
    assert vector_store(DIMENSIONS).name == "exact"
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
        cursor.execute("RESET ROLE")


@pytest.mark.django_db
@postgresql_only
def test_hnsw_recall_against_exact_is_at_least_095() -> None:
    # given: 2,000 random unit vectors in one library (random, so no structure helps the graph), bulk
    # loaded as a large indexing would be: without the index, then the index built once
    pgvector = make_store("pgvector")
    exact = make_store("exact")
    file = a_file()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX {HNSW_INDEX}")
    add_chunks(pgvector, file, random_units(2000, seed=11))
    rebuild_vector_index()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE library_chunkvector")
        # the statement the store runs goes through the HNSW index, not a scan of every row
        sql, params = search_sql(False)
        values: dict[str, Any] = {
            "query": "[" + ",".join(["0.1"] * DIMENSIONS) + "]",
            "libraries": [str(file.library_id)],
            "limit": 10,
        }
        cursor.execute("EXPLAIN " + sql, [values[name] for name in params])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert HNSW_INDEX in plan
    queries = random_units(50, seed=12)

    # when
    found = expected = 0
    for query in queries:
        approximate = {chunk_id for chunk_id, _ in pgvector.search([file.library_id], query, limit=10)}
        exactly = {chunk_id for chunk_id, _ in exact.search([file.library_id], query, limit=10)}
        found += len(approximate & exactly)
        expected += len(exactly)

    # then
    assert expected == 500
    assert found / expected >= 0.95, f"recall {found / expected:.3f}"


@pytest.mark.django_db
@postgresql_only
def test_rebuild_vector_index_keeps_the_index_and_the_answers() -> None:
    store = make_store("pgvector")
    file = a_file()
    chunks = add_chunks(store, file, random_units(50, seed=9))

    rebuild_vector_index()

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [HNSW_INDEX])
        assert "hnsw" in cursor.fetchone()[0]
    assert store.search([file.library_id], vector_array(chunks[7].vector), limit=1)[0][0] == chunks[7].pk


@pytest.mark.django_db(transaction=True)
@postgresql_only
def test_flush_empties_the_vector_table_too() -> None:
    # given: a chunk and its vector, committed
    store = make_store("pgvector")
    add_chunks(store, a_file(), random_units(2, seed=4))
    assert vector_rows() == 2

    # when: Django's flush, which cannot name the unmanaged table
    call_command("flush", interactive=False, verbosity=0)

    # then
    assert Chunk.objects.count() == 0
    assert vector_rows() == 0
    assert pgvector_available() is True  # post_migrate after the flush: still there


@pytest.mark.django_db(transaction=True)
@postgresql_only
def test_ensure_pgvector_puts_back_a_foreign_key_that_migrating_back_dropped() -> None:
    # given: the key gone (as DROP TABLE library_chunk CASCADE leaves it) and a vector whose chunk is gone
    store = make_store("pgvector")
    chunks = add_chunks(store, a_file(), random_units(2, seed=5))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'library_chunkvector'::regclass AND contype = 'f'"
        )
        (name,) = cursor.fetchone()
        cursor.execute(f'ALTER TABLE library_chunkvector DROP CONSTRAINT "{name}"')
    Chunk.objects.filter(pk=chunks[0].pk).delete()
    assert vector_rows() == 2  # nothing removed the orphan

    # when
    assert ensure_pgvector() is True

    # then: the orphan is gone and deleting a chunk takes its vector with it again
    assert vector_rows() == 1
    Chunk.objects.filter(pk=chunks[1].pk).delete()
    assert vector_rows() == 0


@pytest.mark.django_db(transaction=True)
@postgresql_only
def test_a_rebuilt_index_leaves_the_table_analyzed_so_the_planner_picks_hnsw() -> None:
    # given: vectors loaded in bulk (no statistics yet)
    store = make_store("pgvector")
    add_chunks(store, a_file(), random_units(50, seed=6))

    # when
    rebuild_vector_index()

    # then
    with connection.cursor() as cursor:
        # column statistics exist only once ANALYZE ran (CREATE INDEX alone counts the rows, nothing more)
        cursor.execute("SELECT count(*) FROM pg_stats WHERE tablename = 'library_chunkvector'")
        assert cursor.fetchone()[0] > 0
