"""Streams of typed models: append, read as a consumer group, acknowledge, trim.

Every stage hands work to the next one through a stream of pydantic models. The consumer side
is at-least-once: an entry stays pending until ``ack``; a consumer that dies leaves its
entries pending, and ``read`` claims those of consumers idle longer than ``claim_idle``.
"""

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import ResponseError

from ingest.keys import ALERT_STREAM
from ingest.models import Alert

M = TypeVar("M", bound=BaseModel)

log = logging.getLogger(__name__)

TRIM_EVERY = 1000
"""Acknowledged entries between two trims of a stream by one consumer."""

_FIELD = "m"


@dataclass(frozen=True)
class Entry(Generic[M]):
    id: str
    model: M | None
    """``None`` when the entry does not parse: it goes to the dead letters as it is."""
    error: str | None = None
    raw: str | None = None
    """The entry as stored, kept for the dead letters."""
    deliveries: int = 1
    """How often the group has handed it out, this time included."""


class Durability(StrEnum):
    """Where appended entries must be before ``append`` returns (``TOCSIN_DURABILITY``)."""

    PRIMARY = "primary"
    """Written on the primary (on its disk as its ``appendfsync`` says)."""
    REPLICA = "replica"
    """Also received by at least one replica (``WAIT``)."""
    AOF = "aof"
    """Fsynced to the primary's append-only file (``WAITAOF 1 0``)."""
    REPLICA_AOF = "replica-aof"
    """Fsynced on the primary and on at least one replica (``WAITAOF 1 1``)."""


DURABILITY_TIMEOUT = timedelta(milliseconds=1500)
"""How long an append waits for the confirmation its durability asks for. Shorter than the
store's command timeout (2 s, ``tocsin.store``), or the client gives up first and a replica
that did not confirm looks like a store that did not answer."""


class NotDurable(Exception):
    """The entries were written but not yet as durably as asked; the caller should say
    "not accepted" (the sender's resend is deduplicated downstream)."""


_APPEND = """
local ids = {}
for i, item in ipairs(ARGV) do
  ids[i] = redis.call('XADD', KEYS[1], '*', 'm', item)
end
return ids
"""


class TypedStream(Generic[M]):
    def __init__(
        self,
        redis: Redis,
        key: str,
        model: type[M],
        *,
        durability: Durability = Durability.PRIMARY,
    ) -> None:
        self.redis = redis
        self.key = key
        self.model = model
        self.durability = durability
        self._acked_since_trim = 0

    async def append(self, items: Sequence[M]) -> list[str]:
        """Append all items in one script (atomic: a webhook's alerts land together or not at
        all) and, on the same connection, wait for the durability asked for."""
        return await self.append_serialized([item.model_dump_json() for item in items])

    async def append_serialized(self, payloads: Sequence[str]) -> list[str]:
        """``append`` of entries already serialized (``model_dump_json``): the ids, in order."""
        async with self.redis.pipeline(transaction=False) as pipe:
            # EVAL, not EVALSHA: the server caches the script either way, and this saves the
            # pipeline's check that the script is loaded, a round trip per webhook.
            pipe.eval(_APPEND, 1, self.key, *payloads)
            wait_ms = _ms(DURABILITY_TIMEOUT)
            if self.durability is Durability.REPLICA:
                pipe.execute_command("WAIT", 1, wait_ms)
            elif self.durability is not Durability.PRIMARY:
                replicas = 1 if self.durability is Durability.REPLICA_AOF else 0
                pipe.execute_command("WAITAOF", 1, replicas, wait_ms)
            ids, *waited = await pipe.execute()
        if waited and not _durable(self.durability, waited[0]):
            raise NotDurable(f"not confirmed by {self.durability.value} within {wait_ms} ms")
        return [as_text(i) for i in ids]

    def stage(self, pipe: Pipeline, item: M) -> None:
        """Queue the append on a caller's transaction, so it commits with the caller's change."""
        stage_payload(pipe, self.key, item.model_dump_json())

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
        retry_after: timedelta = timedelta(seconds=2),
        claim_idle: timedelta = timedelta(seconds=60),
        recover: bool = True,
        busy: Collection[str] = frozenset(),
    ) -> list[Entry[M]]:
        """Up to ``count`` entries for this consumer: its own that failed (or were left by a
        crash under the same name) once they waited ``retry_after``; those abandoned by
        consumers idle longer than ``claim_idle``; then new ones, blocking only when there
        is nothing else. A failing entry is retried after a pause, beside new entries, so it
        never holds back the entries behind it. ``recover=False`` skips the first two (two
        round trips a caller need not pay on every read). Entries in ``busy`` are still being
        handled by this consumer: they are not handed out again, however long they take."""
        entries: list[Entry[M]] = []
        if recover:
            entries += await self._recover(group, consumer, count, retry_after, claim_idle, busy)
        if len(entries) < count:
            wait = None if entries or block is None else _ms(block)
            fresh = await self.redis.xreadgroup(
                group, consumer, {self.key: ">"}, count=count - len(entries), block=wait
            )
            entries += self._parse(fresh[0][1] if fresh else [], {})
        return entries

    async def _recover(
        self,
        group: str,
        consumer: str,
        count: int,
        retry_after: timedelta,
        claim_idle: timedelta,
        busy: Collection[str],
    ) -> list[Entry[M]]:
        # Busy entries are pending too: ask for as many more, then leave them be (a claim
        # would count one more delivery).
        due = await self.redis.xpending_range(
            self.key,
            group,
            "-",
            "+",
            count + len(busy),
            consumername=consumer,
            idle=_ms(retry_after),
        )
        due = [d for d in due if as_text(d["message_id"]) not in busy][:count]
        entries: list[Entry[M]] = []
        if due:
            claimed = await self.redis.xclaim(
                self.key, group, consumer, _ms(retry_after), [d["message_id"] for d in due]
            )
            times = {as_text(d["message_id"]): d["times_delivered"] for d in due}
            entries += self._parse(claimed, times)
        if len(entries) < count:
            _, abandoned, _ = await self.redis.xautoclaim(
                self.key, group, consumer, _ms(claim_idle), count=count - len(entries)
            )
            if abandoned:
                ids = [as_text(entry_id) for entry_id, _ in abandoned]
                pending = await self.redis.xpending_range(self.key, group, ids[0], ids[-1], count)
                times = {as_text(p["message_id"]): p["times_delivered"] for p in pending}
                # Minus this claim: times counts it already, and _parse adds this read.
                entries += self._parse(abandoned, {k: v - 1 for k, v in times.items()})
        # Claimed as abandoned only when idle that long: one of ours taking longer than
        # ``claim_idle`` is still ours.
        return [entry for entry in entries if entry.id not in busy]

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
        info = next((g for g in groups if as_text(g["name"]) == group), None)
        if info is None:
            return 0
        safe = as_text(info["last-delivered-id"])
        if info["pending"]:
            summary = await self.redis.xpending(self.key, group)
            # None when other consumers acknowledged the rest since XINFO answered.
            if summary["min"] is not None:
                safe = as_text(summary["min"])
        return int(await self.redis.xtrim(self.key, minid=safe, approximate=False))

    def _parse(
        self, items: Sequence[tuple[bytes, dict[bytes, bytes] | None]], times: dict[str, int]
    ) -> list[Entry[M]]:
        """``times``: how often each was handed out before this read (absent: never)."""
        entries: list[Entry[M]] = []
        for raw_id, fields in items:
            entry_id = as_text(raw_id)
            deliveries = times.get(entry_id, 0) + 1
            raw = None if fields is None else fields.get(_FIELD.encode())
            if raw is None:
                entries.append(Entry(entry_id, None, "the entry has no payload", None, deliveries))
                continue
            text = raw.decode("utf-8", "replace")
            try:
                model = self.model.model_validate_json(raw)
            except ValidationError as error:
                entries.append(Entry(entry_id, None, str(error), text, deliveries))
            else:
                entries.append(Entry(entry_id, model, None, text, deliveries))
        return entries


def as_text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def stage_payload(pipe: Pipeline, key: str, payload: str) -> None:
    """Queue the append of an entry already serialized (a replayed dead letter)."""
    pipe.xadd(key, {_FIELD: payload})


def _durable(durability: Durability, answer: object) -> bool:
    if durability is Durability.REPLICA:
        return isinstance(answer, int) and answer >= 1
    assert isinstance(answer, list)
    local, replicas = (int(count) for count in answer)
    return local >= 1 and (durability is Durability.AOF or replicas >= 1)


def _ms(span: timedelta) -> int:
    return int(span.total_seconds() * 1000)


def alert_stream(redis: Redis, durability: Durability = Durability.PRIMARY) -> TypedStream[Alert]:
    """The stream from ingest to the router."""
    return TypedStream(redis, ALERT_STREAM, Alert, durability=durability)
