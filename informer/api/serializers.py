"""Serializer base classes: camelCase names, unknown-key rejection, strict JSON types, HAL ``_links``."""

from __future__ import annotations

import json
import re
import uuid
from datetime import date, time, timedelta
from decimal import Decimal
from typing import Any

from django.http import QueryDict
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from informer.api.pagination import WHOLE_NUMBER

IGNORED_KEYS = frozenset({"_links", "_embedded"})
# A number in query-string or form text: ASCII digits only, as for whole numbers (float() reads any digit).
DECIMAL_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
MAX_SHOWN_VALUE_LENGTH = 40


def camel(name: str) -> str:
    """``next_run_at`` → ``nextRunAt``; ``_links`` stays as it is."""
    if name.startswith("_"):
        return name
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def snake(name: str) -> str:
    """``nextRunAt`` → ``next_run_at``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def json_type(value: Any) -> str:
    """The JSON name of a value's type, for messages: ``a string``, ``a number``, ``a boolean``…"""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float | Decimal):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def shown(value: Any) -> str:
    """A value as the client wrote it (JSON), cut short."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= MAX_SHOWN_VALUE_LENGTH else text[: MAX_SHOWN_VALUE_LENGTH - 1] + "…"


def _not(expected: str, value: Any) -> str:
    return f"Must be {expected}, not {json_type(value)} ({shown(value)})."


def _is_whole(value: Any) -> bool:
    """An int, or a float or Decimal without a fraction (JSON does not tell 3 from 3.0)."""
    if isinstance(value, float):
        return value.is_integer()
    if isinstance(value, Decimal):
        return value.is_finite() and value == value.to_integral_value()
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def json_type_error(field: serializers.Field, value: Any) -> str | dict[Any, list[str]] | None:
    """Why ``value`` from a JSON body has the wrong type for ``field``, or None.

    DRF coerces instead (``123`` to ``"123"``, ``"yes"`` to true, ``"3"`` to 3). The answer is a message, or
    ``{index or key: [message]}`` for the items of a list or an object. Python values no JSON parser makes (a
    datetime, a Decimal from the admin's forms) pass: only JSON's types are told apart here, and the field
    still checks the value itself.
    """
    if value is None:
        return None  # whether null is allowed is the field's own check
    if isinstance(field, serializers.BooleanField):
        return None if isinstance(value, bool) else _not("true or false", value)
    if isinstance(field, serializers.IntegerField):
        if not _is_number(value):
            return _not("a whole number", value)
        return None if _is_whole(value) else f"Must be a whole number, not {shown(value)}."
    if isinstance(field, serializers.FloatField | serializers.DecimalField):
        return None if _is_number(value) else _not("a number", value)
    if isinstance(field, serializers.MultipleChoiceField):
        items = value if isinstance(value, list) else []
        return _item_errors(serializers.ChoiceField(choices=field.choices), enumerate(items))
    if isinstance(field, serializers.ListField):
        return _item_errors(field.child, enumerate(value)) if isinstance(value, list) else None
    if isinstance(field, serializers.DictField):
        return _item_errors(field.child, value.items()) if isinstance(value, dict) else None
    if isinstance(field, serializers.ChoiceField):
        keys = list(field.choices)
        if keys and all(isinstance(key, str) for key in keys):
            return None if isinstance(value, str) else _not("a string", value)
        if keys and all(_is_whole(key) for key in keys):
            return None if _is_whole(value) else _not("a whole number", value)
        return None  # mixed choices: the field compares them itself
    if isinstance(field, serializers.CharField):
        return None if isinstance(value, str) else _not("a string", value)
    if isinstance(field, serializers.UUIDField):
        # UUIDField would read an integer as a UUID's 128 bits.
        return None if isinstance(value, str | uuid.UUID) else _not("a string", value)
    if isinstance(field, serializers.DateTimeField | serializers.DateField | serializers.TimeField):
        return None if isinstance(value, str | date | time) else _not("a string", value)
    if isinstance(field, serializers.DurationField):
        return None if isinstance(value, str | timedelta) else _not("a string", value)
    return None


def _item_errors(child: serializers.Field, items: Any) -> dict[Any, list[str]] | None:
    """The type errors of a list's or an object's items, by index or key, as DRF reports item errors."""
    if child is None:
        return None
    errors: dict[Any, list[str]] = {}
    for key, item in items:
        error = json_type_error(child, item)
        if isinstance(error, str):
            errors[key] = [error]
        elif error:
            errors[key] = error  # type: ignore[assignment]
    return errors or None


def text_number_error(field: serializers.Field, value: Any) -> str | None:
    """Why a query-string or form value is not a number in ASCII digits for a numeric ``field``, or None."""
    if not isinstance(value, str) or value == "":
        return None
    if isinstance(field, serializers.IntegerField) and not WHOLE_NUMBER.fullmatch(value):
        return f"'{value[:MAX_SHOWN_VALUE_LENGTH]}' is not a whole number."
    if isinstance(field, serializers.FloatField | serializers.DecimalField) and not DECIMAL_NUMBER.fullmatch(value):
        return f"'{value[:MAX_SHOWN_VALUE_LENGTH]}' is not a number."
    return None


class StrictFieldsMixin:
    """Rejects keys that are neither fields nor ``_links``/``_embedded``; read-only fields are ignored.

    Values must have the field's JSON type: a client sends ``"enabled": true``, not ``"yes"``, and ``"name":
    "123"``, not ``123``. Text without types (a query string, a form body) is read as DRF reads it, except
    that numbers must be written in ASCII digits.
    """

    # True for serializers of query-string parameters, whose every value is text.
    text_values = False

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            # A form body (QueryDict) carries only text, like a query string.
            text = self.text_values or isinstance(data, QueryDict)
            known = set(self.fields)  # type: ignore[attr-defined]
            unknown = [key for key in data if key not in known and key not in IGNORED_KEYS]
            if unknown:
                raise serializers.ValidationError({key: [f"Unknown field '{key}'."] for key in unknown})
            data = {key: value for key, value in data.items() if key not in IGNORED_KEYS}
            check = text_number_error if text else json_type_error
            errors = {}
            for name, field in self.fields.items():  # type: ignore[attr-defined]
                if not field.read_only and name in data:
                    error = check(field, data[name])
                    if error:
                        errors[name] = error if isinstance(error, dict) else [error]
            if errors:
                raise serializers.ValidationError(errors)
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


class ApiQuerySerializer(ApiSerializer):
    """Base for query-string parameters: every value is text, numbers in ASCII digits."""

    text_values = True


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
        path = self.parent.self_path(value)  # type: ignore[attr-defined]  # declared by the serializers using this field
        request = self.context.get("request")
        href = request.build_absolute_uri(path) if request is not None else path
        return {"self": {"href": href}}
