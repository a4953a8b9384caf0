"""Heartbeat state in the store, shared by every web process.

Each transition is one script that checks and changes the state and appends its alert to the
alert stream together: a heartbeat goes missed once and comes back once, however many
processes check or receive pings at the same moment, and no transition is stored without its
alert (or the other way round).

No ``TOCSIN_DURABILITY`` wait here, unlike a webhook's append: a transition lost with a
primary that failed before a replica had it is lost together with its state (a script's
writes replicate as one), so the replica that takes over still sees the heartbeat as it was
and makes the transition again at its next check or ping. A webhook's alert has no such
second chance, which is why its sender must hear "not stored" instead.
"""

from collections.abc import Awaitable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from redis.asyncio import Redis

from ingest.clock import epoch_ms, from_epoch_ms
from ingest.heartbeats import Heartbeat, missed_alert, resumed_alert
from ingest.keys import ALERT_STREAM, HEARTBEAT_MISSED, HEARTBEAT_PINGS
from ingest.stream import as_text

# 'm' is the field ``ingest.stream.TypedStream`` reads an entry's model from.
_PING = """
local resumed = {}
for i = 2, #ARGV, 2 do
  redis.call('ZADD', KEYS[1], 'GT', ARGV[1], ARGV[i])
  if redis.call('HDEL', KEYS[2], ARGV[i]) == 1 then
    redis.call('XADD', KEYS[3], '*', 'm', ARGV[i + 1])
    table.insert(resumed, ARGV[i])
  end
end
return resumed
"""
"""ARGV: now (ms), then per heartbeat its name and its resolved alert. Returns the names
that were missed (their alert now resolved)."""

_MISS = """
local missed = {}
for i = 2, #ARGV, 3 do
  local last = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if last and tonumber(last) <= tonumber(ARGV[i + 1])
      and redis.call('HSETNX', KEYS[2], ARGV[i], ARGV[1]) == 1 then
    redis.call('XADD', KEYS[3], '*', 'm', ARGV[i + 2])
    table.insert(missed, ARGV[i])
  end
end
return missed
"""
"""ARGV: now (ms), then per heartbeat its name, the last ping (ms) it is missed at or
before, and its firing alert. A ping since the caller read the state, or another process
that got there first, leaves it alone. Returns the names found missed by this call."""


MISS_BATCH = 100
"""Heartbeats marked missed per script: a script holds the store while it runs, and 10,000
at once (a network cut off from every job) took 0.6 s in one call, about 7 ms each in
these."""


@dataclass(frozen=True)
class HeartbeatState:
    last_pings: dict[str, datetime]
    """By name; a heartbeat never seen has none."""
    missed: set[str]


class HeartbeatStore:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def ping(self, heartbeats: Sequence[Heartbeat], now: datetime) -> list[str]:
        """Record a ping of each; the names of those that were missed and now resolve."""
        if not heartbeats:
            return []
        args = [str(epoch_ms(now))]
        for heartbeat in heartbeats:
            args += [heartbeat.name, resumed_alert(heartbeat, now).model_dump_json()]
        return await self._run(_PING, args)

    async def state(self) -> HeartbeatState:
        """Every heartbeat's last ping, and which are missed, in one round trip."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zrange(HEARTBEAT_PINGS, 0, -1, withscores=True)
            pipe.hkeys(HEARTBEAT_MISSED)
            pings, missed = await pipe.execute()
        return HeartbeatState(
            {as_text(name): _time(score) for name, score in pings}, {as_text(n) for n in missed}
        )

    async def start(self, names: Collection[str], now: datetime) -> None:
        """Start the clocks of heartbeats never seen before (a process that got there first
        keeps its time)."""
        if names:
            await self.redis.zadd(HEARTBEAT_PINGS, dict.fromkeys(names, epoch_ms(now)), nx=True)

    async def miss(self, overdue: Sequence[tuple[Heartbeat, datetime]], now: datetime) -> list[str]:
        """Mark each (heartbeat, its last ping as read) missed and append its alert, unless a
        ping came since or another process did it first; the names this call marked."""
        missed: list[str] = []
        for start in range(0, len(overdue), MISS_BATCH):
            args = [str(epoch_ms(now))]
            for heartbeat, last_ping in overdue[start : start + MISS_BATCH]:
                alert = missed_alert(heartbeat, last_ping, now)
                args += [heartbeat.name, str(epoch_ms(last_ping)), alert.model_dump_json()]
            missed += await self._run(_MISS, args)
        return missed

    async def _run(self, script: str, args: list[str]) -> list[str]:
        keys = (HEARTBEAT_PINGS, HEARTBEAT_MISSED, ALERT_STREAM)
        names = await cast(Awaitable[list[bytes]], self.redis.eval(script, len(keys), *keys, *args))
        return [as_text(name) for name in names]


def _time(ms: float) -> datetime:
    return from_epoch_ms(int(ms))
