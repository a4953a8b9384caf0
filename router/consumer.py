"""The router process: read alerts from ingest's stream, apply them, acknowledge them.

An entry is acknowledged only after its effect is stored; many routers may run at once in
one consumer group, each entry going to one of them.
"""

import asyncio
import logging
from datetime import timedelta

from prometheus_client import CollectorRegistry, Counter
from redis.asyncio import Redis

from ingest.stream import alert_stream, consume
from router import keys
from router.config import RoutingConfig
from router.store import IncidentStore

log = logging.getLogger(__name__)


class Router:
    def __init__(
        self,
        redis: Redis,
        routing: RoutingConfig,
        consumer: str,
        registry: CollectorRegistry,
        *,
        block: timedelta = timedelta(seconds=1),
    ) -> None:
        self.alerts = alert_stream(redis)
        self.store = IncidentStore(redis)
        self.routing = routing
        self.consumer = consumer
        self.block = block
        self._outcomes = Counter(
            "tocsin_router_alerts",
            "Alerts the router applied, by what they did.",
            ["outcome"],
            registry=registry,
        )

    async def run(self, stop: asyncio.Event) -> None:
        await self.alerts.ensure_group(keys.CONSUMER_GROUP)
        await consume(stop, self.step, what="routing alerts")

    async def step(self) -> int:
        """Apply one batch; returns how many entries it acknowledged."""
        entries = await self.alerts.read(keys.CONSUMER_GROUP, self.consumer, block=self.block)
        for entry in entries:
            if entry.model is None:
                # An entry that does not parse cannot get better by retrying; keep the
                # stream moving and say so loudly.
                log.error("dropping unreadable alert entry %s: %s", entry.id, entry.error)
                self._outcomes.labels("unreadable").inc()
                continue
            change = await self.store.apply_alert(entry.model, self.routing, entry.id)
            self._outcomes.labels(change.outcome.value).inc()
        await self.alerts.ack(keys.CONSUMER_GROUP, [entry.id for entry in entries])
        return len(entries)
