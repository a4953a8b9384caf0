"""Where a generic integration's ``mapping`` finds an alert's fields in a body of the
sender's own shape, and reading them out. Pure: no I/O.

A value is one of a small fixed set, so a mapping stays readable and is checked at load:

- a path, dotted with list indexes: ``data.alert.name``, ``items[0].id``, ``[0].id``
  (a body that is a list); a key holding a dot or bracket cannot be reached;
- ``{value: TEXT}``: a literal;
- ``{join: [VALUE, ...], with: " "}``: the parts that are present, joined;
- ``{first: [VALUE, ...]}``: the first part that is present.

A path reads a JSON string as is, a number as its text, ``true``/``false`` as those words
(JSON spells them one way); ``null``, a missing key or an index past the end is absent.
An object or a list where text is wanted is an error naming the path.
"""

import re
from collections.abc import Sequence
from typing import Annotated, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
)

PathPart = str | int
_PART = re.compile(r"\.?([^.\[\]]+)|\[(\d+)\]")

MAX_PATH_PARTS = 32


class NotText(Exception):
    """A path led to an object or a list; ``path`` is where, as the body has it."""

    def __init__(self, path: tuple[PathPart, ...], kind: str) -> None:
        super().__init__(f"expected text or a number, found {kind}")
        self.path = path


def parse_path(text: str) -> tuple[PathPart, ...]:
    """``"items[0].id"`` -> ``("items", 0, "id")``; ``ValueError`` says what is wrong."""
    parts: list[PathPart] = []
    position = 0
    while position < len(text):
        found = _PART.match(text, position)
        if found is None or (found.group(0).startswith(".") and position == 0):
            raise ValueError(
                f"invalid path {text!r} at character {position + 1}: write keys joined by "
                "dots and list indexes in brackets, e.g. data.alerts[0].name"
            )
        name, index = found.groups()
        if name is not None and position > 0 and not found.group(0).startswith("."):
            raise ValueError(f"invalid path {text!r}: a key after an index needs a dot")
        parts.append(name if name is not None else int(index))
        position = found.end()
    if not parts:
        raise ValueError("a path cannot be empty")
    if len(parts) > MAX_PATH_PARTS:
        raise ValueError(f"a path has at most {MAX_PATH_PARTS} parts")
    return tuple(parts)


def _a_path(value: object) -> object:
    if isinstance(value, str):
        return Path(parts=parse_path(value))
    return value


class Path(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    parts: tuple[PathPart, ...]

    def node(self, body: object) -> object:
        """What the path leads to in ``body``, ``None`` if nothing."""
        node = body
        for part in self.parts:
            if isinstance(node, dict) and isinstance(part, str):
                node = node.get(part)
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                node = node[part]
            else:
                return None
        return node

    def read(self, body: object) -> str | None:
        return _text(self.node(body), self.parts)


class Literal(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    value: str

    @field_validator("value", mode="before")
    @classmethod
    def _scalar_as_text(cls, value: object) -> object:
        # YAML reads `value: 2` as a number; the operator meant the text.
        return _text(value, ()) if isinstance(value, int | float) else value

    def read(self, body: object) -> str | None:
        return self.value


class Join(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    join: Annotated[list["Value"], Field(min_length=1)]
    separator: str = Field(default=" ", alias="with")

    def read(self, body: object) -> str | None:
        parts = [text for part in self.join if (text := part.read(body))]
        return self.separator.join(parts) or None


class First(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    first: Annotated[list["Value"], Field(min_length=1)]

    def read(self, body: object) -> str | None:
        return next((text for part in self.first if (text := part.read(body))), None)


def _kind(value: object) -> str | None:
    # Chosen by its key, so a mistake is told once in the words of the form meant, not
    # once per form it is not.
    if isinstance(value, BaseModel):
        return type(value).__name__
    if isinstance(value, dict):
        return next((kind for key, kind in _KEYS.items() if key in value), None)
    return None


_KEYS = {"value": "Literal", "join": "Join", "first": "First", "parts": "Path"}

Value = Annotated[
    Union[  # noqa: UP007
        Annotated[Path, Tag("Path")],
        Annotated[Literal, Tag("Literal")],
        Annotated[Join, Tag("Join")],
        Annotated[First, Tag("First")],
    ],
    Discriminator(
        _kind,
        custom_error_type="invalid_value",
        custom_error_message="write a path (a.b[0].c), {value: TEXT}, {join: [...]} or "
        "{first: [...]}",
    ),
    BeforeValidator(_a_path),
]
"""Written as a path string or one of the small objects the module docstring lists."""


class Mapping(BaseModel):
    """The ``mapping:`` of a generic integration: where each field of an alert is."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    alerts: Value | None = None
    """A path to a list in the body; each item is one alert and the other paths start at
    it. Unset: a body that is a list is one alert per item, else the body is one alert."""
    summary: Value
    dedup_key: Value | None = None
    """Unset or absent: a fingerprint of the labels, else of the summary."""
    status: Value | None = None
    resolved_values: Annotated[list[str], Field(min_length=1)] = ["resolved"]
    """Values of ``status`` that mean resolved; any other value, or none, is firing."""
    severity: Value | None = None
    labels: dict[str, Value] = Field(default_factory=dict)
    links: dict[str, Value] = Field(default_factory=dict)
    """Kept as annotations of the alert (``runbook_url``, ``dashboard``...)."""

    @field_validator("alerts", mode="after")
    @classmethod
    def _only_a_path(cls, value: object) -> object:
        if value is not None and not isinstance(value, Path):
            raise ValueError("alerts is a path to a list in the body")
        return value

    @field_validator("resolved_values", mode="before")
    @classmethod
    def _values_as_text(cls, value: object) -> object:
        # Uptime Kuma's status is 0 or 1: YAML reads `[1]` as numbers.
        if isinstance(value, list):
            return [_text(v, ()) if isinstance(v, int | float) else v for v in value]
        return value


def _text(node: object, path: Sequence[PathPart]) -> str | None:
    if node is None:
        return None
    if isinstance(node, bool):
        return "true" if node else "false"
    if isinstance(node, str | int | float):
        return str(node)
    raise NotText(tuple(path), "an object" if isinstance(node, dict) else "a list")
