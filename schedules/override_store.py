"""Stored overrides in Redis: one sorted set per schedule, scored by each override's end, so
the overrides that still matter at an instant are one range read, and those that are over
are dropped on every write. The key itself expires after the last override ends."""

from collections.abc import Awaitable, Iterable
from datetime import datetime
from typing import cast
from uuid import uuid4

from redis.asyncio import Redis

from ingest.clock import epoch_ms
from schedules import keys
from schedules.oncall import Cover
from schedules.stored import StoredOverride, covers

# The TTL is counted from the caller's `now`, not Redis's clock, so it matches the scores.
_ADD = """
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', KEYS[1], math.max(1, tonumber(last[2]) - tonumber(ARGV[1])))
"""


class OverrideNotFound(LookupError):
    pass


def _after(now: datetime) -> str:
    """Ends strictly after ``now``: an override ending at ``now`` is over."""
    return f"({epoch_ms(now)}"


class OverrideStore:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._add = redis.register_script(_ADD)

    async def add(self, override: StoredOverride, now: datetime) -> StoredOverride:
        """Store it under a new id; the caller has checked it (``schedules.stored.checked``)."""
        saved = override.model_copy(update={"id": uuid4().hex[:12]})
        await self._add(
            keys=[keys.overrides(saved.schedule)],
            args=[epoch_ms(now), epoch_ms(saved.end), saved.model_dump_json()],
        )
        return saved

    async def current(self, schedule: str, now: datetime) -> list[StoredOverride]:
        """The schedule's overrides not over at ``now``, soonest ending first."""
        return (await self.current_of([schedule], now))[schedule]

    async def current_of(
        self, schedules: Iterable[str], now: datetime
    ) -> dict[str, list[StoredOverride]]:
        """``current`` for several schedules in one round trip (what a page reads)."""
        names = list(dict.fromkeys(schedules))
        async with self.redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.zrangebyscore(keys.overrides(name), _after(now), "+inf")
            found = cast(list[list[bytes]], await pipe.execute())
        return {
            name: [StoredOverride.model_validate_json(raw) for raw in raws]
            for name, raws in zip(names, found, strict=True)
        }

    async def covers_of(self, schedules: Iterable[str], now: datetime) -> dict[str, list[Cover]]:
        """``current_of`` as covers for ``schedules.oncall``, the latest created on top."""
        found = await self.current_of(schedules, now)
        return {name: covers(stored) for name, stored in found.items()}

    async def remove(self, schedule: str, override_id: str, now: datetime) -> StoredOverride:
        key = keys.overrides(schedule)
        raws = await cast(
            Awaitable[list[bytes]], self.redis.zrangebyscore(key, _after(now), "+inf")
        )
        for raw in raws:
            override = StoredOverride.model_validate_json(raw)
            if override.id == override_id:
                # The member as stored: removing needs its exact bytes.
                await cast(Awaitable[int], self.redis.zrem(key, raw))
                return override
        raise OverrideNotFound(f"no override {override_id!r} on schedule {schedule!r}")
