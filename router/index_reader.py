"""Incidents a page at a time, newest first, from the creation-time index: within a time
window read by score, so a window costs the same however many incidents exist, and after a
``Position``, so a page continues where the last one stopped even while new incidents open.

A position is an index entry (creation millisecond, zero-padded id), not a rank: incidents
opened since the last page go before it and shift no rank the next page depends on, and an
entry that expired since is simply not met again.
"""

from dataclasses import dataclass
from datetime import datetime

from redis.asyncio import Redis

from ingest.clock import epoch_ms
from router import keys
from router.models import Incident

_PAGE = """
local high, after, low, skip = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
if after ~= '' then
  for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], high, high)) do
    if member >= after then skip = skip + 1 end
  end
end
return redis.call('ZREVRANGEBYSCORE', KEYS[1], high, low, 'WITHSCORES', 'LIMIT', skip, ARGV[5])
"""
"""KEYS: the index. ARGV: the highest score, the member of that score to continue after
('' for none), the lowest score, entries to skip, how many. Members of one score are few
(incidents opened in the same millisecond), so counting those at or after the position
is cheap; doing it in the script keeps it one round trip and one consistent view."""


@dataclass(frozen=True)
class Position:
    """An incident's entry in the index: its creation time (ms) and zero-padded id."""

    created_ms: int
    member: str


@dataclass(frozen=True)
class Window:
    """Incidents created in ``[since, until)``; ``None`` leaves that side open. Read to the
    millisecond, as the index keeps creation times."""

    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class IndexPage:
    incidents: list[tuple[Position, Incident]]
    """The live ones among the entries read, newest first, each with its place."""
    read: int
    """Index entries read, expired ones included: the work this page cost."""
    end: Position | None
    """The last entry read (``None`` if none was): where the next page starts."""
    more: bool
    """Entries past ``end`` remain in the window."""


class IndexReader:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._page = redis.register_script(_PAGE)

    async def newest(
        self, limit: int, window: Window, *, after: Position | None = None, skip: int = 0
    ) -> IndexPage:
        """Up to ``limit`` entries of ``window``, newest first (same millisecond: higher id
        first), after ``after`` and then ``skip`` more. Expired incidents are dropped from
        the index as they are met, as ``IncidentStore.list`` does."""
        if limit < 1 or skip < 0:
            raise ValueError(f"limit must be 1 or more and skip 0 or more, got {limit}, {skip}")
        high, member = _upper(window, after)
        low = "-inf" if window.since is None else str(epoch_ms(window.since))
        rows = await self._page(
            keys=[keys.INCIDENT_INDEX], args=[high, member, low, skip, limit + 1]
        )
        entries = [
            Position(int(float(score)), raw.decode())
            for raw, score in zip(rows[::2], rows[1::2], strict=True)
        ]
        shown = entries[:limit]
        if not shown:
            return IndexPage([], 0, None, False)
        docs = await self.redis.mget([keys.incident(str(int(p.member))) for p in shown])
        expired = [p.member for p, doc in zip(shown, docs, strict=True) if doc is None]
        if expired:
            await self.redis.zrem(keys.INCIDENT_INDEX, *expired)
        live = [
            (p, Incident.model_validate_json(doc))
            for p, doc in zip(shown, docs, strict=True)
            if doc is not None
        ]
        return IndexPage(live, len(shown), shown[-1], len(entries) > limit)


def _upper(window: Window, after: Position | None) -> tuple[str, str]:
    """The highest score to read and the member of it to continue after: the position's,
    unless the window ends before it. Scores are whole milliseconds, so ``until`` is kept
    out by reading up to the millisecond before it."""
    last = None if window.until is None else epoch_ms(window.until) - 1
    if after is not None and (last is None or after.created_ms <= last):
        return str(after.created_ms), after.member
    return ("+inf" if last is None else str(last)), ""
