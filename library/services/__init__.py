"""Writes to libraries (SPEC §9), one module per resource as in ``jobs.services``: library create/update with its
secrets encrypted, sync from the integration, file upload and delete written through, indexing and shares."""
