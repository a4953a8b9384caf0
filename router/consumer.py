"""The router process: read alerts from ingest's stream, apply them, acknowledge them.

An entry is acknowledged only after its effect is stored; many routers may run at once in
one consumer group, each entry going to one of them. An alert that cannot be applied goes to
the router's dead letters; the others keep flowing.
"""

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta
from itertools import groupby

from prometheus_client import CollectorRegistry, Counter
from redis.asyncio import Redis

from ingest.clock import Clock
from ingest.consuming import RETRY_AFTER, Outcomes, StreamConsumer
from ingest.deadletters import DeadLetters
from ingest.models import Alert, AlertStatus
from ingest.stream import Entry, alert_stream
from router import keys
from router.config import RoutingConfig
from router.grouping import group_key
from router.incidents import Outcome
from router.matching import place
from router.models import Incident
from router.store import IncidentStore

log = logging.getLogger(__name__)

BATCH = 500
"""Alerts applied in one round trip: enough to keep Valkey busy rather than waiting."""
LANES = 2
"""Batches in flight at once: while the store applies one, the next is read and prepared.
Each lane is a consumer of its own in the group, as separate routers are."""

_LIFECYCLE = {
    Outcome.OPENED: "opened",
    Outcome.REOPENED: "reopened",
    Outcome.JOINED: "joined",
    Outcome.INCIDENT_RESOLVED: "resolved",
}
"""Changes worth a line of their own; repeats are counted in metrics only."""


class Router:
    def __init__(
        self,
        redis: Redis,
        routing: RoutingConfig,
        consumer: str,
        registry: CollectorRegistry,
        clock: Clock,
        *,
        block: timedelta = timedelta(seconds=1),
        retry_after: timedelta = RETRY_AFTER,
    ) -> None:
        self.alerts = alert_stream(redis)
        self.store = IncidentStore(redis)
        self.routing = routing
        self._outcomes = Counter(
            "tocsin_router_alerts",
            "Alerts the router applied, by what they did.",
            ["outcome"],
            registry=registry,
        )
        self._opened = Counter(
            "tocsin_incidents_opened",
            "Incidents opened, by severity and route (a reopening is not a new incident).",
            ["severity", "route"],
            registry=registry,
        )
        self.lanes = [
            StreamConsumer(
                self.alerts,
                keys.CONSUMER_GROUP,
                f"{consumer}:{lane}",
                self._apply,
                dead_letters(redis),
                clock,
                registry,
                stage="router",
                block=block,
                retry_after=retry_after,
                batch=BATCH,
            )
            for lane in range(LANES)
        ]
        self.consumer = self.lanes[0]

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.gather(*(lane.run(stop) for lane in self.lanes))

    async def step(self) -> int:
        """Apply one batch; returns how many entries it is done with."""
        return await self.consumer.step()

    async def _apply(self, entries: Sequence[Entry[Alert]]) -> Outcomes:
        """The batch in order, in as few round trips as it allows; each entry's error, if
        any, in its place. Alerts are applied in runs of one script call each; an
        acknowledgement waits for the alerts before it (its trigger may be among them)."""
        outcomes: Outcomes = []
        for acknowledging, run in groupby(entries, key=_acknowledges):
            batch: list[tuple[Alert, str | None]] = []
            for entry in run:
                assert entry.model is not None  # the consumer hands over readable entries
                batch.append((entry.model, entry.id))
            if acknowledging:
                outcomes += [await self._acknowledge(alert) for alert, _ in batch]
            else:
                outcomes += await self._apply_alerts(batch)
        return outcomes

    async def _apply_alerts(self, batch: Sequence[tuple[Alert, str | None]]) -> Outcomes:
        """An alert on several routes is counted once per route; when one of them failed,
        the whole entry is an error and is tried again (the routes it reached see a
        duplicate then)."""
        results = await self.store.apply_alerts(batch, self.routing)
        outcomes: Outcomes = []
        for (alert, _), result in zip(batch, results, strict=True):
            if isinstance(result, BaseException):
                outcomes.append(result)
                continue
            outcomes.append(None)
            for change in result:
                self._outcomes.labels(change.outcome.value).inc()
                if change.incident is not None and change.outcome is Outcome.OPENED:
                    self._opened.labels(change.incident.severity.value, change.incident.route).inc()
                if change.incident is not None and change.outcome in _LIFECYCLE:
                    _log_change(alert, change.outcome, change.incident)
        return outcomes

    async def _acknowledge(self, alert: Alert) -> BaseException | None:
        """Acknowledge the incidents the alert fires in, as ``<source>:<integration>``: on
        the routes an alert with its labels lands on, the open incident of its group."""
        who = f"{alert.source}:{alert.integration}"
        try:
            groups = [group_key(alert, p.route) for p in place(alert, self.routing)]
            incidents = await self.store.acknowledge_alert(
                alert.dedup_key, groups, who, alert.received_at
            )
        except Exception as error:
            return error
        outcome = Outcome.ACKNOWLEDGED if incidents else Outcome.IGNORED
        self._outcomes.labels(outcome.value).inc()
        for incident in incidents:
            if incident.acknowledged_by == who and incident.acknowledged_at == alert.received_at:
                log.info(
                    "incident %s acknowledged by %s (alert %s)",
                    incident.id,
                    who,
                    alert.dedup_key,
                    extra={"event": "acknowledged", "incident": incident.id, "person": who},
                )
        return None


def _acknowledges(entry: Entry[Alert]) -> bool:
    return entry.model is not None and entry.model.status is AlertStatus.ACKNOWLEDGED


def _log_change(alert: Alert, outcome: Outcome, incident: Incident) -> None:
    what = _LIFECYCLE[outcome]
    log.info(
        "incident %s %s: %s (alert %s, %s)",
        incident.id,
        what,
        incident.title,
        alert.dedup_key,
        incident.severity.value,
        extra={"event": f"incident_{what}", "incident": incident.id},
    )


def dead_letters(redis: Redis) -> DeadLetters:
    """Alerts the router could not apply."""
    return DeadLetters(redis, keys.DEAD_LETTERS)
