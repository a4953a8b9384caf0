"""What every source module shares: the ``Source`` protocol, field errors, and the lenient
base for payload models of outside tools.

Text rules for every payload (documented once, here, for all sources):

- A JSON number where text is expected is taken as its text (``8080`` -> ``"8080"``,
  ``0.5`` -> ``"0.5"``): senders templating labels from metrics do this, and there is one
  obvious reading. Python reads the number first, so ``1e3`` becomes ``"1000.0"``.
- ``true``/``false``, ``null``, objects and arrays where text is expected are field errors:
  a bool has no single spelling (``true``, ``True``, ``1``) that route rules could rely on.
- Text containing a lone UTF-16 surrogate (JSON allows the escape ``"\\ud800"``) is a field
  error: it cannot be stored as UTF-8.
- Fields a source does not use are ignored, so tools may add fields without breaking us.
"""

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Protocol, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from ingest.config import Integration
from ingest.models import Alert

T = TypeVar("T")

ROOT_FIELD = "(body)"
"""The ``field`` of an error about the body as a whole (for instance, not an object)."""

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DICT_KEY_MARKER = "[key]"
"""Pydantic's last ``loc`` element when a dict key, not its value, is invalid."""


@dataclass(frozen=True)
class FieldError:
    field: str
    """Where in the body, e.g. ``alerts[0].labels.severity`` or ``[2].summary``."""
    message: str


class PayloadError(Exception):
    """The body is JSON but not the source's format; ``errors`` names every bad field."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(f"{len(errors)} invalid field(s)")
        self.errors = errors


class Source(Protocol):
    """One monitoring tool's webhook format."""

    name: str
    """The ``type`` of integrations that use it, and the ``{source}`` in the webhook URL."""

    def parse(self, body: object, integration: Integration, now: datetime) -> list[Alert]:
        """Normalize a decoded JSON body, received at ``now``, to alerts. Pure: no I/O.

        Raises ``PayloadError`` naming every bad field; never another exception.
        """
        ...


def _valid_unicode(text: str) -> str:
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("must be Unicode text, not a lone UTF-16 surrogate") from None
    return text


Text = Annotated[str, AfterValidator(_valid_unicode)]
"""Every string in a payload model: text that can be stored (see the module docstring)."""

DedupKey = Annotated[Text, Field(max_length=512)]
"""A sender-given identity, bounded like ``Alert.dedup_key``. Empty counts as not given: it is
what a template with an unset variable sends."""


class Payload(BaseModel):
    """Base of payload models for outside tools: lenient, as the module docstring says."""

    model_config = ConfigDict(extra="ignore", frozen=True, coerce_numbers_to_str=True)


def validate(adapter: TypeAdapter[T], body: object) -> T:
    """``adapter.validate_python(body)``, with every failure as a ``FieldError``."""
    try:
        return adapter.validate_python(body)
    except ValidationError as error:
        raise PayloadError(
            [
                FieldError(field_path(detail["loc"]), detail["msg"])
                for detail in error.errors(include_url=False, include_context=False)
            ]
        ) from None


def field_path(loc: Sequence[str | int]) -> str:
    """``("alerts", 0, "labels", "app.kubernetes.io/name")`` ->
    ``alerts[0].labels["app.kubernetes.io/name"]``; keys that are not identifiers are quoted
    so the path stays unambiguous."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part == _DICT_KEY_MARKER:
            continue  # the path already ends at the key, and the message says what is wrong
        elif _IDENTIFIER.fullmatch(part):
            path += f".{part}" if path else part
        else:
            path += f"[{json.dumps(part, ensure_ascii=False)}]"
    return path or ROOT_FIELD
