"""What was already delivered (or decided) for an incident: the memory that makes paging
jobs safe to run twice."""

from collections.abc import Awaitable
from datetime import timedelta
from typing import cast

from redis.asyncio import Redis

from notifier import keys


class Deliveries:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def done(self, incident_id: str) -> set[str]:
        # redis-py types hash commands as "awaitable or not"; the asyncio client awaits.
        fields = await cast(
            Awaitable[dict[bytes, bytes]], self.redis.hgetall(keys.deliveries(incident_id))
        )
        return {f.decode() for f in fields}

    async def mark(self, incident_id: str, what: str) -> None:
        await cast(Awaitable[int], self.redis.hset(keys.deliveries(incident_id), what, "1"))

    async def forget_after(self, incident_id: str, ttl: timedelta) -> None:
        """Once an incident is over its memory only has to outlast late duplicate jobs."""
        await self.redis.expire(keys.deliveries(incident_id), ttl)

    async def claim(self, incident_id: str, what: str) -> bool:
        """True for the first caller only."""
        return await cast(
            Awaitable[bool], self.redis.hsetnx(keys.deliveries(incident_id), what, "1")
        )
