"""Incidents in Redis. Every change is one optimistic MULTI/EXEC transaction over the keys it
read (WATCH), retried on conflict, so concurrent routers and ack clicks never lose or double
a change; the event announcing a change is written in the same transaction."""

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from ingest.models import Alert
from ingest.stream import TypedStream
from router import keys
from router.config import RoutingConfig
from router.grouping import group_key
from router.incidents import Change, Outcome, acknowledge, apply_to_open, open_incident
from router.matching import place
from router.models import Incident, IncidentEvent, IncidentEventKind, TimelineEvent
from router.states import IllegalTransition

T = TypeVar("T")

ENDED_EPISODE_TTL = timedelta(days=1)
"""How long a resolved episode is remembered; a firing that arrives later than this for an
episode long over is taken as a new problem."""

APPLIED_MARKER_TTL = timedelta(days=2)
"""Longer than any entry stays pending: a consumer dead for days has its entries claimed
long before then."""

__all__ = ["IllegalTransition", "IncidentNotFound", "IncidentStore"]


class IncidentNotFound(LookupError):
    def __init__(self, incident_id: str) -> None:
        super().__init__(f"no incident {incident_id!r}")
        self.incident_id = incident_id


class IncidentStore:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.events: TypedStream[IncidentEvent] = TypedStream(
            redis, keys.EVENT_STREAM, IncidentEvent
        )

    async def get(self, incident_id: str) -> Incident | None:
        raw = await self.redis.get(keys.incident(incident_id))
        return None if raw is None else Incident.model_validate_json(raw)

    async def list(self, limit: int = 100, offset: int = 0) -> list[Incident]:
        """Newest first; incidents opened in the same millisecond, newest id first."""
        if offset < 0:
            raise ValueError(f"offset must not be negative, got {offset}")
        if limit <= 0:
            # ZREVRANGE 0 -1 would be the whole index.
            return []
        members = await self.redis.zrevrange(keys.INCIDENT_INDEX, offset, offset + limit - 1)
        if not members:
            return []
        docs = await self.redis.mget([keys.incident(_index_id(m)) for m in members])
        return [Incident.model_validate_json(doc) for doc in docs if doc is not None]

    async def apply_alert(
        self, alert: Alert, routing: RoutingConfig, delivery_id: str | None = None
    ) -> Change:
        """``delivery_id`` (the stream entry id) makes a redelivered entry change nothing."""
        placement = place(alert, routing)
        if placement is None:
            return Change(Outcome.UNROUTED)
        gkey = group_key(alert, placement)
        now = alert.received_at

        async def attempt(pipe: Pipeline) -> Change:
            if delivery_id is not None:
                await pipe.watch(keys.applied(delivery_id))
                if await pipe.exists(keys.applied(delivery_id)):
                    return Change(Outcome.DUPLICATE)
            episode = _episode(alert)
            if episode is not None and alert.is_firing:
                await pipe.watch(keys.ended_episode(alert.dedup_key))
                if await pipe.get(keys.ended_episode(alert.dedup_key)) == episode.encode():
                    return Change(Outcome.STALE)
            await pipe.watch(keys.open_group(gkey))
            open_id = await pipe.get(keys.open_group(gkey))
            if open_id is None:
                if not alert.is_firing:
                    change = Change(Outcome.IGNORED)
                else:
                    new_id = str(await self.redis.incr(keys.INCIDENT_SEQ))
                    change = open_incident(new_id, alert, placement, gkey, now)
            else:
                current = await self._load_watched(pipe, open_id.decode())
                change = apply_to_open(current, alert, placement, now)
            ended = None if alert.is_firing else episode
            if change.incident is None and ended is None:
                return change
            _begin(pipe)
            if change.incident is not None:
                self._save(pipe, change.incident)
                self._announce(pipe, change.incident.id, change.events, now)
                if change.outcome is Outcome.OPENED:
                    pipe.set(keys.open_group(gkey), change.incident.id)
                    pipe.zadd(keys.INCIDENT_INDEX, {_index_member(change.incident.id): _ms(now)})
                elif change.closes_group:
                    pipe.delete(keys.open_group(gkey))
            if ended is not None:
                # Remembered even when nothing was open: with several routers the resolution
                # can overtake its own firing, which must then not open an incident.
                pipe.set(keys.ended_episode(alert.dedup_key), ended, ex=ENDED_EPISODE_TTL)
            if delivery_id is not None:
                pipe.set(keys.applied(delivery_id), 1, ex=APPLIED_MARKER_TTL)
            return change

        return await self._transact(attempt)

    async def acknowledge(self, incident_id: str, person: str, at: datetime) -> Incident:
        """Idempotent; raises ``IncidentNotFound`` or ``IllegalTransition`` (resolved)."""

        async def attempt(pipe: Pipeline) -> Incident:
            incident = await self._load_watched(pipe, incident_id)
            if acknowledge(incident, person, at):
                _begin(pipe)
                self._save(pipe, incident)
                self._announce(pipe, incident.id, [IncidentEventKind.ACKNOWLEDGED], at)
            return incident

        return await self._transact(attempt)

    async def add_timeline(self, incident_id: str, events: Sequence[TimelineEvent]) -> Incident:
        """Append what another stage did (pages sent, escalations) to the incident's story."""

        async def attempt(pipe: Pipeline) -> Incident:
            incident = await self._load_watched(pipe, incident_id)
            incident.timeline.extend(events)
            _begin(pipe)
            self._save(pipe, incident)
            return incident

        return await self._transact(attempt)

    async def _load_watched(self, pipe: Pipeline, incident_id: str) -> Incident:
        key = keys.incident(incident_id)
        await pipe.watch(key)
        raw = await pipe.get(key)
        if raw is None:
            raise IncidentNotFound(incident_id)
        return Incident.model_validate_json(raw)

    def _save(self, pipe: Pipeline, incident: Incident) -> None:
        pipe.set(keys.incident(incident.id), incident.model_dump_json())

    def _announce(
        self,
        pipe: Pipeline,
        incident_id: str,
        kinds: Sequence[IncidentEventKind],
        at: datetime,
    ) -> None:
        for kind in kinds:
            self.events.stage(pipe, IncidentEvent(incident_id=incident_id, kind=kind, at=at))

    async def _transact(self, attempt: Callable[[Pipeline], Awaitable[T]]) -> T:
        while True:
            async with self.redis.pipeline(transaction=True) as pipe:
                try:
                    result = await attempt(pipe)
                    if pipe.explicit_transaction:
                        await pipe.execute()
                    return result
                except WatchError:
                    continue


def _episode(alert: Alert) -> str | None:
    """One firing episode of an alert: its identity and when it started, where the source
    says (a re-fire after a resolution starts a new episode)."""
    return None if alert.starts_at is None else alert.starts_at.astimezone(UTC).isoformat()


def _begin(pipe: Pipeline) -> None:
    """From reading (under WATCH) to queueing the writes of one MULTI/EXEC."""
    pipe.multi()  # type: ignore[no-untyped-call]


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


_INDEX_WIDTH = 20
"""Digits of an incident id in the index (ids count up from 1; 2**64 has 20 digits)."""


def _index_member(incident_id: str) -> str:
    """Equal scores sort by member as bytes, so the ids of incidents opened in the same
    millisecond (one webhook's alerts) are zero-padded to sort as numbers: "10" after "9"."""
    return incident_id.zfill(_INDEX_WIDTH)


def _index_id(member: bytes | str) -> str:
    text = member.decode() if isinstance(member, bytes) else member
    return str(int(text))
