"""Redis keys owned by ingest. Other stages reach them only through ``ingest.stream``."""

ALERT_STREAM = "tocsin:alerts"
"""Every accepted alert, as ``Alert`` JSON in the field ``alert``."""

PREFIX = "tocsin:ingest:"

HEARTBEAT_PINGS = f"{PREFIX}heartbeats:pings"
"""Sorted set: heartbeat name -> its last ping (Unix ms), or when the service first saw it
configured (``ingest.heartbeat_store``)."""
HEARTBEAT_MISSED = f"{PREFIX}heartbeats:missed"
"""Hash: heartbeat name -> when it was found missed (Unix ms), while its alert fires."""
