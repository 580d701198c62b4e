"""Writes to libraries (§9): create, update, delete, test; and their integration settings with secrets opened.

A library's secrets (the settings its integration's schema marks ``writeOnly``: a WebDAV password, an S3
secret key) are sealed (``informer.secrets``) the moment they arrive and opened only to build an
``IntegrationConfig``; nothing here returns or logs them. Creating a library is a capability, as creating a
datasource is: a library reaches other machines (or a folder of this one), so it needs the model
permission ``library.add_library``; the creator then owns it.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.db import transaction

from informer import secrets
from informer.api.exceptions import Conflict, DomainError, names_field
from informer.models import User
from informer.slugs import save_slugged, slug_taken, unique_slug
from library.integrations.base import Integration, IntegrationConfig, IntegrationError, TestResult
from library.models import Library, LibraryFile
from library.services.shares import library_grant_owner

logger = logging.getLogger(__name__)

ADD_PERMISSION = "library.add_library"
CAPABILITY_MESSAGE = "You need the 'library.add_library' permission to create libraries."


class CapabilityMissing(DomainError):
    """The caller lacks a model-wide capability (creating libraries): a 403."""

    status_code = 403


def field_error(message: str, field: str) -> DomainError:
    """A 400 on ``field`` whose message names it (once: a message that opens with it is kept as it is)."""
    sentence = message if names_field(message, field) else f"{field}: {message}"
    return DomainError(sentence, details={field: [message]})


def integration_type(type_name: str) -> type[Integration]:
    """The integration class of ``type_name``; an unknown type is a 400 on ``type`` listing the known ones."""
    from library.integrations import registry  # the integrations import their clients; only when needed

    try:
        return registry.integration_class(type_name)
    except KeyError:
        known = ", ".join(registry.INTEGRATIONS)
        raise field_error(f"Unknown library type '{type_name}'; known types are: {known}.", "type") from None


def setting_schemas(integration: type[Integration]) -> dict[str, dict[str, Any]]:
    """The JSON Schema of each setting ``integration`` reads, by name."""
    properties = integration.settings_schema.get("properties", {})
    return properties if isinstance(properties, dict) else {}


def secret_setting_names(integration: type[Integration]) -> set[str]:
    """The settings the integration's schema marks ``writeOnly``: sealed at rest and never shown."""
    return {name for name, schema in setting_schemas(integration).items() if schema.get("writeOnly")}


def secret_flag(name: str) -> str:
    """The read-only flag a response shows for a stored secret: ``password`` → ``hasPassword``."""
    return f"has{name[:1].upper()}{name[1:]}"


def library_config(library: Library) -> IntegrationConfig:
    """A library's settings with its secrets opened, for an integration (never to log or show).

    A secret sealed under another key is an ``IntegrationError`` on ``settings``: the syncs and tests that need
    it fail saying to enter it again, rather than connecting without it.
    """
    try:
        opened = secrets.unseal_json(library.secrets_encrypted)
    except secrets.SecretUnreadable as error:
        raise IntegrationError(str(error), field="settings") from None
    return IntegrationConfig(type=library.type, settings=dict(library.settings or {}), secrets=opened)


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
    "object": (dict,),
    "array": (list,),
}


def _check_value(name: str, value: Any, schema: dict[str, Any]) -> None:
    """A setting's value is of the type its schema says (a bool is no integer), without NUL characters."""
    expected = schema.get("type")
    allowed = _JSON_TYPES.get(expected) if isinstance(expected, str) else None
    wrong_bool = isinstance(value, bool) and expected in ("integer", "number")
    if allowed is not None and (not isinstance(value, allowed) or wrong_bool):
        raise field_error(f"Must be a {expected}.", f"settings.{name}")
    if isinstance(value, str):
        if "\x00" in value:
            # PostgreSQL's jsonb refuses \u0000 (a DataError, so a 500 if it got that far).
            raise field_error("May not contain NUL characters.", f"settings.{name}")
        if len(value) > 2000:
            raise field_error("Is longer than 2000 characters.", f"settings.{name}")


def _merge_settings(
    integration: type[Integration], current: IntegrationConfig, given: dict[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The (plain, secret) settings a write leaves: given keys replace, ``null`` removes; a blank secret keeps it.

    Settings merge key by key as the body's fields do (``PUT`` merges). After a change of type, only the
    stored settings the new type reads are kept.
    """
    known = setting_schemas(integration)
    secret_names = secret_setting_names(integration)
    plain = {key: value for key, value in current.settings.items() if key in known and key not in secret_names}
    secret = {key: value for key, value in current.secrets.items() if key in secret_names}
    flags = {secret_flag(name) for name in secret_names}
    for name, value in (given or {}).items():
        if name in flags:
            continue  # a response's read-only flag sent back: ignored, as read-only fields are
        if name not in known:
            names = ", ".join(sorted(known)) or "none"
            raise field_error(
                f"'{name}' is not a setting of a {integration.type} library; its settings are: {names}.",
                f"settings.{name}",
            )
        if value is None:
            (secret if name in secret_names else plain).pop(name, None)
            continue
        _check_value(name, value, known[name])
        if name in secret_names:
            if value != "":
                secret[name] = value
        else:
            plain[name] = value
    required = integration.settings_schema.get("required", [])
    for name in required if isinstance(required, list) else []:
        if plain.get(name) in (None, "") and secret.get(name) in (None, ""):
            raise field_error("Is required.", f"settings.{name}")
    return plain, secret


def _validate(config: IntegrationConfig) -> None:
    """The integration's own checks (§9 safety); a refusal is a 400 naming the setting at fault."""
    from library.integrations import registry

    try:
        registry.integration_for(config).validate()
    except IntegrationError as error:
        raise field_error(error.message, setting_field(error.field)) from None


def setting_field(field: str | None) -> str:
    """An integration's field as the API names it: ``settings.<key>`` (an integration may say just ``<key>``)."""
    if not field:
        return "settings"
    if field in ("type", "settings") or field.startswith("settings."):
        return field
    return f"settings.{field}"


def settings_config(
    data: dict[str, Any], *, library: Library | None = None, validate: bool = True
) -> IntegrationConfig:
    """The settings a write would leave ``library`` with (or a new one), secrets opened, validated unless not."""
    if library is not None:
        try:
            current = library_config(library)
        except IntegrationError:
            # Secrets sealed under another key are unreadable: the write starts them afresh.
            current = IntegrationConfig(type=library.type, settings=dict(library.settings or {}))
    else:
        current = IntegrationConfig(type="")
    type_name = data.get("type") or current.type
    integration = integration_type(type_name)
    plain, secret = _merge_settings(integration, current, data.get("settings"))
    config = IntegrationConfig(type=type_name, settings=plain, secrets=secret)
    if validate:
        _validate(config)
    return config


def _apply(library: Library, data: dict[str, Any], config: IntegrationConfig) -> None:
    """Copy the plain fields of ``data`` and the settings of ``config`` (secrets sealed) onto ``library``."""
    for name in ("name", "slug", "description"):
        if name in data:
            setattr(library, name, data[name] if data[name] is not None else "")
    if data.get("embedded") is not None:
        library.embedded = data["embedded"]
    library.type = config.type
    library.settings = config.settings
    library.secrets_encrypted = secrets.seal_json(config.secrets)


@transaction.atomic
def library_create(*, user: User, data: dict[str, Any]) -> Library:
    """Create a library in ``user``'s tenant (needs ``library.add_library``); its owner holds every right."""
    if not user.has_perm(ADD_PERMISSION):
        raise CapabilityMissing(CAPABILITY_MESSAGE)
    config = settings_config(data)
    library = Library(tenant_id=user.tenant_id, owner=user)
    _apply(library, data, config)
    if data.get("slug"):
        if Library.objects.filter(tenant_id=user.tenant_id, slug=library.slug).exists():
            raise slug_taken("library", library.slug)
    else:
        library.slug = unique_slug(
            Library.objects.filter(tenant_id=user.tenant_id), fallback="library", base=library.name
        )
    save_slugged(library, constraint="library_unique_slug", label="library", force_insert=True)
    library_grant_owner(library, user)
    return library


@transaction.atomic
def library_update(*, library: Library, data: dict[str, Any]) -> Library:
    """Merge ``data`` into ``library`` (a missing or blank secret keeps it, ``null`` clears it), validated."""
    if data.get("slug") and data["slug"] != library.slug:
        clash = Library.objects.filter(tenant_id=library.tenant_id, slug=data["slug"])
        if clash.exclude(pk=library.pk).exists():
            raise slug_taken("library", data["slug"])
    if "slug" in data and not data["slug"]:
        base = data.get("name") or library.name
        data = {
            **data,
            "slug": unique_slug(
                Library.objects.filter(tenant_id=library.tenant_id),
                fallback="library",
                base=base,
                exclude_pk=library.pk,
            ),
        }
    config = settings_config(data, library=library)
    _apply(library, data, config)
    save_slugged(library, constraint="library_unique_slug", label="library")
    return library


@transaction.atomic
def library_delete(*, library: Library) -> None:
    """Delete a library no sync holds (409 otherwise) with its files and shares; the remote is untouched.

    The stored contents its files referenced and no other file does are collected once the deletion has
    committed.
    """
    from library.services.sync import sync_claimed  # sync builds on this module

    if sync_claimed(library):
        raise Conflict(f"Library '{library.name}' is syncing; delete it once the sync has finished.", field="id")
    contents = set(LibraryFile.objects.filter(library=library).exclude(sha256="").values_list("sha256", flat=True))
    library.delete()
    if contents:
        transaction.on_commit(lambda: _collect_contents(contents))


def _collect_contents(candidates: set[str]) -> None:
    """Delete those of ``candidates`` no file references any more (after a library went with its files)."""
    from library.content import contents_collect

    try:
        contents_collect(candidates=candidates)
    except Exception:  # the deletion is done; a later collection takes what this one left
        logger.exception("Collecting the contents of a deleted library failed")


def _redacted(message: str, config: IntegrationConfig) -> str:
    """``message`` with the config's secrets masked: a client library may echo a request back."""
    for secret in map(str, config.secrets.values()):
        if secret and len(secret) >= 3:
            message = message.replace(secret, "********")
    return message


def library_test(*, config: IntegrationConfig) -> TestResult:
    """Validate ``config``, reach the remote and list its root; every failure is ``success: False`` with why."""
    from library.integrations import registry

    try:
        registry.integration_class(config.type)
    except KeyError:
        return TestResult(success=False, message=f"type: unknown library type '{config.type}'.")
    started = time.monotonic()
    try:
        integration = registry.integration_for(config)
        integration.validate()
        result = integration.test()
    except IntegrationError as error:
        field = setting_field(error.field) if error.field else ""
        prefix = f"{field}: " if field and not names_field(error.message, field) else ""
        latency = round((time.monotonic() - started) * 1000, 1)
        return TestResult(success=False, message=_redacted(prefix + error.message, config), latency=latency)
    except Exception as error:  # the answer of a test is never a 500
        message = _redacted(f"The test failed: {type(error).__name__}: {error}", config)
        # The message only, masked: a traceback's text could carry what the client was handed.
        logger.warning("Testing a %s library failed: %s", config.type, message)
        return TestResult(success=False, message=message)
    return TestResult(success=result.success, message=_redacted(result.message, config), latency=result.latency)
