"""JSON Schema errors said as the API says everything else: ``data.url: is required.``

jsonschema's own messages speak Python (``'url' is a required property``, ``1 is not of type 'string'``,
``Additional properties are not allowed ('x' was unexpected)``) and name the property inside the sentence
rather than in its path. Here each problem gets the path of the value it is about and a short sentence in
JSON's words; a validator this module does not know keeps jsonschema's message.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, cast

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match

# How a message names each JSON Schema type.
TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "object": "an object",
    "array": "an array",
    "null": "null",
}
_SHOWN_CHARS = 60


def schema_errors(schema: dict[str, Any], data: Any, *, root: str = "data") -> list[str]:
    """Every way ``data`` breaks ``schema``, each as ``<path>: <sentence>``, in path order, without repeats."""
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    messages: list[str] = []
    for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path)):
        for path, text in _problems(error):
            message = f"{root}{path}: {text}"
            if message not in messages:
                messages.append(message)
    return messages


def _path(parts: Iterable[Any]) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in parts)


def _shown(value: Any) -> str:
    """A value as JSON, cut short: a message quotes what was sent without repeating a whole document."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1] + "…"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):  # before int: True is an int in Python
        return TYPE_NAMES["boolean"]
    if isinstance(value, int):
        return TYPE_NAMES["integer"]
    if isinstance(value, float):
        return TYPE_NAMES["number"]
    if isinstance(value, str):
        return TYPE_NAMES["string"]
    return TYPE_NAMES["array"] if isinstance(value, list) else TYPE_NAMES["object"]


def _types(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _problems(error: ValidationError) -> Iterator[tuple[str, str]]:
    """``(path, sentence)`` for one jsonschema error; a missing or unknown property gets a path of its own."""
    path = _path(error.absolute_path)
    # A validator's errors always carry these; the stubs also allow the Unset of an error made by hand.
    kind, expected, value = error.validator, cast(Any, error.validator_value), error.instance
    schema = cast(Mapping[str, Any], error.schema)
    if kind == "required":
        # One error per missing property; each names its own path.
        for name in expected:
            if isinstance(value, dict) and name not in value:
                yield f"{path}.{name}", "is required."
        return
    if kind == "additionalProperties" and expected is False and isinstance(value, dict):
        known = list(schema.get("properties", {}))
        hint = f"; the known properties are: {', '.join(known)}." if known else "; this object takes none."
        if not schema.get("patternProperties"):
            for name in value:
                if name not in known:
                    yield f"{path}.{name}", f"is not a known property{hint}"
            return
    if kind in ("anyOf", "oneOf") and error.context:
        yield from _branch_problems(error)
        return
    yield path, _sentence(kind, expected, value) or error.message.rstrip(".") + "."


def _sentence(kind: Any, expected: Any, value: Any) -> str | None:
    """The sentence for a validator about the value itself, or None for one this module does not know."""
    match kind:
        case "type":
            wanted = " or ".join(TYPE_NAMES.get(name, name) for name in _types(expected))
            return f"must be {wanted}, not {_json_type(value)}."
        case "enum":
            return f"{_shown(value)} is not one of: {', '.join(_shown(item) for item in expected)}."
        case "const":
            return f"must be {_shown(expected)}."
        case "minLength":
            return (
                "must not be empty."
                if expected == 1
                else f"must be at least {_plural(expected, 'character', 'characters')} long."
            )
        case "maxLength":
            return f"must be at most {_plural(expected, 'character', 'characters')} long."
        case "minItems":
            return (
                "must not be empty." if expected == 1 else f"must have at least {_plural(expected, 'item', 'items')}."
            )
        case "maxItems":
            return f"must have at most {_plural(expected, 'item', 'items')}."
        case "uniqueItems":
            return "must not list the same item twice."
        case "minimum":
            return f"must be at least {expected}, not {_shown(value)}."
        case "maximum":
            return f"must be at most {expected}, not {_shown(value)}."
        case "exclusiveMinimum":
            return f"must be greater than {expected}, not {_shown(value)}."
        case "exclusiveMaximum":
            return f"must be less than {expected}, not {_shown(value)}."
        case "format":
            return f"{_shown(value)} is not a valid {expected}."
        case "pattern":
            return f"{_shown(value)} does not match the pattern {expected}."
    return None


def _branch_problems(error: ValidationError) -> Iterator[tuple[str, str]]:
    """Why a value matches no ``anyOf``/``oneOf`` branch: its own type's branch's problems, or the types allowed."""
    branches = cast(list[dict[str, Any]], error.validator_value)
    path = _path(error.absolute_path)
    if all(set(branch) == {"required"} for branch in branches):
        names = [name for branch in branches for name in branch["required"]]
        yield path, f"needs one of: {', '.join(names)}."
        return
    is_type = Draft202012Validator.TYPE_CHECKER.is_type
    fitting = [
        index
        for index, branch in enumerate(branches)
        if "type" not in branch or any(is_type(error.instance, name) for name in _types(branch["type"]))
    ]
    if not fitting:
        types = dict.fromkeys(name for branch in branches for name in _types(branch["type"]))
        wanted = " or ".join(TYPE_NAMES.get(name, name) for name in types)
        yield path, f"must be {wanted}, not {_json_type(error.instance)}."
        return
    if len(fitting) == 1:
        # A string where a string or a list is allowed: what is wrong with it as a string, not as a list.
        for sub in error.context:
            if sub.relative_schema_path and sub.relative_schema_path[0] == fitting[0]:
                yield from _problems(sub)
        return
    best = best_match(error.context)
    if best is None:
        yield path, error.message.rstrip(".") + "."
    else:
        yield from _problems(best)
