"""A generic integration with a ``mapping`` (``ingest.mapping``): the sender's own JSON,
read where the mapping says.

Each alert is built as the generic format builds it: ``severity`` joins the labels unless
they have one; without a dedup key the identity is a fingerprint of the labels, else of the
summary. A firing alert needs a summary; a resolve needs only what identifies it, and is
titled "resolved" when the body gives no summary.

Errors name the place in the body a path leads to (``items[2].monitor.name``), or the
mapping's field (``mapping.summary``) when it is not a single path.
"""

from collections.abc import Mapping as AnyMapping
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated

from pydantic import Field, TypeAdapter, ValidationError

from ingest.config import Integration
from ingest.fingerprint import identity
from ingest.mapping import Mapping, NotText, Path, PathPart, Value
from ingest.models import MAX_LABELS, Alert, AlertStatus
from ingest.sources.base import (
    MAX_ALERTS,
    Annotations,
    DedupKey,
    FieldError,
    Labels,
    LongText,
    Payload,
    PayloadError,
    ShortText,
    field_path,
)

_RESOLVED_TITLE = "resolved"


class _Read(Payload):
    """What the mapping read for one alert, held to the sizes and text rules of every
    payload."""

    summary: LongText | None
    dedup_key: DedupKey | None
    severity: ShortText | None
    labels: Annotated[Labels, Field(max_length=MAX_LABELS - 1)]
    links: Annotations


_READ = TypeAdapter(_Read)


def parse_mapped(
    body: object, mapping: Mapping, integration: Integration, now: datetime
) -> list[Alert]:
    """Raises ``PayloadError`` naming every bad field of every alert."""
    alerts: list[Alert] = []
    errors: list[FieldError] = []
    for loc, item in _items(body, mapping):
        try:
            alerts.append(_alert(item, loc, mapping, integration, now))
        except PayloadError as error:
            errors.extend(error.errors)
    if errors:
        raise PayloadError(errors)
    return alerts


def _items(body: object, mapping: Mapping) -> list[tuple[tuple[PathPart, ...], object]]:
    if isinstance(mapping.alerts, Path):
        found = mapping.alerts.node(body)
        if not isinstance(found, list):
            where = field_path(mapping.alerts.parts)
            raise PayloadError([FieldError(where, "the mapping's alerts: expected a list here")])
        start = mapping.alerts.parts
    elif isinstance(body, list):
        found, start = body, ()
    else:
        return [((), body)]
    if len(found) > MAX_ALERTS:
        raise PayloadError([FieldError(field_path(start), f"more than {MAX_ALERTS} alerts")])
    return [((*start, index), item) for index, item in enumerate(found)]


def _alert(
    item: object,
    loc: tuple[PathPart, ...],
    mapping: Mapping,
    integration: Integration,
    now: datetime,
) -> Alert:
    places: dict[tuple[str, ...], str] = {}
    errors: list[FieldError] = []

    def read(value: Value | None, *field: str) -> str | None:
        if value is None:
            return None
        places[field] = (
            field_path((*loc, *value.parts))
            if isinstance(value, Path)
            else f"{field_path(loc)}: mapping.{'.'.join(field)}".removeprefix("(body): ")
        )
        try:
            return value.read(item)
        except NotText as error:
            errors.append(FieldError(field_path((*loc, *error.path)), str(error)))
            return None

    status_text = read(mapping.status, "status")
    resolved = status_text is not None and status_text in mapping.resolved_values
    fields = {
        "summary": read(mapping.summary, "summary"),
        "dedup_key": read(mapping.dedup_key, "dedup_key"),
        "severity": read(mapping.severity, "severity"),
        "labels": _present({name: read(v, "labels", name) for name, v in mapping.labels.items()}),
        "links": _present({name: read(v, "links", name) for name, v in mapping.links.items()}),
    }
    if errors:
        raise PayloadError(errors)
    try:
        got = _READ.validate_python(fields)
    except ValidationError as error:
        raise PayloadError(
            [_at(places, detail["loc"], detail["msg"]) for detail in error.errors()]
        ) from None
    if not got.summary and not resolved:
        raise PayloadError([FieldError(places[("summary",)], "the summary is absent")])
    if resolved and not (got.dedup_key or got.labels or got.summary):
        message = "a resolve needs what identifies the alert: a dedup key, labels or summary"
        raise PayloadError([FieldError(field_path(loc), message)])
    summary = got.summary or _RESOLVED_TITLE
    labels = got.labels if got.severity is None else {"severity": got.severity, **got.labels}
    return Alert(
        dedup_key=got.dedup_key or identity(got.labels, summary),
        status=AlertStatus.RESOLVED if resolved else AlertStatus.FIRING,
        summary=summary,
        labels=labels,
        annotations=got.links,
        integration=integration.name,
        source=integration.type,
        received_at=now,
    )


def _present(values: AnyMapping[str, str | None]) -> dict[str, str]:
    return {name: value for name, value in values.items() if value}


def _at(places: dict[tuple[str, ...], str], loc: Sequence[str | int], message: str) -> FieldError:
    for length in (2, 1):
        key = tuple(str(part) for part in loc[:length])
        if key in places:
            return FieldError(places[key], message)
    return FieldError(field_path(loc), message)
