"""The fields a connector asks for to create a customer (`create_fields`), and their checking.

Declared per connector in config::

    create_fields = [
        { name = "name", label = "Name", type = "text", required = true },
        { name = "email", label = "E-mail", type = "email" },
        { name = "tier", label = "Tier", type = "choice", choices = ["gold", "silver"] },
    ]

Types: `text`, `email`, `phone`, `number`, `choice` (with `choices`). :func:`check_values` is
sans-I/O: it turns what an agent sent into the values a connector receives (text stripped, a
number as an int or a float, an absent optional field as ""), or raises :class:`FieldError`
naming the field.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

FieldType = Literal["text", "email", "phone", "number", "choice"]
MAX_LENGTH = 500
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\+?[0-9 ().-]{3,30}")
RESERVED = frozenset({"e164", "national", "digits", "national_digits", "agent", "call_id"})


class FieldError(ValueError):
    """A value an agent sent for a create field is missing or wrong; `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class CreateField(BaseModel):
    """One field of a connector's create form."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    label: str = ""
    type: FieldType = "text"
    required: bool = False
    choices: list[str] = []

    @model_validator(mode="after")
    def _consistent(self) -> CreateField:
        if self.name in RESERVED:
            raise ValueError("the name is reserved (the query has it already)")
        if self.type == "choice" and not self.choices:
            raise ValueError("a choice needs `choices`")
        if self.type != "choice" and self.choices:
            raise ValueError('`choices` only go with type = "choice"')
        return self

    def to_json(self) -> dict[str, Any]:
        """The field as the agent page builds its input."""
        out: dict[str, Any] = {
            "name": self.name,
            "label": self.label or self.name,
            "type": self.type,
            "required": self.required,
        }
        if self.choices:
            out["choices"] = list(self.choices)
        return out


def parse_declared(raw: object, connector: str) -> list[CreateField]:
    """`create_fields` from the config, or a ValueError naming the connector and the field."""
    if not isinstance(raw, list):
        raise ValueError(f"connector {connector!r}: create_fields must be a list of tables")
    fields: list[CreateField] = []
    for index, item in enumerate(raw):
        name = item.get("name") if isinstance(item, Mapping) else None
        where = f"connector {connector!r}, create field {name or index!r}"
        try:
            field = item if isinstance(item, CreateField) else CreateField.model_validate(item)
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            key = ".".join(str(p) for p in err["loc"])
            msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            msg = msg.removeprefix("Value error, ")
            raise ValueError(f"{where}: {key + ': ' if key else ''}{msg}") from None
        if any(f.name == field.name for f in fields):
            raise ValueError(f"{where}: declared twice")
        fields.append(field)
    return fields


def check_values(fields: Sequence[CreateField], values: object) -> dict[str, Any]:
    """The values for `fields` from what the agent sent, or FieldError naming the field."""
    if not isinstance(values, Mapping):
        raise FieldError("fields", "must be an object of field values")
    declared = {f.name for f in fields}
    for key in values:
        if key not in declared:
            raise FieldError(str(key), "not a field of this form")
    return {f.name: _one(f, values.get(f.name)) for f in fields}


def _one(field: CreateField, raw: object) -> Any:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if field.required:
            raise FieldError(field.name, "required")
        return ""
    if field.type == "number":
        return _number(field.name, raw)
    if not isinstance(raw, str):
        raise FieldError(field.name, "must be text")
    value = raw.strip()
    if len(value) > MAX_LENGTH:
        raise FieldError(field.name, f"at most {MAX_LENGTH} characters")
    if field.type == "email" and not _EMAIL.fullmatch(value):
        raise FieldError(field.name, "not an e-mail address")
    if field.type == "phone" and not _PHONE.fullmatch(value):
        raise FieldError(field.name, "not a phone number")
    if field.type == "choice" and value not in field.choices:
        raise FieldError(field.name, f"one of {', '.join(field.choices)}")
    return value


def _number(name: str, raw: object) -> int | float:
    if isinstance(raw, bool):
        raise FieldError(name, "not a number")
    if isinstance(raw, int | float):
        value: float = raw
    elif isinstance(raw, str):
        try:
            value = float(raw.strip())
        except ValueError:
            raise FieldError(name, "not a number") from None
    else:
        raise FieldError(name, "not a number")
    if not math.isfinite(value):
        raise FieldError(name, "not a number")
    return int(value) if float(value).is_integer() else value
