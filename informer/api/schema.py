"""OpenAPI additions: the error shape on every operation, HAL envelopes, strict bodies and sort choices."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiFilterExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.utils import OpenApiResponse, extend_schema_field, extend_schema_serializer, inline_serializer
from rest_framework import serializers

ERROR_REF = {"$ref": "#/components/schemas/Error"}
ERROR_SCHEMA = {
    "type": "object",
    "required": ["statusCode", "error", "message", "details"],
    "properties": {
        "statusCode": {"type": "integer"},
        "error": {"type": "string"},
        "message": {"type": "string"},
        "details": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    },
}

# What any operation can answer, whatever it does.
ALWAYS = {
    "400": "The request is invalid; `details` names each offending field.",
    "401": "Not authenticated, or the credentials are invalid.",
    "403": "Authenticated and allowed to read, but not allowed to do this (or the CSRF check failed).",
    "404": "Not found, or not visible to the caller.",
    "406": "None of the media types in `Accept` can be served.",
    "500": "Internal error.",
}
# What an operation that reads a request body can answer besides.
WITH_BODY = {
    "413": "The request body is too large.",
    "415": "The request body's `Content-Type` is not one this operation reads.",
}
# Answered by specific operations only; views ask for them with ``error_responses(...)``.
SPECIFIC = {
    409: "The request clashes with the current state (a duplicate slug, no draft to commit, a finished run...).",
    429: "Too many attempts; `Retry-After` says when to try again.",
}
HTTP_METHODS = {"get", "post", "put", "patch", "delete"}
# SPEC §2: bodies are JSON. The form parsers serve the browsable API; a form cannot carry the JSON
# objects (``data``, ``dstPolicy``, ``runCondition``) most bodies have, so they are left out of the contract.
FORM_MEDIA_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# The operation key under which ``body_choices()`` hands the allowed values to the post-processing hook.
CHOICES_KEY = "x-body-choices"

LINK_SCHEMA = {
    "type": "object",
    "required": ["href"],
    "properties": {"href": {"type": "string", "format": "uri"}},
}


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """``extend_schema(responses={200: X, **error_responses(409)})``: statuses only some operations answer."""
    return {code: OpenApiResponse(response=ERROR_REF, description=SPECIFIC[code]) for code in codes}


def body_choices(**choices: Callable[[], Iterable[str]]) -> dict[str, Any]:
    """``extend_schema(extensions=body_choices(type=lambda: [...]))``: the values a body's property takes.

    The values live with the view's app (a driver registry), which the serializer checks by hand; the
    hook below asks for them when the schema is built (drivers load lazily) and writes them into the
    request component as an ``enum``.
    """
    return {CHOICES_KEY: choices}


@extend_schema_field(
    {
        "type": "object",
        "required": ["self"],
        "properties": {"self": LINK_SCHEMA, "next": LINK_SCHEMA, "prev": LINK_SCHEMA},
    }
)
class CollectionLinksField(serializers.DictField):
    """The ``_links`` of a collection (documentation only)."""


def hal_collection_schema(item: type[serializers.Serializer], rel: str, name: str) -> serializers.Serializer:
    """The HAL collection envelope of SPEC §2 around ``item``s, as ``hal_collection`` and ``HalPagination`` build it."""
    fields = {
        "_links": CollectionLinksField(),
        "_embedded": inline_serializer(f"{name}Embedded", {rel: item(many=True)}),
        "start": serializers.IntegerField(min_value=0),
        "count": serializers.IntegerField(min_value=0),
        "total": serializers.IntegerField(min_value=0),
    }
    # ``many=False``: on a viewset's ``list`` drf-spectacular would otherwise wrap the envelope in an array.
    envelope = extend_schema_serializer(many=False)(type(name, (serializers.Serializer,), fields))
    return envelope()


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Post-processing hook: the error component on every operation, strict JSON bodies, body choices, clean texts."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in HTTP_METHODS:
                continue
            responses = operation.setdefault("responses", {})
            codes = {**ALWAYS, **(WITH_BODY if "requestBody" in operation else {})}
            for code, description in codes.items():
                responses.setdefault(
                    code, {"description": description, "content": {"application/json": {"schema": ERROR_REF}}}
                )
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                for media_type in FORM_MEDIA_TYPES:
                    content.pop(media_type, None)
            bodies = _request_components(operation, schemas)
            for component in bodies:
                # SPEC §2: an unknown key in a body is a 400 (``_links``, ``_embedded`` and read-only fields,
                # absent from request components, are ignored but never needed).
                component.setdefault("additionalProperties", False)
            for name, values in operation.pop(CHOICES_KEY, {}).items():
                for component in bodies:
                    if name in component.get("properties", {}):
                        component["properties"][name]["enum"] = list(values())
    clean_descriptions(result)
    return result


# Descriptions come from docstrings written for the code's readers: they cite the product contract by
# section ("(§6)", "§2's conventions") and use reStructuredText (``literal``, :class:`Name`, :param x:).
# /api/docs renders Markdown for people who have neither the contract nor the code at hand.
_SECTION = r"(?:SPEC\s+)?§\s*\d+(?:\.\d+)*"
_SECTION_RULES = (
    (re.compile(rf"\s*\((?:see\s+)?{_SECTION}(?:\s*(?:,|and)\s*{_SECTION})*\)"), ""),  # "(§6)", "(see SPEC §2)"
    (re.compile(rf"{_SECTION}'s\b"), "the API's"),  # "follows §2's conventions"
    (re.compile(rf"{_SECTION}:\s*"), ""),  # "SPEC §2: bodies are JSON"
    (re.compile(rf"\s*(?:see\s+)?{_SECTION}"), ""),
    (re.compile("§"), ""),
)
_RST_RULES = (
    (re.compile(r"``(.+?)``", re.S), r"`\1`"),  # Markdown's code span
    (re.compile(r":(?:[a-z]+:)?[a-z]+:`~?([^`]+)`"), r"`\1`"),  # :class:`Name`, :py:func:`~a.b`
    (re.compile(r"`([^`<]+?)\s*<([^>`]+)>`__?"), r"[\1](\2)"),  # `text <url>`_
    (re.compile(r"^[ \t]*:(?:type|rtype)\b[^:\n]*:.*\n?", re.M), ""),  # types are the schema's business
    (re.compile(r"^([ \t]*):param\s+(?:\w+\s+)?(\w+):\s*", re.M), r"\1`\2`: "),
    (re.compile(r"^([ \t]*):returns?:\s*", re.M), r"\1Returns: "),
    (re.compile(r"^([ \t]*):raises?\s+(\w+):\s*", re.M), r"\1Raises `\2`: "),
    (re.compile(r"^([ \t]*)\.\. (\w+)::\s*", re.M), lambda m: f"{m[1]}{m[2].capitalize()}: "),
)
# A first paragraph that only restates the operation's own path ("`GET /api/me`: who the caller is.",
# "`/api/jobs` and `/api/jobs/{id}`."): the docs show the path above it.
_PATHS = r"`[^`]*/[^`]*`(?:\s*(?:,|and|or)\s*`[^`]*/[^`]*`)*"
_PATHS_ONLY = re.compile(rf"\A{_PATHS}\.?\s*(?:\n\s*\n|\Z)")
_PATHS_PREFIX = re.compile(rf"\A{_PATHS}:\s+(\S)")
_SKIPPED_KEYS = {"example", "examples", "default", "enum", "const"}


def clean_description(text: str) -> str:
    """A docstring-made description as /api/docs readers need it: no § references, Markdown, no path echo."""
    for pattern, replacement in (*_SECTION_RULES, *_RST_RULES):
        text = pattern.sub(replacement, text)
    text = _PATHS_ONLY.sub("", text, count=1)
    text = _PATHS_PREFIX.sub(lambda m: m[1].upper(), text, count=1)
    return text.strip()


def clean_descriptions(node: Any) -> None:
    """Clean every ``description`` and ``summary`` in the schema in place; empty ones are dropped."""
    if isinstance(node, list):
        for item in node:
            clean_descriptions(item)
        return
    if not isinstance(node, dict):
        return
    for key in ("description", "summary"):
        if isinstance(node.get(key), str):
            node[key] = clean_description(node[key])
            if not node[key] and key == "summary":
                del node[key]
    for key, value in node.items():
        if key not in _SKIPPED_KEYS and not key.startswith("x-"):
            clean_descriptions(value)


def _request_components(operation: dict[str, Any], schemas: dict[str, Any]) -> list[dict[str, Any]]:
    """The object components an operation's request body refers to, one per media type."""
    found: list[dict[str, Any]] = []
    for media in operation.get("requestBody", {}).get("content", {}).values():
        ref = media.get("schema", {}).get("$ref", "")
        component = schemas.get(ref.rsplit("/", 1)[-1]) if ref.startswith("#/components/schemas/") else None
        if component is not None and component.get("type") == "object" and component not in found:
            found.append(component)
    return found


class SortFilterExtension(OpenApiFilterExtension):
    """``sort`` documented with its values: each sortable field, ascending or with ``-`` descending."""

    target_class = "informer.api.filters.SortFilter"

    def get_schema_operation_parameters(self, auto_schema: Any, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        view = auto_schema.view
        parameters = self.target.get_schema_operation_parameters(view)
        names = sorted(getattr(view, "sort_fields", {}))
        for parameter in parameters:
            if parameter["name"] == "sort":
                parameter["schema"] = {
                    "type": "string",
                    "enum": [value for name in names for value in (name, f"-{name}")],
                    "default": getattr(view, "default_sort", "name"),
                }
        return parameters


class BlankableEmailFieldExtension(OpenApiSerializerFieldExtension):
    """An email that may be blank is ``""`` or an address, which ``format: email`` alone would refuse.

    A read-only email shows what is stored, and Django stores a user without an address as ``""``.
    """

    target_class = "rest_framework.fields.EmailField"

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        blankable = self.target.allow_blank or self.target.read_only
        if blankable and schema.get("format") == "email":
            # No top-level type: drf-spectacular would add ``format: email`` back from the field's validator.
            email = {"type": schema.pop("type"), "format": schema.pop("format")}
            if self.target.max_length is not None:
                email["maxLength"] = self.target.max_length
            schema["anyOf"] = [email, {"type": "string", "maxLength": 0}]
        return schema


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Documents ``Authorization: Bearer <token>``."""

    target_class = "informer.api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "http", "scheme": "bearer", "description": "An API token from /api/tokens."}
