"""Writes, as keyword-only services named ``<entity>_<verb>``: one module per resource (jobs, shares, actions with
their attachments, drafts). Views and the admin validate, then call these."""
