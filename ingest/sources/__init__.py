"""One module per monitoring tool's webhook format, and the registry of them by name."""

from collections.abc import Mapping

from ingest.sources.alertmanager import AlertmanagerSource
from ingest.sources.base import FieldError, PayloadError, Source
from ingest.sources.datadog import DatadogSource
from ingest.sources.generic import GenericSource
from ingest.sources.grafana import GrafanaSource
from ingest.sources.pagerduty import PagerDutySource

SOURCES: Mapping[str, Source] = {
    source.name: source
    for source in (
        AlertmanagerSource(),
        GenericSource(),
        GrafanaSource(),
        DatadogSource(),
        PagerDutySource(),
    )
}
"""Keyed by ``Source.name``, which is ``Integration.type``."""

__all__ = ["SOURCES", "FieldError", "PayloadError", "Source"]
