"""Routes of the library app (§9), mounted under /api/: each resource module lists its own."""

from __future__ import annotations

from library.api import files, libraries, search, shares

urlpatterns = [*libraries.urlpatterns, *files.urlpatterns, *shares.urlpatterns, *search.urlpatterns]
