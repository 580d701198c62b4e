"""The integration registry: each type's class, lazily imported; secrets marked write-only in each schema."""

from __future__ import annotations

import pytest

from library.integrations.base import IntegrationConfig
from library.integrations.local import LocalIntegration
from library.integrations.registry import UnknownIntegration, integration_class, integration_classes, integration_for
from library.integrations.s3 import S3Integration
from library.integrations.webdav import WebdavIntegration


def test_every_type_has_its_class() -> None:
    assert integration_classes() == [LocalIntegration, WebdavIntegration, S3Integration]
    assert [(cls.type, cls.name, cls.available) for cls in integration_classes()] == [
        ("local", "Local folder", True),
        ("webdav", "WebDAV", True),
        ("s3", "Amazon S3 (or compatible)", True),
    ]


def test_an_unknown_type_is_a_key_error_with_a_message() -> None:
    with pytest.raises(UnknownIntegration) as caught:
        integration_class("ftp")

    assert isinstance(caught.value, KeyError)
    assert str(caught.value) == "Unknown library type 'ftp'; expected one of local, webdav, s3."


def test_integration_for_builds_one_from_its_config() -> None:
    config = IntegrationConfig(type="local", settings={"path": "docs"})

    integration = integration_for(config)

    assert type(integration) is LocalIntegration
    assert integration.config is config


def test_schemas_mark_secrets_write_only() -> None:
    assert LocalIntegration.settings_schema["required"] == ["path"]
    assert list(LocalIntegration.settings_schema["properties"]) == ["path"]
    webdav = WebdavIntegration.settings_schema["properties"]
    assert list(webdav) == ["url", "username", "password", "root"]
    assert webdav["password"] == {"type": "string", "title": "Password", "writeOnly": True}
    s3 = S3Integration.settings_schema["properties"]
    assert list(s3) == ["bucket", "prefix", "region", "endpointUrl", "accessKeyId", "secretAccessKey"]
    assert s3["secretAccessKey"] == {"type": "string", "title": "Secret access key", "writeOnly": True}
    assert [name for name, field in {**webdav, **s3}.items() if field.get("writeOnly")] == [
        "password",
        "secretAccessKey",
    ]
