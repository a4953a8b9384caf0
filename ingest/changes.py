"""The change log: the latest change events of each integration (PagerDuty's
``/v2/change/enqueue``), for people looking at an incident to see what changed around it.

Kept apart from the alert stream: a change pages nobody and the router has nothing to do
with it. Each integration keeps its latest ``MAX_CHANGES``, so one busy deploy pipeline
neither grows the store nor pushes another integration's changes out.
"""

from collections.abc import Sequence

from redis.asyncio import Redis

from ingest.keys import change_log
from ingest.sources.pagerduty import ChangeEvent

MAX_CHANGES = 1000
_FIELD = "m"


class ChangeLog:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def record(self, change: ChangeEvent) -> None:
        await self.redis.xadd(
            change_log(change.integration),
            {_FIELD: change.model_dump_json()},
            maxlen=MAX_CHANGES,
            approximate=False,
        )

    async def latest(self, integrations: Sequence[str], limit: int) -> list[ChangeEvent]:
        """The latest ``limit`` changes of these integrations, newest first."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for name in integrations:
                pipe.xrevrange(change_log(name), count=limit)
            logs = await pipe.execute()
        changes = [
            ChangeEvent.model_validate_json(fields[_FIELD.encode()])
            for entries in logs
            for _, fields in entries
        ]
        changes.sort(key=lambda change: change.received_at, reverse=True)
        return changes[:limit]
