"""Per-integration rate limits: a token bucket in the store, so every web process draws on
the same one, taken from in one atomic script.

The limit is the caller's too, read from the integration per request: an edited limit
applies from the next request, to the bucket the integration already has (same name, same
bucket), so a reload does not refill it (a lower burst caps it).

The time is the caller's (``now``), so tests drive it; web processes' clocks differ by a
little, and the bucket never runs backwards when a process behind the others takes from it.
"""

import math
from dataclasses import dataclass
from datetime import datetime

from redis.asyncio import Redis

from ingest.clock import epoch_ms
from ingest.config import RateLimit
from ingest.keys import rate_bucket

_TAKE = """
local per_ms, burst, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
-- A burst lowered by an edit applies at once to a bucket filled under the old one.
local tokens, at = math.min(burst, tonumber(state[1]) or burst), tonumber(state[2]) or now
if now > at then
  tokens, at = math.min(burst, tokens + (now - at) * per_ms), now
end
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) / per_ms)
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens), 'at', string.format('%d', at))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / per_ms) + 1000)
return wait
"""
"""Returns 0 when a token was taken, else the milliseconds until one will be there (then
nothing is taken: a refused request costs the sender nothing)."""


@dataclass(frozen=True)
class Limited:
    """A request over its integration's limit."""

    limit: RateLimit
    retry_after: int
    """Whole seconds until the bucket holds a token again (at least 1)."""


class RateLimiter:
    def __init__(self, redis: Redis) -> None:
        self._take = redis.register_script(_TAKE)

    async def take(self, integration: str, limit: RateLimit, now: datetime) -> Limited | None:
        """Take one request from the integration's bucket; ``Limited`` when it is empty."""
        now_ms = epoch_ms(now)
        wait_ms = int(
            await self._take(
                keys=[rate_bucket(integration)],
                args=[limit.per_second / 1000, limit.burst, now_ms],
            )
        )
        if wait_ms <= 0:
            return None
        return Limited(limit, max(1, math.ceil(wait_ms / 1000)))
