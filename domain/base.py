"""The base of every message: control characters refused, unknown fields refused, the actor."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, GetJsonSchemaHandler, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from domain.codes import Role

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

#: The same rule as a JSON-schema `pattern` (ECMA-262 and Python alike), for the OpenAPI document.
NO_CONTROL_PATTERN = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f]*$"


def refuse_control_characters(schema: Any) -> None:
    """Add NO_CONTROL_PATTERN to every free-text string in a JSON schema (in place): plain
    strings, nullable ones, list items and map values; `$ref`s are left to their own model."""
    if not isinstance(schema, dict) or "$ref" in schema:
        return
    if schema.get("type") == "string" and not ({"enum", "const", "format"} & schema.keys()):
        if "pattern" not in schema:
            schema["pattern"] = NO_CONTROL_PATTERN
        elif schema["pattern"] != NO_CONTROL_PATTERN:
            schema.setdefault("allOf", []).append({"pattern": NO_CONTROL_PATTERN})
    for key in ("anyOf", "oneOf"):
        for sub in schema.get(key, ()):
            refuse_control_characters(sub)
    for key in ("items", "additionalProperties"):
        refuse_control_characters(schema.get(key))
    for sub in schema.get("properties", {}).values():
        refuse_control_characters(sub)


def control_character_in(text: str) -> bool:
    """Whether `text` holds a character TextGuard refuses."""
    return _CONTROL.search(text) is not None


def _find_control_character(value: Any, path: str) -> str | None:
    if isinstance(value, str):
        m = _CONTROL.search(value)
        return f"{path or 'input'}: control character U+{ord(m.group()):04X} is not allowed" if m else None
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = _find_control_character(item, f"{path}.{key}" if path else str(key))
        if found:
            return found
    return None


class TextGuard(BaseModel):
    """Refuses control characters anywhere in the input, naming the field."""

    @model_validator(mode="before")
    @classmethod
    def _no_control_characters(cls, data: Any) -> Any:
        problem = _find_control_character(data, "") if isinstance(data, dict) else None
        if problem:
            raise ValueError(problem)
        return data

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """The JSON schema states the rule: every text field refuses control characters."""
        schema = handler(core_schema)
        refuse_control_characters(handler.resolve_ref_schema(schema))
        return schema


class Model(TextGuard):
    """Base for every message: unknown fields are refused, so a typo is an error, not a no-op."""

    model_config = ConfigDict(extra="forbid")


class Actor(Model):
    """Who performs an action: a staff id (never a complainant's identity) and a role."""

    id: str = Field(min_length=1, max_length=100, examples=["handler-01"])
    role: Role
    unit: str | None = Field(default=None, description="Unit code, for handling-unit users.")
