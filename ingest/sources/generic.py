"""Tocsin's own simple format, for scripts and tools without a module of their own.

The body is one object or a JSON list of them::

    {"summary": "Disk full on db-1", "severity": "critical",
     "dedup_key": "disk-db-1", "status": "firing", "labels": {"host": "db-1"},
     "source": "cron@db-1"}

Only ``summary`` and ``severity`` are required; ``status`` defaults to ``firing``.

- ``labels`` gain ``severity`` from the severity field, unless they already have one.
- ``source`` (the system that raised it) becomes ``Alert.origin``.
- ``dedup_key``: the sender's, else a fingerprint of the sender's own labels, so a summary
  whose text changes ("91% full", "95% full") stays one alert. With no labels, the summary is
  the identity: two alerts with different summaries are two alerts. ``severity`` is never
  part of the identity, so a resolve needs no matching severity.
"""

from datetime import datetime
from typing import Annotated

from pydantic import Field, TypeAdapter

from ingest.config import Integration
from ingest.fingerprint import labels_fingerprint
from ingest.models import MAX_LABELS, Alert, AlertStatus
from ingest.sources.base import MAX_ALERTS, DedupKey, Labels, LongText, Payload, ShortText, validate

_SUMMARY_LABEL = "__summary__"
"""Stands in for the labels when there are none; ``__`` names are reserved in Prometheus, so
no real label set hashes the same."""


class _GenericAlert(Payload):
    summary: LongText = Field(min_length=1)
    severity: ShortText = Field(min_length=1)
    dedup_key: DedupKey | None = None
    status: AlertStatus = AlertStatus.FIRING
    # One place is kept for the severity, which joins them.
    labels: Annotated[Labels, Field(max_length=MAX_LABELS - 1)] = Field(default_factory=dict)
    source: ShortText | None = None


_ONE = TypeAdapter(_GenericAlert)
_MANY = TypeAdapter(Annotated[list[_GenericAlert], Field(max_length=MAX_ALERTS)])


class GenericSource:
    name = "generic"

    def parse(self, body: object, integration: Integration, now: datetime) -> list[Alert]:
        # Chosen by shape rather than as a union, so errors name "[2].summary", not both
        # union branches.
        items = validate(_MANY, body) if isinstance(body, list) else [validate(_ONE, body)]
        return [
            Alert(
                dedup_key=item.dedup_key or _identity(item),
                status=item.status,
                summary=item.summary,
                labels={"severity": item.severity, **item.labels},
                integration=integration.name,
                source=self.name,
                origin=item.source or None,
                received_at=now,
            )
            for item in items
        ]


def _identity(item: _GenericAlert) -> str:
    return labels_fingerprint(item.labels or {_SUMMARY_LABEL: item.summary})
