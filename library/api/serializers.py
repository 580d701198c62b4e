"""How the library resource reads and writes (§9): the library as shown, ``settings`` without its secrets, the
bodies and answers of ``_test`` and ``_sync``, the list's filters."""

from __future__ import annotations

from typing import Any, cast

import django_filters
from django import forms
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request

from informer import secrets
from informer.api.exceptions import DomainError
from informer.api.filters import IntegerFilter, StrictBooleanFilter
from informer.api.schema import LINK_SCHEMA
from informer.api.serializers import ApiModelSerializer, ApiSerializer
from library.integrations.registry import INTEGRATIONS
from library.models import Library, LibraryType
from library.services import libraries as services

PERMISSION_FLAGS = {
    "edit": "change_library",
    "sync": "sync_library",
    "delete": "delete_library",
    "share": "share_library",
}
LINK_RELS = ("self", "inf:library-files", "inf:library-shares", "inf:sync", "inf:test")


def _link(request: Request | None, route: str, **kwargs: Any) -> dict[str, str]:
    href = reverse(route, kwargs=kwargs)
    return {"href": request.build_absolute_uri(href) if request is not None else href}


def settings_shown(library: Library) -> dict[str, Any]:
    """A library's plain settings with a ``has<Secret>`` flag for each secret its type reads (never the value)."""
    shown = dict(library.settings or {})
    try:
        integration = services.integration_type(library.type)
    except DomainError:
        return shown  # a type no longer registered: its plain settings only
    try:
        stored = set(secrets.unseal_json(library.secrets_encrypted))
    except secrets.SecretUnreadable:
        stored = set()  # sealed under another key: as good as none (a sync or test says to enter it again)
    for name in sorted(services.secret_setting_names(integration)):
        shown.pop(name, None)
        shown[services.secret_flag(name)] = name in stored
    return shown


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": True,
        "description": (
            "The type's settings (see GET /api/library-drivers): local {path}; webdav {url, username, password, "
            "root}; s3 {bucket, prefix, region, endpointUrl, accessKeyId, secretAccessKey}. Secrets are "
            "write-only: a response shows hasPassword / hasSecretAccessKey instead. Given keys replace the stored "
            "ones, null removes one; a left-out or blank secret keeps the stored one, null removes it."
        ),
    }
)
class SettingsField(serializers.DictField):
    """``settings``: written as given, shown without its secrets (``source="*"``: it needs the library)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(source="*", **kwargs)

    def to_representation(self, value: Any) -> dict[str, Any]:
        return settings_shown(cast(Library, value))

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        return {"settings": super().to_internal_value(data)}


class LibrarySerializer(ApiModelSerializer):
    """A library as the API shows it; writes merge into the existing one (PUT and PATCH alike)."""

    _links = serializers.SerializerMethodField()
    natural_id = serializers.CharField(read_only=True)
    type = serializers.CharField(max_length=20, help_text="local, webdav or s3.")
    settings = SettingsField(required=False, allow_null=True)
    embedded = serializers.BooleanField(required=False, help_text="Index the files for search after each sync.")
    owner_id = serializers.IntegerField(read_only=True, allow_null=True)
    shared = serializers.SerializerMethodField()
    permissions = serializers.SerializerMethodField()

    class Meta:
        model = Library
        fields = [
            "_links",
            "id",
            "name",
            "slug",
            "natural_id",
            "description",
            "type",
            "settings",
            "embedded",
            "files",
            "size",
            "synced_at",
            "indexed_at",
            "owner_id",
            "shared",
            "permissions",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "files", "size", "synced_at", "indexed_at", "created_at", "updated_at"]
        extra_kwargs = {
            "slug": {"required": False, "validators": [], "allow_blank": True},
            "description": {"required": False},
        }

    @extend_schema_field(
        {
            "type": "object",
            "readOnly": True,
            "required": list(LINK_RELS),
            "properties": {rel: LINK_SCHEMA for rel in LINK_RELS},
        }
    )
    def get__links(self, library: Library) -> dict[str, Any]:
        request = self.context.get("request")
        return {
            "self": _link(request, "library-detail", pk=library.pk),
            "inf:library-files": _link(request, "library-file-list", library_pk=library.pk),
            "inf:library-shares": _link(request, "library-share-list", library_pk=library.pk),
            "inf:sync": _link(request, "library-sync", pk=library.pk),
            "inf:test": _link(request, "library-test", pk=library.pk),
        }

    def get_shared(self, library: Library) -> bool:
        """Whether anyone besides the owner has access."""
        return library.pk in self.context.get("shared", set())

    @extend_schema_field(
        {
            "type": "object",
            "readOnly": True,
            "required": list(PERMISSION_FLAGS),
            "properties": {flag: {"type": "boolean"} for flag in PERMISSION_FLAGS},
        }
    )
    def get_permissions(self, library: Library) -> dict[str, bool]:
        codenames = self.context.get("permissions", {}).get(library.pk, set())
        return {flag: codename in codenames for flag, codename in PERMISSION_FLAGS.items()}

    def validate_type(self, value: str) -> str:
        if value not in INTEGRATIONS:
            known = ", ".join(INTEGRATIONS)
            raise serializers.ValidationError(f"Unknown library type '{value}'; known types are: {known}.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is None and not self.partial:
            missing = [name for name in ("name", "type") if name not in attrs]
            if missing:
                raise serializers.ValidationError({name: ["This field is required."] for name in missing})
        return attrs


class LibraryTestSerializer(serializers.Serializer):
    """The answer of ``_test``: a failure is ``success: false`` with the reason."""

    success = serializers.BooleanField()
    message = serializers.CharField()
    latency = serializers.FloatField(allow_null=True, help_text="Milliseconds to reach the remote and list its root.")


class LibraryTestBodySerializer(ApiSerializer):
    """``POST /api/libraries/{id}/_test`` takes no settings: it tests the stored ones."""


class SyncBodySerializer(ApiSerializer):
    """The optional body of ``POST /api/libraries/{id}/_sync``."""

    allow_mass_delete = serializers.BooleanField(
        required=False, default=False, help_text="Allow deleting more than half of the library's files at once."
    )


class SyncErrorSerializer(serializers.Serializer):
    """A path a sync could not mirror, with why."""

    path = serializers.CharField()
    error = serializers.CharField()


class SyncResultSerializer(serializers.Serializer):
    """What ``_sync`` answers (§9)."""

    added = serializers.IntegerField()
    updated = serializers.IntegerField()
    deleted = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    skipped = serializers.IntegerField()
    bytes = serializers.IntegerField(help_text="Bytes downloaded.")
    duration = serializers.IntegerField(help_text="Milliseconds.")
    errors = SyncErrorSerializer(many=True)  # type: ignore[assignment]  # DRF moves declared fields off the class
    success = serializers.BooleanField()


class LibraryFilter(django_filters.FilterSet):
    """``?type=&ownerId=&embedded=`` (strict: an unknown type or a bad value is a 400 naming the parameter)."""

    type = django_filters.ChoiceFilter(choices=LibraryType.choices)
    ownerId = IntegerFilter(field_name="owner_id")
    embedded = StrictBooleanFilter(field_name="embedded")

    class Meta:
        model = Library
        fields: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ChoiceField, self.filters["type"].field)
        known = ", ".join(LibraryType.values)
        field.error_messages["invalid_choice"] = f"Unknown library type '%(value)s'; known types are: {known}."
