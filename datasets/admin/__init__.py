"""Admin for datasources, datasets, their snapshots and generations; each module registers its pages.

Every page is limited as the API limits it: the staff user's tenant, then the object permissions they hold
on the datasource or dataset (``datasets.admin.access``), on top of Django's model permissions. Every write
goes through the services the API uses.
"""

from __future__ import annotations

from datasets.admin import datasets, datasources, snapshots

__all__ = ["datasets", "datasources", "snapshots"]
