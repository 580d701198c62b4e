"""Admin for libraries, their files and the stored contents behind them; each module registers its pages.

Every page is limited as the API limits it: the staff user's tenant, then the object permissions they hold
on the library (``library.admin.access``), on top of Django's model permissions. Every write goes through
the services the API uses.
"""

from __future__ import annotations

from library.admin import files, libraries

__all__ = ["files", "libraries"]
