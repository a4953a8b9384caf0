"""Watchdog alerts (an always-firing alert, such as Alertmanager's ``Watchdog``) as the pings
of a heartbeat: the webhooks append to this stream, which takes them out and records them as
pings, so nothing in the webhook path has to know about heartbeats."""

from collections.abc import Sequence

from ingest.clock import Clock
from ingest.group_commit import Appends
from ingest.heartbeat_store import HeartbeatStore
from ingest.heartbeats import Heartbeat, take_watchdogs
from ingest.models import Alert


class WatchdogFeed:
    def __init__(
        self,
        stream: Appends[Alert],
        heartbeats: Sequence[Heartbeat],
        store: HeartbeatStore,
        clock: Clock,
    ) -> None:
        self._stream = stream
        self.heartbeats = heartbeats
        """Replaced whole when an edited configuration is taken up."""
        self._store = store
        self._clock = clock

    async def append(self, items: Sequence[Alert]) -> list[str]:
        """Ping the heartbeats the watchdog alerts among ``items`` feed, then append the
        rest. A store error refuses the whole request, so the sender sends it again (a ping
        twice is a ping)."""
        pinged, others = take_watchdogs(self.heartbeats, items)
        await self._store.ping(pinged, self._clock())
        return await self._stream.append(others) if others else []
