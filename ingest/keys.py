"""Redis keys owned by ingest. Other stages reach them only through ``ingest.stream``."""

ALERT_STREAM = "tocsin:alerts"
"""Every accepted alert, as ``Alert`` JSON in the field ``alert``."""

PREFIX = "tocsin:ingest:"

HEARTBEAT_PINGS = f"{PREFIX}heartbeats:pings"
"""Sorted set: heartbeat name -> its last ping (Unix ms), or when the service first saw it
configured (``ingest.heartbeat_store``)."""
HEARTBEAT_MISSED = f"{PREFIX}heartbeats:missed"
"""Hash: heartbeat name -> when it was found missed (Unix ms), while its alert fires."""


def rate_bucket(integration: str) -> str:
    """Hash ``tokens``, ``at`` (ms): the integration's token bucket (``ingest.ratelimit``),
    shared by every web process; it expires once it would be full again."""
    return f"{PREFIX}rate:{integration}"


def change_log(integration: str) -> str:
    """Stream of the integration's latest change events (``ingest.changes``), capped."""
    return f"{PREFIX}changes:{integration}"


def trigger(integration: str, dedup_key: str) -> str:
    """The labels and summary of the last trigger of a PagerDuty alert (``ingest.triggers``),
    for its acknowledge and resolve, which carry only the dedup key."""
    return f"{PREFIX}trigger:{integration}:{dedup_key}"
