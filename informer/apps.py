from __future__ import annotations

from django.apps import AppConfig


class InformerConfig(AppConfig):
    name = "informer"
    verbose_name = "Identity and tenants"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the OpenAPI extension for bearer tokens.
        from informer.api import schema  # noqa: F401
