"""Request body parsers: DRF's own, refusing JSON nested deeper than ``INFORMER_JSON_MAX_DEPTH`` levels.

Python's JSON decoder recurses once per array or object: about a thousand levels raise RecursionError,
which would be a 500. The text is measured before it is decoded, so a deep body is a 400 in the error
shape, and nothing deeper than the limit ever reaches a serializer, the database or a renderer.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.http import QueryDict
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils import json

if TYPE_CHECKING:
    from django.http.request import _ImmutableQueryDict

__all__ = ["FormParser", "JSONParser", "JsonTooDeep", "MultiPartParser", "json_depth", "loads", "max_depth"]

DEFAULT_MAX_DEPTH = 64
# A JSON string, escapes included: brackets inside one are text, not structure.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


class JsonTooDeep(ValueError):
    """A JSON text nests arrays and objects deeper than the limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit

    def __str__(self) -> str:
        return f"The JSON is nested more than {self.limit} levels deep."


def max_depth() -> int:
    """How many levels of arrays and objects a JSON value may nest (the top level counts as one)."""
    return getattr(settings, "INFORMER_JSON_MAX_DEPTH", DEFAULT_MAX_DEPTH)


def json_depth(text: str, stop: int | None = None) -> int:
    """How deeply arrays and objects nest in ``text`` (0 for a scalar), counting no further than ``stop + 1``."""
    depth = deepest = 0
    for bracket in _NOT_BRACKET.sub("", _STRING.sub("", text)):
        if bracket in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if stop is not None and deepest > stop:
                    break
        else:
            depth -= 1
    return deepest


def loads(text: str, *, strict: bool = True) -> Any:
    """``json.loads`` for text from a request: JsonTooDeep past the depth limit, ValueError if malformed."""
    limit = max_depth()
    if json_depth(text, limit) > limit:
        raise JsonTooDeep(limit)
    return json.loads(text, parse_constant=json.strict_constant if strict else None)


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser with the depth limit; a deep body is a 400 like a malformed one."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        # DRF's own check that the charset is a text encoding; the stubs do not list it yet.
        encoding = parsers.get_encoding(parser_context or {})  # type: ignore[attr-defined]
        try:
            return loads(codecs.getreader(encoding)(stream).read(), strict=self.strict)
        except JsonTooDeep as error:
            raise ParseError(f"The JSON body is nested more than {error.limit} levels deep.") from None
        except ValueError as error:  # a JSONDecodeError or a UnicodeDecodeError, as DRF words them
            raise ParseError(f"JSON parse error - {error}") from None


def _refuse_deep_fields(data: QueryDict) -> None:
    """A form field that a JSONField would decode may not nest deeper than JSON bodies may."""
    limit = max_depth()
    for key, values in data.lists():
        for value in values:
            # A JSON decoder only recurses into text that starts with a bracket: plain text is left alone.
            if isinstance(value, str) and value.lstrip()[:1] in ("[", "{") and json_depth(value, limit) > limit:
                raise ParseError({key: [f"The JSON in '{key}' is nested more than {limit} levels deep."]})


class FormParser(parsers.FormParser):
    """DRF's form parser; a field holding JSON nested past the limit is a 400 naming the field."""

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> _ImmutableQueryDict:
        data = super().parse(stream, media_type, parser_context)
        _refuse_deep_fields(data)
        return data


class MultiPartParser(parsers.MultiPartParser):
    """DRF's multipart parser (browsable API forms, uploads) with the same check of its text fields."""

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> parsers.DataAndFiles:
        result = super().parse(stream, media_type, parser_context)
        _refuse_deep_fields(result.data)
        return result
