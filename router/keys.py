"""Redis keys owned by the router. Other stages use ``router.store`` and ``router.events``."""

PREFIX = "tocsin:router:"

INCIDENT_SEQ = PREFIX + "incident-seq"
"""Counter behind incident ids."""
INCIDENT_INDEX = PREFIX + "incidents"
"""Sorted set of incident ids scored by creation time (ms). Members are the ids zero-padded
to 20 digits, so equal scores order by id; read them only through ``router.store``."""
EVENT_STREAM = PREFIX + "events"
"""``IncidentEvent`` entries for the notifier."""
DEAD_LETTERS = PREFIX + "dead-letters"
"""Alert entries the router could not apply (``ingest.deadletters``)."""
CONSUMER_GROUP = "router"
"""The router's consumer group on ingest's alert stream."""


def incident(incident_id: str) -> str:
    """The incident document (JSON)."""
    return f"{PREFIX}incident:{incident_id}"


def open_group(group_key: str) -> str:
    """Id of the open (not resolved) incident of a route's group, while there is one."""
    return f"{PREFIX}open:{group_key}"


def applied(delivery_id: str) -> str:
    """Marks a stream entry whose effect is stored, so a redelivery changes nothing."""
    return f"{PREFIX}applied:{delivery_id}"


def ended_episode(dedup_key: str) -> str:
    """Start time of the alert's last firing episode that was resolved."""
    return f"{PREFIX}ended:{dedup_key}"
