"""What was already delivered (or decided) for an incident: the memory that makes paging
jobs safe to run twice."""

from collections.abc import Awaitable, Sequence
from datetime import timedelta
from typing import cast

from redis.asyncio import Redis

from notifier import keys

SENDING_LEASE = timedelta(minutes=2)


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

    async def take(self, incident_id: str, fields: Sequence[str]) -> list[bool]:
        """For each delivery: whether this caller may send it now. Taking one lasts
        ``SENDING_LEASE``, long enough for any channel's timeout; one taken by a process that
        died is free again after that (at least once)."""
        if not fields:
            return []
        lease = int(SENDING_LEASE.total_seconds() * 1000)
        async with self.redis.pipeline(transaction=False) as pipe:
            for field in fields:
                pipe.set(keys.sending(incident_id, field), 1, nx=True, px=lease)
            return [bool(taken) for taken in await pipe.execute()]

    async def release(self, incident_id: str, fields: Sequence[str]) -> None:
        """Done sending (delivered and marked, or failed and free to be retried)."""
        if fields:
            await self.redis.delete(*(keys.sending(incident_id, field) for field in fields))

    async def forget_after(self, incident_id: str, ttl: timedelta) -> None:
        """Once an incident is over its memory only has to outlast late duplicate jobs."""
        await self.redis.expire(keys.deliveries(incident_id), ttl)

    async def claim(self, incident_id: str, what: str) -> bool:
        """True for the first caller only."""
        return await cast(
            Awaitable[bool], self.redis.hsetnx(keys.deliveries(incident_id), what, "1")
        )
