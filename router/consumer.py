"""The router process: read alerts from ingest's stream, apply them, acknowledge them.

An entry is acknowledged only after its effect is stored; many routers may run at once in
one consumer group, each entry going to one of them. An alert that cannot be applied goes to
the router's dead letters; the others keep flowing.
"""

import asyncio
import logging
from datetime import timedelta

from prometheus_client import CollectorRegistry, Counter
from redis.asyncio import Redis

from ingest.clock import Clock
from ingest.consuming import RETRY_AFTER, StreamConsumer
from ingest.deadletters import DeadLetters
from ingest.models import Alert
from ingest.stream import alert_stream
from router import keys
from router.config import RoutingConfig
from router.incidents import Outcome
from router.store import IncidentStore

log = logging.getLogger(__name__)

_LIFECYCLE = {
    Outcome.OPENED: "opened",
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
        self.consumer = StreamConsumer(
            self.alerts,
            keys.CONSUMER_GROUP,
            consumer,
            self._apply,
            dead_letters(redis),
            clock,
            registry,
            stage="router",
            block=block,
            retry_after=retry_after,
        )

    async def run(self, stop: asyncio.Event) -> None:
        await self.consumer.run(stop)

    async def step(self) -> int:
        """Apply one batch; returns how many entries it is done with."""
        return await self.consumer.step()

    async def _apply(self, alert: Alert, entry_id: str) -> None:
        change = await self.store.apply_alert(alert, self.routing, entry_id)
        self._outcomes.labels(change.outcome.value).inc()
        if change.incident is not None and change.outcome in _LIFECYCLE:
            incident = change.incident
            log.info(
                "incident %s %s: %s (alert %s, %s)",
                incident.id,
                _LIFECYCLE[change.outcome],
                incident.title,
                alert.dedup_key,
                incident.severity.value,
                extra={"event": f"incident_{_LIFECYCLE[change.outcome]}", "incident": incident.id},
            )


def dead_letters(redis: Redis) -> DeadLetters:
    """Alerts the router could not apply."""
    return DeadLetters(redis, keys.DEAD_LETTERS)
