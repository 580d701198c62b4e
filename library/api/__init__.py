"""The library API (SPEC §9), one module per resource as in ``jobs.api``: libraries (CRUD, ``_sync``), their files
(list, download, upload, delete), search within a library and across every readable one, and shares."""
