"""What was already delivered (or decided) for an incident: the memory that makes paging
jobs safe to run twice."""

import secrets
from collections.abc import Awaitable, Sequence
from datetime import timedelta
from enum import IntEnum
from typing import cast

from redis.asyncio import Redis

from notifier import keys

SENDING_LEASE = timedelta(seconds=30)
"""How long a run holds a delivery it took: longer than a send takes (each channel times out
after 10 s unless configured otherwise, a timer job stops after 20 s), and no longer, as a
delivery whose run was cut off from the store, or died, waits this long for its retry."""

_TAKE = """
local taken = {}
local name = ARGV[2]
for i = 2, #KEYS do
  if redis.call('HEXISTS', KEYS[1], ARGV[i + 2]) == 1 then
    taken[i - 1] = 2
  else
    local holder = redis.call('GET', KEYS[i])
    if not holder or holder == ARGV[3]
        or (name ~= '' and string.sub(holder, 1, #name + 1) == name .. ' ') then
      redis.call('SET', KEYS[i], ARGV[3], 'PX', ARGV[1])
      taken[i - 1] = 1
    else
      taken[i - 1] = 0
    end
  end
end
return taken
"""
"""KEYS: the incident's deliveries, then each delivery's sending key. ARGV: the lease in ms,
the sender's name, the sender (its name and a token of its own), then each delivery's field.
Free: a delivery nobody holds, one the sender holds (no run of its own has it: the caller
asks only for the others), and one another process of its name holds. Delivered already: not
taken (one round trip decides both, where reading what was delivered took two more)."""


_SETTLE = """
for i = 1, #ARGV do
  redis.call('HSET', KEYS[1], ARGV[i], '1')
end
redis.call('DEL', unpack(KEYS, 2))
"""
"""KEYS: the incident's deliveries, then the sending key of every delivery taken. ARGV: the
fields of those delivered. Marked before released, in one step."""


class Taking(IntEnum):
    """What ``take`` says of a delivery; as a number, whether the caller may send it."""

    HELD = 0
    """Another run is sending it."""
    MINE = 1
    """Taken: the caller sends it, then ``settle``s or ``release``s it."""
    DELIVERED = 2
    """Made already: nothing to send."""


class Deliveries:
    def __init__(self, redis: Redis, name: str = "") -> None:
        """``name``: the process's name among its peers (its stream consumer name), if it
        has one. No two live processes share one, so a delivery that another process of the
        same name was sending is one its predecessor died sending: the process started in
        its place takes it at once rather than after the lease."""
        self.redis = redis
        self._take = redis.register_script(_TAKE)
        self._settle = redis.register_script(_SETTLE)
        self.name = name
        # Not the pid: in a container every start may get the same one.
        self.sender = f"{name} {secrets.token_hex(8)}"
        self._in_flight: set[str] = set()
        """Sending keys held by runs of this process that have not released them."""

    async def done(self, incident_id: str) -> set[str]:
        # redis-py types hash commands as "awaitable or not"; the asyncio client awaits.
        fields = await cast(
            Awaitable[dict[bytes, bytes]], self.redis.hgetall(keys.deliveries(incident_id))
        )
        return {f.decode() for f in fields}

    async def mark(self, incident_id: str, what: str) -> None:
        await cast(Awaitable[int], self.redis.hset(keys.deliveries(incident_id), what, "1"))

    async def take(self, incident_id: str, fields: Sequence[str]) -> list[Taking]:
        """For each delivery: whether this caller may send it now, another run holds it, or
        it was delivered. Taking one lasts ``SENDING_LEASE``. One taken by a process that
        died is free again after that (at least once), or at once for the process started in
        its place; one this process took for a run that could not release it (the store was
        away) is free again as soon as no run of this process has it."""
        if not fields:
            return []
        sending = {keys.sending(incident_id, field): field for field in fields}
        asked = [key for key in sending if key not in self._in_flight]
        # Held from here, before the first await: another run of this process must not ask.
        self._in_flight.update(asked)
        lease = int(SENDING_LEASE.total_seconds() * 1000)
        try:
            answers = await self._take(
                keys=[keys.deliveries(incident_id), *asked],
                args=[lease, self.name, self.sender, *(sending[key] for key in asked)],
            )
        except BaseException:
            self._in_flight.difference_update(asked)
            raise
        taking = {key: Taking(answer) for key, answer in zip(asked, answers, strict=True)}
        self._in_flight.difference_update(k for k, t in taking.items() if t is not Taking.MINE)
        return [taking.get(key, Taking.HELD) for key in sending]

    async def release(self, incident_id: str, fields: Sequence[str]) -> None:
        """Done sending (delivered and marked, or failed and free to be retried)."""
        if fields:
            sending = [keys.sending(incident_id, field) for field in fields]
            self._in_flight.difference_update(sending)
            await self.redis.delete(*sending)

    async def settle(
        self, incident_id: str, delivered: Sequence[str], taken: Sequence[str]
    ) -> None:
        """Mark what was delivered and release every delivery taken, in one step: marked
        before released, so no other run can take one it would send again."""
        if not taken:
            return
        sending = [keys.sending(incident_id, field) for field in taken]
        self._in_flight.difference_update(sending)
        await self._settle(keys=[keys.deliveries(incident_id), *sending], args=delivered)

    async def forget_after(self, incident_id: str, ttl: timedelta) -> None:
        """Once an incident is over its memory only has to outlast late duplicate jobs."""
        await self.redis.expire(keys.deliveries(incident_id), ttl)

    async def keep(self, incident_id: str) -> None:
        """The incident is open again (reopened): its memory lasts as long as it does."""
        await self.redis.persist(keys.deliveries(incident_id))

    async def claim(self, incident_id: str, what: str) -> bool:
        """True for the first caller only."""
        return await cast(
            Awaitable[bool], self.redis.hsetnx(keys.deliveries(incident_id), what, "1")
        )

    async def count(self, incident_id: str, what: str) -> int:
        """How many times ``what`` was counted, this time included."""
        return await cast(Awaitable[int], self.redis.hincrby(keys.deliveries(incident_id), what, 1))
