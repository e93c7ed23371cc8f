"""The base of every message: control characters refused, unknown fields refused, the actor."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.codes import Role

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


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


class Model(TextGuard):
    """Base for every message: unknown fields are refused, so a typo is an error, not a no-op."""

    model_config = ConfigDict(extra="forbid")


class Actor(Model):
    """Who performs an action: a staff id (never a complainant's identity) and a role."""

    id: str = Field(min_length=1, max_length=100, examples=["handler-01"])
    role: Role
    unit: str | None = Field(default=None, description="Unit code, for handling-unit users.")
