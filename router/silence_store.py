"""Silences in Redis: one hash of silence id -> JSON. Few and small, so every reader loads
them all; expired ones are dropped a while after they end."""

from collections.abc import Awaitable
from datetime import datetime, timedelta
from typing import cast
from uuid import uuid4

from redis.asyncio import Redis

from router import keys
from router.silences import Silence

EXPIRED_KEPT = timedelta(days=5)
"""How long an expired silence stays listed (to be seen, or copied into a new one)."""


class SilenceNotFound(LookupError):
    pass


class SilenceStore:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def all(self, now: datetime) -> list[Silence]:
        """Every silence not long expired, soonest ending first."""
        raw = await cast(Awaitable[dict[bytes, bytes]], self.redis.hgetall(keys.SILENCES))
        silences = [Silence.model_validate_json(value) for value in raw.values()]
        stale = [s.id for s in silences if s.ends_at + EXPIRED_KEPT < now]
        if stale:
            await cast(Awaitable[int], self.redis.hdel(keys.SILENCES, *stale))
        return sorted((s for s in silences if s.id not in stale), key=lambda s: s.ends_at)

    async def get(self, silence_id: str) -> Silence:
        raw = await cast(Awaitable[bytes | None], self.redis.hget(keys.SILENCES, silence_id))
        if raw is None:
            raise SilenceNotFound(f"no silence {silence_id!r}")
        return Silence.model_validate_json(raw)

    async def save(self, silence: Silence, now: datetime) -> Silence:
        """Create it (a new id), or replace the one with its id (which must exist)."""
        if silence.id:
            await self.get(silence.id)
        stored = silence.model_copy(update={"id": silence.id or str(uuid4()), "updated_at": now})
        await cast(
            Awaitable[int],
            self.redis.hset(keys.SILENCES, stored.id, stored.model_dump_json(by_alias=True)),
        )
        return stored

    async def expire(self, silence_id: str, now: datetime) -> Silence:
        """End it now (one that has not started yet ends before it starts)."""
        silence = await self.get(silence_id)
        if silence.ends_at <= now:
            return silence
        ended = silence.model_copy(
            update={"starts_at": min(silence.starts_at, now), "ends_at": now, "updated_at": now}
        )
        await cast(
            Awaitable[int],
            self.redis.hset(keys.SILENCES, silence_id, ended.model_dump_json(by_alias=True)),
        )
        return ended
