"""What every source module shares: the ``Source`` protocol, field errors, and the lenient
base for payload models of outside tools.

Text rules for every payload (documented once, here, for all sources):

- A JSON number where text is expected is taken as its text (``8080`` -> ``"8080"``,
  ``0.5`` -> ``"0.5"``): senders templating labels from metrics do this, and there is one
  obvious reading. Python reads the number first, so ``1e3`` becomes ``"1000.0"``. A number
  beyond a 64-bit float (``1e400``) reads as infinity, which is not what was sent: a field
  error.
- ``true``/``false``, ``null``, objects and arrays where text is expected are field errors:
  a bool has no single spelling (``true``, ``True``, ``1``) that route rules could rely on.
- Text containing a lone UTF-16 surrogate (JSON allows the escape ``"\\ud800"``) is a field
  error: it cannot be stored as UTF-8.
- A summary is one line: line breaks become spaces (it is an incident's title and a mail's
  subject).
- Fields a source does not use are ignored, so tools may add fields without breaking us.

Times (``Timestamp``) carry a UTC offset and must be a time that exists in UTC: Python's
calendar ends at 9999-12-31 UTC, so ``9999-12-31T23:59:59-05:00`` is a field error. They
are stored in UTC.

Sizes, in characters (not bytes). Real tools stay far below them, and the body limit of the
webhook (``ingest.web.MAX_BODY_BYTES``) usually binds first; they hold whatever that limit
is, so no one alert costs the router and the notifier more than this:

- alerts per request: ``MAX_ALERTS`` (10,000);
- labels per alert, and annotations per alert: ``MAX_LABELS`` (1,000); the generic source
  adds the severity to the sender's labels, so it takes one fewer;
- label and annotation names: ``MAX_NAME`` (1,024);
- label values, URLs, origins and severities: ``MAX_SHORT_TEXT`` (16,384); Kubernetes
  stops label values at 63, but people put URLs and queries in labels;
- summaries and annotation values: ``MAX_LONG_TEXT`` (65,536); an Alertmanager
  description can run to a few KB;
- dedup keys and fingerprints: ``MAX_DEDUP_KEY`` (512).

Payload models use the field types of ``Alert`` (``ingest.models``) with these rules added,
so whatever a payload model accepts makes an ``Alert``.
"""

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Protocol, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError

from ingest import models
from ingest.config import Integration
from ingest.models import MAX_LABELS, Alert, AlertStatus

T = TypeVar("T")

ROOT_FIELD = "(body)"
"""The ``field`` of an error about the body as a whole (for instance, not an object)."""

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SHOWN_KEY_CHARS = 64
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


def _finite(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be text, or a number within the range of a 64-bit float")
    return value


_FINITE = BeforeValidator(_finite)
ShortText = Annotated[models.ShortText, _FINITE]
LongText = Annotated[models.LongText, _FINITE]
DedupKey = Annotated[models.DedupKey, _FINITE]
"""A sender-given identity. Empty counts as not given: it is what a template with an unset
variable sends."""
Labels = Annotated[dict[models.Name, ShortText], Field(max_length=MAX_LABELS)]
Annotations = Annotated[dict[models.Name, LongText], Field(max_length=MAX_LABELS)]
Timestamp = models.UtcTime
"""RFC 3339 text with an offset (or a Unix time, as pydantic reads numbers), as the module
docstring says."""

MAX_ALERTS = 10_000


class SentStatus(StrEnum):
    """The statuses a monitoring tool sends of an alert; ``AlertStatus.ACKNOWLEDGED`` comes
    only from a source that has such an action (PagerDuty's)."""

    FIRING = AlertStatus.FIRING.value
    RESOLVED = AlertStatus.RESOLVED.value


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
    so the path stays unambiguous. A long key is cut to its first characters and an ellipsis,
    so an answer does not repeat a sender's megabyte."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part == _DICT_KEY_MARKER:
            continue  # the path already ends at the key, and the message says what is wrong
        elif len(part) > _SHOWN_KEY_CHARS:
            path += f"[{json.dumps(part[:_SHOWN_KEY_CHARS] + '…', ensure_ascii=False)}]"
        elif _IDENTIFIER.fullmatch(part):
            path += f".{part}" if path else part
        else:
            path += f"[{json.dumps(part, ensure_ascii=False)}]"
    return path or ROOT_FIELD
