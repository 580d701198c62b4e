"""The datasets API (SPEC §8), one module per resource as in ``jobs.api``: datasources (CRUD, ``_test``, the
datasource drivers), datasets (CRUD, ``copy``, ``_run``, ``_refresh``, ``data``, ``export``), their snapshots and
shares, and a job's dataset associations (``/api/jobs/{id}/datasets``)."""
