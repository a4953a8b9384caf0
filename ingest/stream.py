"""Streams of typed models: append, read as a consumer group, acknowledge, trim.

Every stage hands work to the next one through a stream of pydantic models. The consumer side
is at-least-once: an entry stays pending until ``ack``; a consumer that dies leaves its
entries pending, and ``read`` claims those of consumers idle longer than ``claim_idle``.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import ResponseError

from ingest.keys import ALERT_STREAM
from ingest.models import Alert

M = TypeVar("M", bound=BaseModel)

log = logging.getLogger(__name__)

PAUSE_AFTER_ERROR = timedelta(seconds=1)

TRIM_EVERY = 1000
"""Acknowledged entries between two trims of a stream by one consumer."""

_FIELD = "m"


@dataclass(frozen=True)
class Entry(Generic[M]):
    id: str
    model: M | None
    """``None`` when the entry does not parse: the consumer should ack and count it."""
    error: str | None = None


class TypedStream(Generic[M]):
    def __init__(self, redis: Redis, key: str, model: type[M]) -> None:
        self.redis = redis
        self.key = key
        self.model = model
        self._acked_since_trim = 0

    async def append(self, items: Sequence[M]) -> list[str]:
        """Append all items in one MULTI/EXEC: a webhook's alerts land together or not at all."""
        async with self.redis.pipeline(transaction=True) as pipe:
            for item in items:
                self.stage(pipe, item)
            ids = await pipe.execute()
        return [_text(i) for i in ids]

    def stage(self, pipe: Pipeline, item: M) -> None:
        """Queue the append on a caller's transaction, so it commits with the caller's change."""
        pipe.xadd(self.key, {_FIELD: item.model_dump_json()})

    async def ensure_group(self, group: str) -> None:
        try:
            await self.redis.xgroup_create(self.key, group, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    async def read(
        self,
        group: str,
        consumer: str,
        *,
        count: int = 100,
        block: timedelta | None = timedelta(seconds=1),
        claim_idle: timedelta = timedelta(seconds=60),
    ) -> list[Entry[M]]:
        """Entries for this consumer: its own still-pending ones first (after a restart under
        the same name), then those abandoned by dead consumers, then new ones (blocking)."""
        own = await self.redis.xreadgroup(group, consumer, {self.key: "0"}, count=count)
        entries = self._parse(own)
        if entries:
            return entries
        claimed = await self.redis.xautoclaim(
            self.key, group, consumer, int(claim_idle.total_seconds() * 1000), count=count
        )
        entries = self._parse([[self.key, claimed[1]]])
        if entries:
            return entries
        block_ms = None if block is None else int(block.total_seconds() * 1000)
        fresh = await self.redis.xreadgroup(
            group, consumer, {self.key: ">"}, count=count, block=block_ms
        )
        return self._parse(fresh)

    async def ack(self, group: str, ids: Sequence[str]) -> None:
        """Acknowledge; now and then also drop what the group is done with, so a stream
        holds only work in flight."""
        if not ids:
            return
        await self.redis.xack(self.key, group, *ids)
        self._acked_since_trim += len(ids)
        if self._acked_since_trim >= TRIM_EVERY:
            self._acked_since_trim = 0
            await self.trim_consumed(group)

    async def trim_consumed(self, group: str) -> int:
        """Drop entries the group has read and acknowledged; never one still pending."""
        groups = await self.redis.xinfo_groups(self.key)
        info = next((g for g in groups if _text(g["name"]) == group), None)
        if info is None:
            return 0
        safe = _text(info["last-delivered-id"])
        if info["pending"]:
            summary = await self.redis.xpending(self.key, group)
            safe = _text(summary["min"])
        return int(await self.redis.xtrim(self.key, minid=safe, approximate=False))

    def _parse(self, response: object) -> list[Entry[M]]:
        entries: list[Entry[M]] = []
        for _key, items in response or []:  # type: ignore[attr-defined]
            for entry_id, fields in items:
                if fields is None:  # deleted while pending
                    entries.append(Entry(_text(entry_id), None, "entry was deleted"))
                    continue
                raw = fields.get(_FIELD.encode()) or fields.get(_FIELD)
                try:
                    model = self.model.model_validate_json(raw or b"")
                except ValidationError as error:
                    entries.append(Entry(_text(entry_id), None, str(error)))
                else:
                    entries.append(Entry(_text(entry_id), model))
        return entries


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def alert_stream(redis: Redis) -> TypedStream[Alert]:
    """The stream from ingest to the router."""
    return TypedStream(redis, ALERT_STREAM, Alert)


async def consume(
    stop: asyncio.Event,
    step: Callable[[], Awaitable[object]],
    *,
    what: str,
    logged: type[Exception] | None = None,
    pause: timedelta = PAUSE_AFTER_ERROR,
) -> None:
    """Run a consumer's ``step`` until ``stop``. A failed step leaves its entries pending (read
    again first next time) and the consumer pauses, so a passing fault (Redis restarting)
    neither ends the process nor spins. ``logged``: an error the step already reported."""
    while not stop.is_set():
        try:
            await step()
        except Exception as error:
            if logged is None or not isinstance(error, logged):
                log.exception("%s failed; retrying", what)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause.total_seconds())
