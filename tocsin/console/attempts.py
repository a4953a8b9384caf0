"""Attempts counted per person and address within a window, refused past a limit: wrong
passwords, and sign-in links asked for. One guesser or one flood is slowed down without
locking the person out from everywhere else."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from redis.asyncio import Redis


@dataclass(frozen=True)
class Attempts:
    redis: Redis
    key: Callable[[str, str], str]
    """The counter's key for a person and an address (``tocsin.console.keys``)."""
    limit: int
    window: timedelta
    """Starts at the first attempt counted, so a steady trickle cannot keep it open."""

    async def blocked(self, person: str, address: str) -> bool:
        counted = await self.redis.get(self.key(person, address))
        return counted is not None and int(counted) >= self.limit

    async def count(self, person: str, address: str) -> None:
        key = self.key(person, address)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, self.window, nx=True)
            await pipe.execute()
