"""What every driver is: an id, a name, a description and a JSON Schema for its ``data``."""

from __future__ import annotations

from typing import Any, ClassVar

from jsonschema import Draft202012Validator, FormatChecker


class Driver:
    """A registered kind of job, action or attachment."""

    id: ClassVar[str]
    name: ClassVar[str]
    description: ClassVar[str]
    schema: ClassVar[dict[str, Any]] = {"type": "object", "additionalProperties": False, "properties": {}}

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """The driver as the API lists it."""
        return {"id": cls.id, "name": cls.name, "description": cls.description, "schema": cls.schema}

    @classmethod
    def validation_errors(cls, data: Any) -> list[str]:
        """Readable messages for every way ``data`` breaks the schema, each prefixed by its path."""
        validator = Draft202012Validator(cls.schema, format_checker=FormatChecker())
        messages = []
        for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path)):
            path = "".join(
                f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path
            )
            messages.append(f"data{path}: {error.message}")
        return messages
