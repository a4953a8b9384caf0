"""Reading what a report covers: the incidents opened in a time range, each with its timeline
reduced to what the report needs (``router.reports.review``).

The creation-time index gives the range without a scan; heads and timelines are read a page
at a time, two round trips per page, and each timeline is dropped once reduced, so memory
holds heads, not stories. A range with more than ``MAX_INCIDENTS`` stops there and says so.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from redis.asyncio import Redis

from router import keys
from router.models import Incident, TimelineEvent
from router.reports import Reviewed, review

PAGE = 500
MAX_INCIDENTS = 100_000
"""Far more than a year of incidents of any team we know of; a report past it would take
seconds of the store's time, and says it was cut short instead."""


@dataclass(frozen=True)
class Gathered:
    reviewed: list[Reviewed]
    truncated: bool
    """More incidents were opened in the range than ``MAX_INCIDENTS``: the newest are left
    out."""


async def reviewed_between(
    redis: Redis, start: datetime, end: datetime, *, page: int = PAGE, most: int = MAX_INCIDENTS
) -> Gathered:
    """Incidents opened in ``[start, end)``, oldest first. Expired ones are skipped."""
    low, high = _ms(start), f"({_ms(end)}"
    found: list[Reviewed] = []
    offset = 0
    while len(found) < most:
        members = await redis.zrangebyscore(
            keys.INCIDENT_INDEX, low, high, start=offset, num=min(page, most - len(found))
        )
        if not members:
            return Gathered(found, truncated=False)
        offset += len(members)
        found += await _read(redis, [str(int(m)) for m in members])
    more = await redis.zrangebyscore(keys.INCIDENT_INDEX, low, high, start=offset, num=1)
    return Gathered(found, truncated=bool(more))


async def _read(redis: Redis, ids: Sequence[str]) -> list[Reviewed]:
    async with redis.pipeline(transaction=False) as pipe:
        for incident_id in ids:
            pipe.get(keys.incident(incident_id))
            pipe.lrange(keys.incident_timeline(incident_id), 0, -1)
        answers = await pipe.execute()
    return [
        review(
            Incident.model_validate_json(head),
            (TimelineEvent.model_validate_json(raw) for raw in timeline),
        )
        for head, timeline in zip(answers[::2], answers[1::2], strict=True)
        if head is not None
    ]


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)
