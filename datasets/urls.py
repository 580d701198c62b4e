"""Routes of the datasets app (§8), mounted under /api/: each resource module lists its own."""

from __future__ import annotations

from datasets.api import datasets, datasources, shares, snapshots

urlpatterns = [*datasources.urlpatterns, *datasets.urlpatterns, *snapshots.urlpatterns, *shares.urlpatterns]
