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
SILENCES = PREFIX + "silences"
"""Hash of silence id -> ``Silence`` JSON."""
CONSUMER_GROUP = "router"
"""The router's consumer group on ingest's alert stream."""


def incident(incident_id: str) -> str:
    """The incident's head (JSON): status, severity, counts. Its alerts and its story are
    kept in the keys below, so a change to one alert touches only what it needs.
    ``router/incident.lua`` and the scripts after it build these names from ``PREFIX`` too."""
    return f"{PREFIX}incident:{incident_id}"


def incident_alerts(incident_id: str) -> str:
    """Hash of the incident's alerts: dedup key -> ``AlertRecord`` JSON."""
    return f"{PREFIX}incident:{incident_id}:alerts"


def incident_order(incident_id: str) -> str:
    """Sorted set of the incident's dedup keys in reading order: firing ones first (their
    score is last seen, in ms, plus 2**42), then resolved ones, most recent first."""
    return f"{PREFIX}incident:{incident_id}:order"


def incident_timeline(incident_id: str) -> str:
    """List of the incident's ``TimelineEvent`` JSON, oldest first."""
    return f"{PREFIX}incident:{incident_id}:timeline"


def open_group(group_key: str) -> str:
    """Id of the open (not resolved) incident of a route's group, while there is one."""
    return f"{PREFIX}open:{group_key}"


def recent_group(group_key: str) -> str:
    """``<id> <ms>``: the group's incident its alerts resolved, and when (alert time), for
    the route's reopen window: the group firing again meanwhile reopens it. Not set when
    someone resolved it by hand."""
    return f"{PREFIX}recent:{group_key}"


def inhibition_group(group: str) -> str:
    """Set of the firing source alerts (dedup keys) of an inhibition group
    (``router.inhibition``); ``apply_alert.lua`` keeps it."""
    return f"{PREFIX}inhibit:{group}"


def ended_episode(dedup_key: str) -> str:
    """Start time of the alert's last firing episode that was resolved."""
    return f"{PREFIX}ended:{dedup_key}"


def storm_minute(route: str, minute: int) -> str:
    """Hash of a route's new groups in one minute (``minute``: minutes since the epoch, by
    the alerts' arrival): ``groups``, their count against the route's ``storm_limit``, and
    ``event``, ``<incident id> <index> <at>`` of the storm incident's timeline entry telling
    of this minute, so it is rewritten in place. Kept two minutes; ``apply_alert.lua``
    keeps it."""
    return f"{PREFIX}storm:{route}:{minute}"
