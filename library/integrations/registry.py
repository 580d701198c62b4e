"""Integration registry: a plain map from library type to dotted path, imported lazily on first use."""

from __future__ import annotations

from functools import cache
from importlib import import_module

from library.integrations.base import Integration, IntegrationConfig

INTEGRATIONS: dict[str, str] = {
    "local": "library.integrations.local.LocalIntegration",
    "webdav": "library.integrations.webdav.WebdavIntegration",
    "s3": "library.integrations.s3.S3Integration",
}


class UnknownIntegration(KeyError):
    """No integration is registered under that library type."""

    def __str__(self) -> str:
        # KeyError's own str() is the repr of its argument; the message is what callers show.
        return f"Unknown library type {self.args[0]!r}; expected one of {', '.join(INTEGRATIONS)}."


@cache
def _load(path: str) -> type[Integration]:
    module_name, _, attribute = path.rpartition(".")
    loaded: type[Integration] = getattr(import_module(module_name), attribute)
    return loaded


def integration_class(type: str) -> type[Integration]:
    """The integration class registered for library type ``type``."""
    try:
        path = INTEGRATIONS[type]
    except (KeyError, TypeError):
        raise UnknownIntegration(type) from None
    return _load(path)


def integration_classes() -> list[type[Integration]]:
    """Every registered integration class, in registration order."""
    return [_load(path) for path in INTEGRATIONS.values()]


def integration_for(config: IntegrationConfig) -> Integration:
    """An integration for ``config`` (its ``type`` picks the class)."""
    return integration_class(config.type)(config)
