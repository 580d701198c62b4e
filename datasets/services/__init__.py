"""Writes to datasources and datasets (SPEC §8), one module per resource as in ``jobs.services``: datasource
create/update/test with its secrets encrypted, dataset refresh into a new generation swapped in atomically,
snapshots (take, restore, clean up) and shares."""
