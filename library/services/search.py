"""Search by meaning (§9 "Search"): a query embedded, the nearest chunks of the given libraries, best first.

Only libraries indexed with the configured embedder (``Library.index_model == embedder.name``) are
searched: another model's vectors live in another space, and comparing them with this query would rank
by chance. A library not indexed yet, or indexed by another model, contributes nothing (it is not an
error: ``/api/search`` covers every readable library, indexed or not). The libraries passed in are the
whole of what may be searched, so the caller's rights are decided before this module is reached; the
chunk rows are joined back filtered by those libraries again, so nothing outside them can be returned
whatever the vector store answers.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import QuerySet

from informer.api.exceptions import DomainError
from library.embedding import get_embedder
from library.models import Chunk, Library, LibraryFile
from library.vectors import vector_store

DEFAULT_LIMIT = 10
MAX_LIMIT = 100
MAX_QUERY_CHARS = 1000


@dataclass(frozen=True)
class SearchHit:
    """One chunk found: where it is (library, file, page, ordinal), its text and its cosine similarity."""

    library_id: uuid.UUID
    file_id: uuid.UUID
    filename: str
    path: str
    page: int | None
    chunk: int
    text: str
    score: float


def search_query_clean(q: str | None) -> str:
    """``q`` without surrounding whitespace; blank, absent or over ``MAX_QUERY_CHARS`` is a 400 naming ``q``.

    The length is counted after stripping, in characters (not tokens): the model truncates what is past its
    own limit, and 1,000 characters is well beyond a question anyone types.
    """
    text = (q or "").strip()
    if not text:
        raise DomainError("q is blank: give the text to search for.", field="q")
    if len(text) > MAX_QUERY_CHARS:
        raise DomainError(f"q is {len(text)} characters long; at most {MAX_QUERY_CHARS} are searched.", field="q")
    return text


def search_limit_check(limit: int) -> int:
    """``limit`` itself when it is 1..``MAX_LIMIT``, else a 400 naming ``limit``."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise DomainError(f"limit {limit} is out of range; it must be between 1 and {MAX_LIMIT}.", field="limit")
    return limit


def _searchable_ids(libraries: Sequence[Library] | QuerySet[Library], model: str) -> list[uuid.UUID]:
    """The ids of those of ``libraries`` indexed with ``model`` (a queryset is filtered in the database)."""
    if isinstance(libraries, QuerySet):
        return list(libraries.filter(index_model=model).values_list("pk", flat=True))
    return [library.pk for library in libraries if library.index_model == model]


def search_libraries(
    libraries: Sequence[Library] | QuerySet[Library],
    q: str,
    *,
    limit: int = DEFAULT_LIMIT,
    file_id: uuid.UUID | None = None,
) -> list[SearchHit]:
    """The ``limit`` chunks of ``libraries`` nearest to ``q`` (within ``file_id`` if given), best first.

    ``file_id`` must be a file (not a folder) of one of ``libraries``, else a 400 naming ``fileId``. A chunk
    the store still names but that is gone from the database (its file re-indexed or deleted meanwhile)
    is dropped, so a page may hold fewer than ``limit`` hits. Nothing is embedded when no library is
    searchable (no model is loaded for an answer known to be empty).
    """
    text = search_query_clean(q)
    search_limit_check(limit)
    if file_id is not None:
        if isinstance(libraries, QuerySet):
            owners = list(libraries.values_list("pk", flat=True))
        else:
            owners = [library.pk for library in libraries]
        if not LibraryFile.objects.filter(pk=file_id, library_id__in=owners, directory=False).exists():
            raise DomainError(f"fileId '{file_id}' is no file of this library.", field="fileId")
    embedder = get_embedder()
    library_ids = _searchable_ids(libraries, embedder.name)
    if not library_ids:
        return []
    query = embedder.embed([text])[0]
    ranked = vector_store(embedder.dimensions).search(library_ids, query, limit=limit, file_id=file_id)
    if not ranked:
        return []
    rows = Chunk.objects.filter(pk__in=[chunk_id for chunk_id, _ in ranked], library_id__in=library_ids)
    if file_id is not None:
        rows = rows.filter(file_id=file_id)
    found = {
        row[0]: row[1:]
        for row in rows.values_list(
            "pk", "library_id", "file_id", "file__filename", "file__path", "page", "ordinal", "text"
        )
    }
    hits = []
    for chunk_id, score in ranked:
        row = found.get(chunk_id)
        if row is None:
            continue
        library_id, row_file_id, filename, path, page, ordinal, chunk_text = row
        hits.append(
            SearchHit(
                library_id=library_id,
                file_id=row_file_id,
                filename=filename,
                path=path,
                page=page,
                chunk=ordinal,
                text=chunk_text,
                score=float(score),
            )
        )
    return hits
