"""The vector store (§9 "Vector store"): the nearest chunks of some libraries to a query vector.

Two stores answer the same question:

- ``pgvector`` — PostgreSQL with the ``vector`` extension: the table ``library_chunkvector`` (the
  unmanaged ``ChunkVector``) holds a ``vector(384)`` copy of each chunk's embedding with an HNSW cosine
  index. Used when the extension and the table are there and the embedder has 384 dimensions.
- ``exact`` — everywhere else (SQLite, PostgreSQL without pgvector, another embedder's dimensions): the
  float32 vectors of ``Chunk.vector`` scored with numpy, kept in a per-process cache.

Both score by cosine similarity and answer ``(chunk id, score)`` best first; the chunk rows remain the
source of truth, so whatever a store answers is joined back to them by the caller.

Choices where the spec is silent:

- Vectors are stored and compared as given by the embedder (unit rows); the query and the exact store's
  rows are normalized again anyway, so both stores compute the true cosine (pgvector's ``<=>`` does).
- A search with a ``file_id`` is exact in both stores: a file has few chunks, and an approximate index
  filtered down to one file would lose recall for nothing.
- ``ensure_pgvector`` that creates the table copies the vectors of chunks that are already there, so a
  server that gains pgvector after indexing answers from the start. Migrating back past the chunks
  drops the table (vectors without their chunks mean nothing).
- The exact store's cache is keyed by ``(database alias, library id)`` and holds the library's version,
  chunk ids, file ids and the normalized matrix; versions are read before chunks, so a concurrent
  indexing can only make an entry look older than it is (reloaded next time), never newer.
- ``INFORMER_VECTOR_CACHE_MB`` (default 512) bounds the cache; least recently used libraries leave
  first, and a single library larger than the whole bound is searched without being cached.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from django.conf import settings
from django.db import DatabaseError, connections, transaction
from django.db.models import Exists, OuterRef
from pgvector import Vector

from library.models import Chunk, ChunkVector, Library

logger = logging.getLogger(__name__)

#: The dimensions of the pgvector column (all-MiniLM-L6-v2's); other embedders search exactly.
PGVECTOR_DIMENSIONS = 384
TABLE = "library_chunkvector"
LIBRARY_INDEX = "library_chunkvector_library_idx"
HNSW_INDEX = "library_chunkvector_embedding_hnsw"
#: Candidates the HNSW search keeps (pgvector's default is 40); raised to the limit when that is larger.
EF_SEARCH = 100
#: Rows per INSERT when copying vectors into pgvector.
COPY_BATCH = 500
DEFAULT_CACHE_MB = 512

_CREATE_TABLE = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    chunk_id bigint PRIMARY KEY REFERENCES library_chunk (id) ON DELETE CASCADE,
    library_id uuid NOT NULL,
    embedding vector({PGVECTOR_DIMENSIONS}) NOT NULL
)
"""
_DELETE_ORPHANS = (
    "DELETE FROM library_chunkvector v WHERE NOT EXISTS (SELECT 1 FROM library_chunk c WHERE c.id = v.chunk_id)"
)
_ADD_CASCADE = f"ALTER TABLE {TABLE} ADD FOREIGN KEY (chunk_id) REFERENCES library_chunk (id) ON DELETE CASCADE"
_ANALYZE = "ANALYZE library_chunkvector"
_CREATE_LIBRARY_INDEX = f"CREATE INDEX IF NOT EXISTS {LIBRARY_INDEX} ON {TABLE} (library_id)"
_CREATE_HNSW_INDEX = f"CREATE INDEX IF NOT EXISTS {HNSW_INDEX} ON {TABLE} USING hnsw (embedding vector_cosine_ops)"


def vector_bytes(vector: np.ndarray) -> bytes:
    """A vector as little-endian float32 bytes (what ``Chunk.vector`` holds)."""
    return np.ascontiguousarray(vector, dtype="<f4").tobytes()


def vector_array(data: bytes | memoryview) -> np.ndarray:
    """The float32 vector of ``vector_bytes`` output (read-only; copy it to change it)."""
    return np.frombuffer(data, dtype="<f4")


def _unit(vector: np.ndarray) -> np.ndarray:
    vector = np.asarray(vector, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def _query_unit(query: np.ndarray, dimensions: int) -> np.ndarray:
    """A search's query as a unit vector; ValueError when it is not of the store's ``dimensions``."""
    unit = _unit(query)
    if unit.shape != (dimensions,):
        raise ValueError(f"The query has {unit.shape[0]} dimensions; the store has {dimensions}.")
    return unit


def _vector_text(vector: np.ndarray) -> str:
    """pgvector's text form ``[x,y,…]``: every float32 written exactly (the shortest repr of its double)."""
    return Vector(np.asarray(vector, dtype=np.float32)).to_text()


def pgvector_available(using: str = "default") -> bool:
    """Whether ``using`` is PostgreSQL with the ``vector`` extension created and ``library_chunkvector`` present."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector'), to_regclass(%s) IS NOT NULL",
            [TABLE],
        )
        extension, table = cursor.fetchone()
    return bool(extension and table)


def ensure_pgvector(using: str = "default") -> bool:
    """Create the extension (where the server has it), the vector table and its indexes; True when all are there.

    Idempotent; run after every ``migrate`` (``post_migrate``, see ``library.apps``). A server without
    pgvector, or a role that may not create it, is not an error: the answer is False, and the failed
    ``CREATE EXTENSION`` is rolled back to a savepoint, so the connection (and any transaction around
    this call) stays usable.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        return False
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('library_chunk') IS NOT NULL, to_regclass(%s) IS NOT NULL", [TABLE])
        chunks_exist, table_existed = cursor.fetchone()
        if not chunks_exist:
            # Migrated back past the chunks (or not migrated yet): no vector table without them.
            cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")
            return False
        cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector')")
        if not cursor.fetchone()[0]:
            try:
                with transaction.atomic(using=using):
                    cursor.execute("CREATE EXTENSION IF NOT EXISTS vector")
            except DatabaseError as error:
                logger.info("pgvector is not available on database %r; search is exact: %s", using, error)
                return False
        cursor.execute(_CREATE_TABLE)
        if table_existed:
            _restore_cascade(cursor)
        cursor.execute(_CREATE_LIBRARY_INDEX)
        if not table_existed:
            # Before the HNSW index: building it once over the rows is much quicker than inserting into it.
            copied = _copy_missing_vectors(using)
            if copied:
                logger.info("Copied %d existing chunk vectors into %s on %r.", copied, TABLE, using)
        cursor.execute(_CREATE_HNSW_INDEX)
    return True


def _restore_cascade(cursor: Any) -> None:
    """Put back the table's foreign key to the chunks if it is gone.

    Migrating back past ``library_chunk`` drops that table with CASCADE, which drops the foreign key and
    leaves this table; migrating forward again makes the chunks anew. Without the key, deleted chunks would
    leave their vectors behind, so vectors of chunks that no longer exist go and the key is made again.
    """
    cursor.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f')", [TABLE]
    )
    if cursor.fetchone()[0]:
        return
    cursor.execute(_DELETE_ORPHANS)
    cursor.execute(_ADD_CASCADE)


def _copy_missing_vectors(using: str) -> int:
    """Copy into pgvector the 384-dimension vectors of chunks that have no copy yet; how many were copied."""
    missing = (
        Chunk.objects.using(using)
        .filter(~Exists(ChunkVector.objects.filter(chunk_id=OuterRef("pk"))))
        .order_by()
        .values_list("id", "library_id", "vector")
    )
    rows = ((chunk_id, library_id, vector_array(vector)) for chunk_id, library_id, vector in missing.iterator(2000))
    return _insert_vectors(using, rows)


def _insert_vectors(using: str, rows: Iterable[tuple[int, uuid.UUID, np.ndarray]]) -> int:
    """Upsert ``(chunk id, library id, vector)`` rows into the pgvector table; vectors of other sizes are left out."""
    count = 0
    batch: list[ChunkVector] = []

    def flush() -> None:
        ChunkVector.objects.using(using).bulk_create(
            batch, update_conflicts=True, unique_fields=["chunk"], update_fields=["library_id", "embedding"]
        )
        batch.clear()

    for chunk_id, library_id, vector in rows:
        if vector.shape != (PGVECTOR_DIMENSIONS,):
            continue
        # VectorField sends pgvector's text form (each float32 exactly): no adapter on the connection needed.
        batch.append(ChunkVector(chunk_id=chunk_id, library_id=library_id, embedding=vector))
        count += 1
        if len(batch) >= COPY_BATCH:
            flush()
    if batch:
        flush()
    return count


class VectorStore(Protocol):
    """Where chunk vectors are searched: ``add`` after chunks are saved, ``search`` for the nearest."""

    name: str

    def add(self, chunks: Sequence[Chunk]) -> None:
        """Take note of saved chunks (with their ``vector``); called inside the indexer's transaction."""
        ...

    def search(
        self, library_ids: Sequence[uuid.UUID], query: np.ndarray, *, limit: int, file_id: uuid.UUID | None = None
    ) -> list[tuple[int, float]]:
        """``(chunk id, cosine similarity)`` of the ``limit`` nearest chunks of those libraries, best first."""
        ...


@dataclass(frozen=True)
class _LibraryVectors:
    """One library's chunks as arrays: ids (int64), each one's file as a number (int32, see ``file_numbers``)
    and the unit rows (float32)."""

    version: int
    ids: np.ndarray
    files: np.ndarray
    file_numbers: dict[uuid.UUID, int]
    matrix: np.ndarray

    @property
    def nbytes(self) -> int:
        # The dict of file numbers is left out: small beside the matrix (one entry per file, 384 floats a chunk).
        return int(self.ids.nbytes + self.files.nbytes + self.matrix.nbytes)


class _VectorCache:
    """Per-process, least-recently-used, bounded in bytes; one entry per (database alias, library id)."""

    def __init__(self) -> None:
        self._entries: OrderedDict[tuple[str, uuid.UUID], _LibraryVectors] = OrderedDict()
        self._lock = threading.Lock()
        self.loads = 0  # how many times a library was read from the database (tests watch it)

    @staticmethod
    def limit_bytes() -> int:
        return int(getattr(settings, "INFORMER_VECTOR_CACHE_MB", DEFAULT_CACHE_MB)) * 1024 * 1024

    def get(self, key: tuple[str, uuid.UUID], version: int) -> _LibraryVectors | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.version != version:
                return None
            self._entries.move_to_end(key)
            return entry

    def put(self, key: tuple[str, uuid.UUID], entry: _LibraryVectors) -> None:
        limit = self.limit_bytes()
        with self._lock:
            self._entries.pop(key, None)
            if entry.nbytes > limit:
                return
            self._entries[key] = entry
            total = sum(item.nbytes for item in self._entries.values())
            while total > limit:
                _, evicted = self._entries.popitem(last=False)
                total -= evicted.nbytes

    def discard(self, key: tuple[str, uuid.UUID]) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def keys(self) -> list[tuple[str, uuid.UUID]]:
        with self._lock:
            return list(self._entries)


_cache = _VectorCache()


class ExactVectorStore:
    """numpy over the float32 vectors of the searched libraries only, cached per library by its index_version."""

    name = "exact"

    def __init__(self, dimensions: int, using: str = "default") -> None:
        self.dimensions = dimensions
        self.using = using

    def add(self, chunks: Sequence[Chunk]) -> None:
        """Nothing to do: the chunk rows are the store, and the version bump makes caches reload."""

    def search(
        self, library_ids: Sequence[uuid.UUID], query: np.ndarray, *, limit: int, file_id: uuid.UUID | None = None
    ) -> list[tuple[int, float]]:
        """The exact ``limit`` nearest chunks by cosine similarity; ties go to the lower chunk id."""
        if limit <= 0 or not library_ids:
            return []
        unit = _query_unit(query, self.dimensions)
        # One query for the versions; a library that is gone is dropped from the cache.
        versions = dict(
            Library.objects.using(self.using).filter(id__in=list(library_ids)).values_list("id", "index_version")
        )
        for library_id in set(library_ids) - set(versions):
            _cache.discard((self.using, library_id))
        ids: list[np.ndarray] = []
        scores: list[np.ndarray] = []
        for library_id, version in versions.items():
            vectors = self._vectors(library_id, version)
            if not len(vectors.ids):
                continue
            candidate_ids, matrix = vectors.ids, vectors.matrix
            if file_id is not None:
                mask = vectors.files == vectors.file_numbers.get(file_id, -1)
                candidate_ids, matrix = candidate_ids[mask], matrix[mask]
            if not len(candidate_ids):
                continue
            library_scores = matrix @ unit
            if len(library_scores) > limit:
                keep = np.argpartition(-library_scores, limit - 1)[:limit]
                candidate_ids, library_scores = candidate_ids[keep], library_scores[keep]
            ids.append(candidate_ids)
            scores.append(library_scores)
        if not ids:
            return []
        all_ids, all_scores = np.concatenate(ids), np.concatenate(scores)
        order = np.lexsort((all_ids, -all_scores))[:limit]
        return [(int(all_ids[i]), float(all_scores[i])) for i in order]

    def _vectors(self, library_id: uuid.UUID, version: int) -> _LibraryVectors:
        key = (self.using, library_id)
        cached = _cache.get(key, version)
        if cached is not None:
            return cached
        entry = self._load(library_id, version)
        _cache.put(key, entry)
        return entry

    def _load(self, library_id: uuid.UUID, version: int) -> _LibraryVectors:
        _cache.loads += 1
        size = self.dimensions * 4
        ids: list[int] = []
        files: list[int] = []
        file_numbers: dict[uuid.UUID, int] = {}
        data: list[bytes | memoryview] = []
        rows = (
            Chunk.objects.using(self.using)
            .filter(library_id=library_id)
            .order_by()
            .values_list("id", "file_id", "vector")
            .iterator(2000)
        )
        for chunk_id, chunk_file_id, vector in rows:
            if len(vector) != size:  # another embedder's vector: not comparable with this query
                continue
            ids.append(chunk_id)
            files.append(file_numbers.setdefault(chunk_file_id, len(file_numbers)))
            data.append(vector)
        matrix = np.frombuffer(b"".join(data), dtype="<f4").reshape(len(ids), self.dimensions).astype(np.float32)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        matrix /= np.maximum(norms, 1e-12)
        return _LibraryVectors(
            version=version,
            ids=np.array(ids, dtype=np.int64),
            files=np.array(files, dtype=np.int32),
            file_numbers=file_numbers,
            matrix=matrix,
        )


class PgvectorStore:
    """pgvector's HNSW cosine index, filtered by library with iterative scans (pgvector 0.8)."""

    name = "pgvector"

    def __init__(self, using: str = "default") -> None:
        self.using = using

    def add(self, chunks: Sequence[Chunk]) -> None:
        """Copy the saved chunks' vectors into ``library_chunkvector`` (an existing copy is replaced)."""
        _insert_vectors(self.using, ((chunk.pk, chunk.library_id, vector_array(chunk.vector)) for chunk in chunks))

    def search(
        self, library_ids: Sequence[uuid.UUID], query: np.ndarray, *, limit: int, file_id: uuid.UUID | None = None
    ) -> list[tuple[int, float]]:
        """The ``limit`` nearest chunks by the HNSW index (exactly, within one file), re-sorted best first."""
        if limit <= 0 or not library_ids:
            return []
        unit = _query_unit(query, PGVECTOR_DIMENSIONS)
        text = _vector_text(unit)
        libraries = [str(library_id) for library_id in library_ids]
        sql, params = search_sql(file_id is not None)
        values = {"query": text, "libraries": libraries, "file": str(file_id) if file_id else None, "limit": limit}
        with transaction.atomic(using=self.using), connections[self.using].cursor() as cursor:
            # SET LOCAL (through set_config, which takes parameters), both in one round trip: they last to the
            # end of this transaction. Filtered by library, the index is scanned on until `limit` rows pass
            # the filter; in relaxed order, which is why the rows are sorted again below.
            cursor.execute(
                "SELECT set_config('hnsw.ef_search', %s, true),"
                " set_config('hnsw.iterative_scan', 'relaxed_order', true)",
                [str(max(EF_SEARCH, limit))],
            )
            cursor.execute(sql, [values[name] for name in params])
            rows = cursor.fetchall()
        hits = [(int(chunk_id), 1.0 - float(distance)) for chunk_id, distance in rows]
        hits.sort(key=lambda hit: (-hit[1], hit[0]))
        return hits


def search_sql(by_file: bool) -> tuple[str, list[str]]:
    """The pgvector search statement and the names of its parameters, in order (tests EXPLAIN it).

    Without a file: ``ORDER BY embedding <=> query LIMIT`` over the libraries, which the HNSW index
    answers. With one: the file's vectors in a materialized CTE, which no index can order, so the few
    rows of one file are scored exactly.
    """
    if not by_file:
        sql = (
            "SELECT chunk_id, embedding <=> %s::vector AS distance FROM library_chunkvector "
            "WHERE library_id = ANY(%s::uuid[]) ORDER BY distance LIMIT %s"
        )
        return sql, ["query", "libraries", "limit"]
    sql = (
        "WITH candidates AS MATERIALIZED (SELECT v.chunk_id, v.embedding <=> %s::vector AS distance "
        "FROM library_chunkvector v JOIN library_chunk c ON c.id = v.chunk_id "
        "WHERE c.file_id = %s::uuid AND v.library_id = ANY(%s::uuid[])) "
        "SELECT chunk_id, distance FROM candidates ORDER BY distance LIMIT %s"
    )
    return sql, ["query", "file", "libraries", "limit"]


def vector_store(dimensions: int, using: str = "default") -> VectorStore:
    """pgvector when it is available on ``using`` and ``dimensions`` is its column's, else the exact store."""
    if dimensions == PGVECTOR_DIMENSIONS and pgvector_available(using):
        return PgvectorStore(using)
    return ExactVectorStore(dimensions, using)


def rebuild_vector_index(using: str = "default") -> None:
    """Drop and create the HNSW index (after a bulk load, quicker than inserting into it); no-op without pgvector."""
    if not pgvector_available(using):
        return
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        cursor.execute(f"DROP INDEX IF EXISTS {HNSW_INDEX}")
        cursor.execute(_CREATE_HNSW_INDEX)
    refresh_vector_statistics(using)


def refresh_vector_statistics(using: str = "default") -> None:
    """``ANALYZE`` the vector table (no-op without pgvector), after a bulk load or a large indexing.

    Without statistics the planner takes a loaded table for a small one: it filters by library through the
    btree and scores every row, which is exact but, at 100k chunks, about 15 times slower than the HNSW
    index it picks once the table is analyzed (docs/benchmarks.md, "Search").
    """
    if not pgvector_available(using):
        return
    with connections[using].cursor() as cursor:
        cursor.execute(_ANALYZE)
