"""What the search tests share: chunks written straight into a library (no extraction, no indexer), the real model.

``index_texts`` stores each text as one chunk with the vector the given embedder makes of it, copies the
vectors into the pgvector table where that store is in use, and marks the library indexed with that
embedder's name (or ``model``), bumping ``index_version`` as the indexer does so the exact store's cache
reloads it. The real model is the ``minilm`` fixture of ``tests/library/conftest.py``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from django.db.models import F

from library.embedding import Embedder, HashingEmbedder
from library.models import Chunk, IndexStatus, Library, LibraryFile
from library.vectors import vector_bytes, vector_store

HASHING = "library.embedding.HashingEmbedder"
MINILM = "library.embedding.MiniLMEmbedder"

# A file's chunks: texts, or (page, text) pairs for a paged (PDF) file.
Texts = Sequence[str | tuple[int | None, str]]


def index_texts(
    library: Library,
    files: dict[str, Texts],
    *,
    embedder: Embedder | None = None,
    model: str | None = None,
) -> dict[str, LibraryFile]:
    """Files at ``files``' paths holding those chunks, embedded by ``embedder`` (the hashing one by default)."""
    embedder = embedder or HashingEmbedder()
    made: dict[str, LibraryFile] = {}
    for path, texts in files.items():
        pairs = [item if isinstance(item, tuple) else (None, item) for item in texts]
        file = LibraryFile.objects.create(
            library=library,
            path=path,
            filename=path.rpartition("/")[2],
            content_type="text/plain",
            size=sum(len(text) for _, text in pairs),
            sha256=hashlib.sha256(path.encode()).hexdigest(),
            index_status=IndexStatus.INDEXED,
            chunks=len(pairs),
        )
        vectors = embedder.embed([text for _, text in pairs])
        chunks = [
            Chunk.objects.create(
                library=library,
                file=file,
                ordinal=ordinal,
                page=page,
                end=len(text),
                text=text,
                vector=vector_bytes(vector),
            )
            for ordinal, ((page, text), vector) in enumerate(zip(pairs, vectors, strict=True))
        ]
        vector_store(embedder.dimensions).add(chunks)
        made[path] = file
    Library.objects.filter(pk=library.pk).update(
        index_model=model or embedder.name, index_version=F("index_version") + 1
    )
    library.refresh_from_db()
    return made


def result_paths(body: dict[str, Any]) -> list[str]:
    """The paths of a search answer's results, in order."""
    return [item["path"] for item in body["_embedded"]["inf:search-result"]]


def result_libraries(body: dict[str, Any]) -> set[str]:
    """The library ids a search answer's results come from."""
    return {item["libraryId"] for item in body["_embedded"]["inf:search-result"]}
