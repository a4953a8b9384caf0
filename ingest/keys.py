"""Redis keys owned by ingest. Other stages reach them only through ``ingest.stream``."""

ALERT_STREAM = "tocsin:alerts"
"""Every accepted alert, as ``Alert`` JSON in the field ``alert``."""
