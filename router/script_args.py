"""The arguments of ``apply_alert.lua`` for an alert, worked out once per distinct alert.

Most of what a router applies are repeats: a sender resends what still fires, the same
alert but for when it was received. Everything the script needs apart from that time and the
stream entry (the routes, group keys, the record and incident the alert would start) depends
on the alert and the routing alone, so it is kept for the next alerts that say the same.
The script itself stamps the time into a new record and a new incident.
"""

import json
from datetime import UTC, timedelta

from ingest.clock import epoch_ms
from ingest.models import Alert
from router.config import RoutingConfig, Severity
from router.grouping import group_key, group_labels, group_name, storm_group_key
from router.inhibition import source_groups
from router.matching import Placement, place
from router.models import AlertRecord, Incident

ENDED_EPISODE_TTL = timedelta(days=1)
"""How long a resolved episode is remembered; a firing that arrives later than this for an
episode long over is taken as a new problem."""
TIMELINE_ALERT_EVENTS = 100
"""Alert events an incident's timeline lists; later ones are counted on its head."""
STORM_LISTED = 10
"""Groups a storm incident lists by name; the others are counted."""
REMEMBERED = 10_000
"""Distinct alerts whose arguments are kept: a few MB, more alerts than most fleets fire at
once; past it, the oldest are worked out again when they come back."""

_TIMED = {"first_seen", "last_seen", "created_at"}
"""Stamped by the script, as ``now``."""

Call = list[str]
"""One script call's arguments after the prefix: fields, record and incident, as JSON."""
_Prepared = tuple[tuple[str, str, str], ...]
"""Per route: the fields but for the time and entry (a JSON object missing its ``{``), the
record and the incident."""


class ScriptArgs:
    def __init__(self, routing: RoutingConfig) -> None:
        self.routing = routing
        self._known: dict[str, _Prepared] = {}

    def calls(self, alert: Alert, entry_id: str | None) -> list[Call]:
        """One call of the script per route the alert lands on (none when unrouted); each
        route has its own group, and the alert a record of its own in each route's
        incident. ``entry_id``: the stream entry, so a redelivered one changes nothing."""
        said = alert.model_dump_json(exclude={"received_at"})
        prepared = self._known.get(said)
        if prepared is None:
            prepared = self._prepare(alert)
            if len(self._known) >= REMEMBERED:
                del self._known[next(iter(self._known))]
            self._known[said] = prepared
        now = alert.received_at
        entry = json.dumps(entry_id or "")
        timed = f'{{"now":"{now.isoformat()}","now_ms":{epoch_ms(now)},"entry":{entry},'
        return [[timed + fields, record, head] for fields, record, head in prepared]

    def _prepare(self, alert: Alert) -> _Prepared:
        placements = place(alert, self.routing)
        if not placements:
            return ()
        # Severity is the alert's, whatever the route: one record serves every route.
        severity = placements[0].severity
        # Stored as the script gets them: what readers default need not take room in Redis.
        record = _record(alert, severity).model_dump_json(exclude=_TIMED, exclude_none=True)
        common = {
            "dedup": alert.dedup_key,
            "firing": alert.is_firing,
            "episode": _episode(alert) or "",
            "severity": severity.value,
            "summary": alert.summary,
            "ended_ttl": int(ENDED_EPISODE_TTL.total_seconds()),
            "retention": int(self.routing.retention.total_seconds()),
            "max_events": TIMELINE_ALERT_EVENTS,
            "not_shown": alert.sender_not_shown,
            "inhibits": source_groups(self.routing.inhibit_rules, alert.labels),
            "config": self.routing.version,
        }
        prepared = []
        for placement in placements:
            route = placement.route
            head = _new_head(alert, placement, group_key(alert, route))
            own: dict[str, object] = {
                "group": head.group_key,
                "report": route.group_interval is not None,
                "reopen": int(route.reopen_window.total_seconds()),
            }
            if route.storm_limit is not None:
                own["storm"] = {
                    "limit": route.storm_limit,
                    "group": storm_group_key(route),
                    "name": group_name(alert, route),
                    "listed": STORM_LISTED,
                }
            fields = json.dumps({**common, **own})
            # Only the script gives a head its id, or makes it a storm's.
            new_head = head.model_dump_json(exclude={"id", "storm", *_TIMED}, exclude_defaults=True)
            prepared.append((fields[1:], record, new_head))
        return tuple(prepared)


def _new_head(alert: Alert, placement: Placement, gkey: str) -> Incident:
    return Incident(
        id="",
        title=alert.summary,
        severity=placement.severity,
        route=placement.route.name,
        policy=placement.route.policy,
        service=placement.route.service,
        group_key=gkey,
        group_labels=group_labels(alert, placement.route),
        created_at=alert.received_at,
    )


def _record(alert: Alert, severity: Severity) -> AlertRecord:
    return AlertRecord(
        dedup_key=alert.dedup_key,
        status=alert.status,
        summary=alert.summary,
        labels=alert.labels,
        annotations=alert.annotations,
        generator_url=alert.generator_url,
        integration=alert.integration,
        source=alert.source,
        severity=severity,
        first_seen=alert.received_at,
        last_seen=alert.received_at,
    )


def _episode(alert: Alert) -> str | None:
    """One firing episode of an alert: its identity and when it started, where the source
    says (a re-fire after a resolution starts a new episode)."""
    return None if alert.starts_at is None else alert.starts_at.astimezone(UTC).isoformat()
