"""django-q2 entry points of the library: ids in, idempotent (a second delivery finds nothing to do)."""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)


def index_library(library_id: str) -> dict[str, Any] | None:
    """Index one library's new and changed files by id (after a ``_sync``); the result, or None when not run.

    A library deleted meanwhile, or no longer ``embedded``, is left alone; one that another indexing holds
    is too, as that indexing (or the next sync's) takes its pending files.
    """
    from library.models import Library
    from library.services.index import IndexBusy, library_index

    library = Library.objects.select_related("tenant").filter(pk=library_id).first()
    if library is None or not library.embedded:
        return None
    try:
        result = library_index(library)
    except IndexBusy as error:
        logger.info("Library %s was not indexed after its sync: %s", library_id, error.message)
        return None
    return result.to_dict()
