"""Dead letters: stream entries a stage could not handle, kept with their error so nothing is
silently dropped, listed for operators and replayable once the cause is fixed.

Each consuming stage keeps its own dead-letter stream (the key comes from its ``keys.py``).
Moving an entry there and acknowledging it on its source is one transaction, so an entry is
always in exactly one of the two places.
"""

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from ingest.stream import Entry, as_text, stage_payload

_FIELD = "d"


class DeadLetter(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    stream: str
    """The stream the entry came from; a replay appends it there again."""
    group: str
    entry_id: str
    error: str
    deliveries: int
    at: AwareDatetime
    payload: str | None
    """The entry as it was stored; ``None`` if it had none (nothing to replay)."""


class DeadLetterNotFound(LookupError):
    pass


class DeadLetters:
    def __init__(self, redis: Redis, key: str) -> None:
        self.redis = redis
        self.key = key

    async def add(self, letter: DeadLetter) -> str:
        """Keep something that is not a stream entry (a timer job that gave up)."""
        return as_text(await self.redis.xadd(self.key, {_FIELD: letter.model_dump_json()}))

    async def bury(
        self, stream: str, group: str, entry: Entry[Any], error: str, at: datetime
    ) -> str:
        letter = DeadLetter(
            stream=stream,
            group=group,
            entry_id=entry.id,
            error=error,
            deliveries=entry.deliveries,
            at=at,
            payload=entry.raw,
        )
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xadd(self.key, {_FIELD: letter.model_dump_json()})
            pipe.xack(stream, group, entry.id)
            dead_id, _ = await pipe.execute()
        return as_text(dead_id)

    async def list(self, count: int = 1000) -> list[tuple[str, DeadLetter]]:
        """Oldest first."""
        items = await self.redis.xrange(self.key, count=count)
        return [(as_text(i), DeadLetter.model_validate_json(f[_FIELD.encode()])) for i, f in items]

    async def count(self) -> int:
        return int(await self.redis.xlen(self.key))

    async def forget(self, dead_id: str) -> None:
        await self.redis.xdel(self.key, dead_id)

    async def get(self, dead_id: str) -> DeadLetter:
        try:
            items = await self.redis.xrange(self.key, dead_id, dead_id)
        except ResponseError:  # not a stream id at all
            items = []
        if not items:
            raise DeadLetterNotFound(f"no dead letter {dead_id!r} in {self.key}")
        return DeadLetter.model_validate_json(items[0][1][_FIELD.encode()])

    async def replay(self, dead_id: str) -> str:
        """Append the entry to its stream again (a new entry, handled as new) and forget the
        dead letter, in one transaction; returns the new entry's id."""
        letter = await self.get(dead_id)
        if letter.payload is None:
            raise DeadLetterNotFound(f"dead letter {dead_id!r} has no payload to replay")
        async with self.redis.pipeline(transaction=True) as pipe:
            stage_payload(pipe, letter.stream, letter.payload)
            pipe.xdel(self.key, dead_id)
            new_id, _ = await pipe.execute()
        return as_text(new_id)
