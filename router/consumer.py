"""The router process: read alerts from ingest's stream, apply them, acknowledge them.

An entry is acknowledged only after its effect is stored; many routers may run at once in
one consumer group, each entry going to one of them. An alert that cannot be applied goes to
the router's dead letters; the others keep flowing.
"""

import asyncio
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
from router.store import IncidentStore


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


def dead_letters(redis: Redis) -> DeadLetters:
    """Alerts the router could not apply."""
    return DeadLetters(redis, keys.DEAD_LETTERS)
