"""Library integrations: one module per kind of remote, behind the interface of base.py."""
