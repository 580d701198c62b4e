"""Datasource connectors: one module per engine, behind the interface of base.py."""
