"""The loop that finds missed heartbeats. Every web process runs one: the store decides each
transition once (``ingest.heartbeat_store``), so more checkers only mean a missed heartbeat
is found sooner after a process dies, never that it pages twice."""

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from prometheus_client import CollectorRegistry, Counter

from ingest.clock import Clock
from ingest.consuming import consume
from ingest.heartbeat_store import HeartbeatStore
from ingest.heartbeats import Heartbeat, is_missed

log = logging.getLogger(__name__)

CHECK_EVERY = timedelta(seconds=1)
"""How late past its grace a missed heartbeat may be found, at most; each check is one read."""


class HeartbeatChecker:
    """Registers its metrics on ``registry``, so build one per registry."""

    def __init__(
        self,
        store: HeartbeatStore,
        heartbeats: Sequence[Heartbeat],
        clock: Clock,
        registry: CollectorRegistry,
        *,
        every: timedelta = CHECK_EVERY,
    ) -> None:
        self.store = store
        self.clock = clock
        self.every = every
        self._missed = Counter(
            "tocsin_heartbeats_missed",
            "Heartbeats found missed (each opens or joins an incident).",
            ["heartbeat"],
            registry=registry,
        )
        self.configure(heartbeats)

    def configure(self, heartbeats: Sequence[Heartbeat]) -> None:
        """Check exactly these heartbeats from the next check on: a new one's clock starts
        then, as at a first start; one no longer configured is no longer checked."""
        for heartbeat in heartbeats:
            self._missed.labels(heartbeat.name)
        self.heartbeats = tuple(heartbeats)

    async def check(self, now: datetime) -> list[str]:
        """Start the clocks of heartbeats seen for the first time, and mark those overdue
        missed; the names this check marked (another checker may have been first)."""
        heartbeats = self.heartbeats  # one configuration for the whole check
        if not heartbeats:
            return []
        state = await self.store.state()
        unseen = [h.name for h in heartbeats if h.name not in state.last_pings]
        await self.store.start(unseen, now)
        overdue = [
            (heartbeat, last_ping)
            for heartbeat in heartbeats
            if heartbeat.name not in state.missed
            and (last_ping := state.last_pings.get(heartbeat.name)) is not None
            and is_missed(heartbeat, last_ping, now)
        ]
        missed = await self.store.miss(overdue, now)
        for name in missed:
            self._missed.labels(name).inc()
            log.warning(
                "heartbeat %s missed", name, extra={"event": "heartbeat_missed", "heartbeat": name}
            )
        return missed

    async def run(self, stop: asyncio.Event) -> None:
        """Check every ``every`` until ``stop``; a store outage is waited out, as in every
        loop (``ingest.consuming.consume``)."""

        async def step() -> None:
            await self.check(self.clock())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.every.total_seconds())

        await consume(stop, step, what="heartbeats: checking")
