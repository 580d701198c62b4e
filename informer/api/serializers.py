"""Serializer base classes: camelCase names, unknown-key rejection, HAL ``_links``."""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

IGNORED_KEYS = frozenset({"_links", "_embedded"})


def camel(name: str) -> str:
    """``next_run_at`` → ``nextRunAt``; ``_links`` stays as it is."""
    if name.startswith("_"):
        return name
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def snake(name: str) -> str:
    """``nextRunAt`` → ``next_run_at``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class StrictFieldsMixin:
    """Rejects keys that are neither fields nor ``_links``/``_embedded``; read-only fields are ignored."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            known = set(self.fields)  # type: ignore[attr-defined]
            unknown = [key for key in data if key not in known and key not in IGNORED_KEYS]
            if unknown:
                raise serializers.ValidationError({key: [f"Unknown field '{key}'."] for key in unknown})
            data = {key: value for key, value in data.items() if key not in IGNORED_KEYS}
        return super().to_internal_value(data)  # type: ignore[misc]


class CamelCaseMixin:
    """Exposes every field under its camelCase name, keeping the snake_case ``source``."""

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()  # type: ignore[misc]
        renamed: dict[str, serializers.Field] = {}
        for name, field in fields.items():
            api_name = camel(name)
            if api_name != name:
                if isinstance(field, serializers.SerializerMethodField) and field.method_name is None:
                    field.method_name = f"get_{name}"
                elif field.source is None:
                    field.source = name
            renamed[api_name] = field
        return renamed

    def __getattr__(self, name: str) -> Any:
        # DRF looks a field's hook up by the field's API name (``validate_runCondition``); let the natural
        # snake_case spelling (``validate_run_condition``) answer, or the hook would be silently skipped.
        if name.startswith("validate_"):
            snake_name = "validate_" + snake(name.removeprefix("validate_"))
            if snake_name != name:
                return getattr(self, snake_name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


class ApiModelSerializer(StrictFieldsMixin, CamelCaseMixin, serializers.ModelSerializer):
    """Base for every model the API exposes."""


class ApiSerializer(StrictFieldsMixin, CamelCaseMixin, serializers.Serializer):
    """Base for request bodies that are not a model."""


@extend_schema_field(
    {
        "type": "object",
        "readOnly": True,
        "properties": {"self": {"type": "object", "properties": {"href": {"type": "string", "format": "uri"}}}},
    }
)
class SelfLinkField(serializers.Field):
    """``{"self": {"href": <absolute url>}}`` built by a ``url_for(obj)`` callable on the serializer."""

    def __init__(self, **kwargs: Any):
        kwargs["source"] = "*"
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> dict[str, Any]:
        path = self.parent.self_path(value)  # type: ignore[union-attr]
        request = self.context.get("request")
        href = request.build_absolute_uri(path) if request is not None else path
        return {"self": {"href": href}}
