"""Writes to datasources (§8): create, update, delete, test; and their connection settings with secrets opened.

A datasource's password and secret options are sealed (``informer.secrets``) the moment they arrive and
opened only to build a ``SourceConfig`` for a connector; nothing here returns or logs them.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.contrib.auth.models import Permission
from django.db import transaction

from datasets.connectors.base import Connector, ConnectorError, SourceConfig, TestResult
from datasets.models import DATASOURCE_PERMISSIONS, Datasource, DatasourceUserObjectPermission
from informer import secrets
from informer.api.exceptions import Conflict, DomainError, names_field
from informer.models import User
from informer.slugs import save_slugged, slug_taken, unique_slug

logger = logging.getLogger(__name__)

ADD_PERMISSION = "datasets.add_datasource"
CAPABILITY_MESSAGE = "You need the 'datasets.add_datasource' permission to create datasources."
# What a datasource keeps from a write, besides its secrets (the serializer's names, snake_case).
PLAIN_FIELDS = ("name", "slug", "description", "type", "host", "port", "database", "username")


class CapabilityMissing(DomainError):
    """The caller lacks a model-wide capability (creating datasources): a 403."""

    status_code = 403


def field_error(message: str, field: str) -> DomainError:
    """A 400 on ``field`` whose message names it (once: a message that opens with it is kept as it is)."""
    sentence = message if names_field(message, field) else f"{field}: {message}"
    return DomainError(sentence, details={field: [message]})


def connector_type(type_name: str) -> type[Connector]:
    """The connector class of ``type_name``; an unknown type is a 400 on ``type`` listing the known ones."""
    from datasets.connectors import registry  # the connectors import their drivers; only when needed

    try:
        return registry.connector_class(type_name)
    except KeyError:
        known = ", ".join(registry.CONNECTORS)
        raise field_error(f"Unknown datasource type '{type_name}'; known types are: {known}.", "type") from None


def option_schemas(connector: type[Connector]) -> dict[str, dict[str, Any]]:
    """The JSON Schema of each option ``connector`` reads, by name (empty when its schema lists none)."""
    options = connector.config_schema.get("properties", {}).get("options", {})
    properties = options.get("properties", {}) if isinstance(options, dict) else {}
    return properties if isinstance(properties, dict) else {}


def secret_option_names(connector: type[Connector]) -> set[str]:
    """The options the connector's schema marks ``writeOnly``: sealed at rest and never shown."""
    return {name for name, schema in option_schemas(connector).items() if schema.get("writeOnly")}


def dataset_config(datasource: Datasource) -> SourceConfig:
    """A datasource's connection settings with its secrets opened, for a connector (never to log or show).

    A secret sealed under another key is a ``ConnectorError`` on ``password``: the runs and tests that need
    it fail saying to enter it again, rather than connecting without it.
    """
    try:
        password = secrets.unseal(datasource.password_encrypted)
        secret_options = secrets.unseal_json(datasource.secret_options_encrypted)
    except secrets.SecretUnreadable as error:
        raise ConnectorError(str(error), field="password") from None
    return SourceConfig(
        type=datasource.type,
        host=datasource.host,
        port=datasource.port,
        database=datasource.database,
        username=datasource.username,
        password=password,
        options=dict(datasource.options or {}),
        secret_options=secret_options,
    )


def _split_options(
    connector: type[Connector], given: dict[str, Any], stored_secrets: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``given`` options as (plain, secret); a secret left out, blank or ``null`` keeps, keeps, clears it."""
    known = option_schemas(connector)
    unknown = [name for name in given if known and name not in known]
    if unknown:
        names = ", ".join(sorted(known))
        raise DomainError(
            f"options.{unknown[0]}: is not an option of {connector.type}; its options are: {names}.",
            field=f"options.{unknown[0]}",
        )
    secret_names = secret_option_names(connector)
    plain = {name: value for name, value in given.items() if name not in secret_names}
    secret = {name: value for name, value in stored_secrets.items() if name in secret_names}
    for name in secret_names & set(given):
        value = given[name]
        if value is None:
            secret.pop(name, None)
        elif value != "":
            secret[name] = value
    return plain, secret


def _validate(config: SourceConfig) -> None:
    """The connector's own checks (§8 safety); a refusal is a 400 naming the setting at fault."""
    from datasets.connectors import registry

    try:
        registry.connector_for(config).validate()
    except ConnectorError as error:
        raise field_error(error.message, error.field or "type") from None


def source_config(data: dict[str, Any], *, datasource: Datasource | None = None, validate: bool = True) -> SourceConfig:
    """The settings a write would leave ``datasource`` with (or a new one), secrets opened, validated unless not.

    ``data`` holds the serializer's snake_case values; a missing or blank ``password`` keeps the stored one,
    ``null`` clears it. ``options`` replaces the plain options; secret ones merge (see ``_split_options``).
    """
    current = dataset_config(datasource) if datasource is not None else SourceConfig(type="")
    type_name = data.get("type", current.type)
    connector = connector_type(type_name)
    password = data.get("password", "")
    if password is None:
        password = ""
    elif password == "":
        password = current.password
    if "options" in data:
        options = data["options"] or {}
    else:
        # Kept as stored; after a change of type, only those the new type reads.
        known = option_schemas(connector)
        options = {key: value for key, value in current.options.items() if not known or key in known}
    plain, secret = _split_options(connector, options, current.secret_options)
    port = data.get("port", current.port)
    config = SourceConfig(
        type=type_name,
        host=data.get("host", current.host) or "",
        port=port,
        database=data.get("database", current.database) or "",
        username=data.get("username", current.username) or "",
        password=password,
        options=plain,
        secret_options=secret,
    )
    if validate:
        _validate(config)
    return config


def _apply(datasource: Datasource, data: dict[str, Any], config: SourceConfig) -> None:
    """Copy the plain fields of ``data`` and the settings of ``config`` (secrets sealed) onto ``datasource``."""
    for name in ("name", "slug", "description"):
        if name in data:
            setattr(datasource, name, data[name] if data[name] is not None else "")
    datasource.type = config.type
    datasource.host = config.host
    datasource.port = config.port
    datasource.database = config.database
    datasource.username = config.username
    datasource.options = config.options
    datasource.password_encrypted = secrets.seal(config.password)
    datasource.secret_options_encrypted = secrets.seal_json(config.secret_options)


def datasource_grant(datasource: Datasource, user: Any, codenames: tuple[str, ...] = DATASOURCE_PERMISSIONS) -> None:
    """Give ``user`` the listed permissions on ``datasource``."""
    permissions = Permission.objects.filter(content_type__app_label="datasets", codename__in=list(codenames))
    DatasourceUserObjectPermission.objects.bulk_create(
        [DatasourceUserObjectPermission(user=user, permission=perm, content_object=datasource) for perm in permissions],
        ignore_conflicts=True,
    )


@transaction.atomic
def datasource_create(*, user: User, data: dict[str, Any]) -> Datasource:
    """Create a datasource in ``user``'s tenant (needs ``datasets.add_datasource``); its owner holds every right."""
    if not user.has_perm(ADD_PERMISSION):
        raise CapabilityMissing(CAPABILITY_MESSAGE)
    config = source_config(data)
    datasource = Datasource(tenant_id=user.tenant_id, owner=user)
    _apply(datasource, data, config)
    if data.get("slug"):
        if Datasource.objects.filter(tenant_id=user.tenant_id, slug=datasource.slug).exists():
            raise slug_taken("datasource", datasource.slug)
    else:
        datasource.slug = unique_slug(
            Datasource.objects.filter(tenant_id=user.tenant_id), fallback="datasource", base=datasource.name
        )
    save_slugged(datasource, constraint="datasource_unique_slug", label="datasource", force_insert=True)
    datasource_grant(datasource, user)
    return datasource


@transaction.atomic
def datasource_update(*, datasource: Datasource, data: dict[str, Any]) -> Datasource:
    """Merge ``data`` into ``datasource`` (a missing or blank password keeps it, ``null`` clears it), validated."""
    if data.get("slug") and data["slug"] != datasource.slug:
        clash = Datasource.objects.filter(tenant_id=datasource.tenant_id, slug=data["slug"])
        if clash.exclude(pk=datasource.pk).exists():
            raise slug_taken("datasource", data["slug"])
    if "slug" in data and not data["slug"]:
        data = {
            **data,
            "slug": unique_slug(
                Datasource.objects.filter(tenant_id=datasource.tenant_id),
                fallback="datasource",
                base=data.get("name") or datasource.name,
                exclude_pk=datasource.pk,
            ),
        }
    config = source_config(data, datasource=datasource)
    _apply(datasource, data, config)
    save_slugged(datasource, constraint="datasource_unique_slug", label="datasource")
    return datasource


@transaction.atomic
def datasource_delete(*, datasource: Datasource) -> None:
    """Delete a datasource no dataset reads (409 otherwise), with its shares."""
    used = datasource.datasets.count()
    if used:
        noun = "dataset reads" if used == 1 else "datasets read"
        raise Conflict(f"Datasource '{datasource.name}' cannot be deleted: {used} {noun} it.", field="id")
    datasource.delete()


def _redacted(message: str, config: SourceConfig) -> str:
    """``message`` with the config's secrets masked: a driver may echo a connection string back."""
    for secret in (config.password, *map(str, config.secret_options.values())):
        if secret and len(secret) >= 3:
            message = message.replace(secret, "********")
    return message


def datasource_test(*, config: SourceConfig) -> TestResult:
    """Validate ``config``, connect and run a trivial query; every failure is ``success: False`` with the reason."""
    from datasets.connectors import registry

    try:
        registry.connector_class(config.type)
    except KeyError:
        return TestResult(success=False, message=f"type: unknown datasource type '{config.type}'.")
    started = time.monotonic()
    try:
        connector = registry.connector_for(config)
        connector.validate()
        result = connector.test()
    except ConnectorError as error:
        prefix = f"{error.field}: " if error.field and not error.message.startswith(error.field) else ""
        latency = round((time.monotonic() - started) * 1000, 1)
        return TestResult(success=False, message=_redacted(prefix + error.message, config), latency=latency)
    except Exception as error:  # the answer of a test is never a 500
        message = _redacted(f"The test failed: {type(error).__name__}: {error}", config)
        # The message only, masked: a traceback's text could carry what the driver was handed.
        logger.warning("Testing a %s datasource failed: %s", config.type, message)
        return TestResult(success=False, message=message)
    return TestResult(
        success=result.success,
        message=_redacted(result.message, config),
        latency=result.latency,
        server_version=result.server_version,
        database=result.database,
    )
