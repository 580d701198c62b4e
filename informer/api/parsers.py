"""Request body parsers: DRF's own, refusing JSON nested deeper than ``INFORMER_JSON_MAX_DEPTH`` levels.

Python's JSON decoder recurses once per array or object: about a thousand levels raise RecursionError,
which would be a 500. The text is measured before it is decoded, so a deep body is a 400 in the error
shape, and nothing deeper than the limit ever reaches a serializer, the database or a renderer.

A ``\\uD800``-``\\uDFFF`` escape not paired into one character decodes to a lone surrogate, which no UTF-8
text can hold: a database, a source's driver or the renderer of an answer echoing it would fail on it
(a 500). Such a body is refused as malformed, naming where the surrogate is.
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

__all__ = [
    "FormParser",
    "JSONParser",
    "JsonLoneSurrogate",
    "JsonTooDeep",
    "MultiPartParser",
    "json_depth",
    "loads",
    "max_depth",
]

DEFAULT_MAX_DEPTH = 64
# A JSON string, escapes included: brackets inside one are text, not structure.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
# The only way a surrogate reaches decoded text: an escape of one (UTF-8 itself cannot encode them).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_SURROGATE = re.compile("[\ud800-\udfff]")


class JsonTooDeep(ValueError):
    """A JSON text nests arrays and objects deeper than the limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit

    def __str__(self) -> str:
        return f"The JSON is nested more than {self.limit} levels deep."


class JsonLoneSurrogate(ValueError):
    """A JSON text holds a lone surrogate escape (at ``path``, a dotted path; empty for the top level)."""

    def __init__(self, path: str, code_point: int) -> None:
        super().__init__(path, code_point)
        self.path = path
        self.code_point = code_point

    @property
    def reason(self) -> str:
        return f"U+{self.code_point:04X} is a lone surrogate escape, not a character."

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}" if self.path else self.reason


def _lone_surrogate(value: Any, path: str = "") -> JsonLoneSurrogate | None:
    """The first lone surrogate in a decoded JSON value's strings or keys, or None."""
    if isinstance(value, str):
        found = _SURROGATE.search(value)
        return JsonLoneSurrogate(path, ord(found.group())) if found else None
    if isinstance(value, dict):
        for key, item in value.items():
            # A key holding one cannot be shown in the path: the object that has it is named instead.
            found_in = _lone_surrogate(key, path) or _lone_surrogate(item, f"{path}.{key}" if path else key)
            if found_in:
                return found_in
    if isinstance(value, list):
        for index, item in enumerate(value):
            found_in = _lone_surrogate(item, f"{path}[{index}]")
            if found_in:
                return found_in
    return None


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
    """``json.loads`` for text from a request: JsonTooDeep past the depth limit, JsonLoneSurrogate for a lone
    surrogate escape, ValueError if malformed."""
    limit = max_depth()
    if json_depth(text, limit) > limit:
        raise JsonTooDeep(limit)
    value = json.loads(text, parse_constant=json.strict_constant if strict else None)
    # Only text with a surrogate escape is walked (a pair of them makes one character, which is fine).
    if _SURROGATE_ESCAPE.search(text):
        found = _lone_surrogate(value)
        if found:
            raise found
    return value


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser with the depth limit; a deep body is a 400 like a malformed one."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        # DRF's own check that the charset is a text encoding; the stubs do not list it yet.
        encoding = parsers.get_encoding(parser_context or {})  # type: ignore[attr-defined]
        try:
            return loads(codecs.getreader(encoding)(stream).read(), strict=self.strict)
        except JsonTooDeep as error:
            raise ParseError(f"The JSON body is nested more than {error.limit} levels deep.") from None
        except JsonLoneSurrogate as error:
            reason = f"JSON parse error - {error.reason}"
            raise ParseError({error.path: [reason]} if error.path else reason) from None
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
