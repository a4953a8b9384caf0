"""Incidents in Redis: a small head per incident, its alerts in a hash, its story in a list.

Applying an alert is one call of ``apply_alert.lua`` touching only the head, that alert's
record and short lists, so it costs the same whatever the incident holds; a batch of alerts
is one round trip. Acknowledging is an optimistic MULTI/EXEC over the head. The event that
announces a change is written atomically with the change.
"""

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import TypeVar, cast

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import NoScriptError, WatchError

from ingest.models import Alert
from ingest.stream import TypedStream
from router import keys
from router.config import RoutingConfig, Severity
from router.grouping import group_key, group_labels, group_name, storm_group_key
from router.incidents import Change, Outcome, acknowledge
from router.inhibition import InhibitRule, source_groups, target_groups
from router.matching import Placement, place
from router.models import (
    AlertRecord,
    Incident,
    IncidentEvent,
    IncidentEventKind,
    TimelineEvent,
)
from router.states import IllegalTransition

T = TypeVar("T")

ENDED_EPISODE_TTL = timedelta(days=1)
"""How long a resolved episode is remembered; a firing that arrives later than this for an
episode long over is taken as a new problem."""
TIMELINE_ALERT_EVENTS = 100
"""Alert events an incident's timeline lists; later ones are counted on its head."""
MAX_ALERTS_PAGE = 1000
STORM_LISTED = 10
"""Groups a storm incident lists by name; the others are counted."""

_APPLY = (resources.files("router") / "apply_alert.lua").read_text()
_PUSH_TIMELINE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return redis.error_reply('NOINCIDENT') end
redis.call('RPUSH', KEYS[2], unpack(ARGV))
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
return 1
"""

__all__ = ["IllegalTransition", "IncidentNotFound", "IncidentStore"]

# Spelled here: inside the class, ``list`` is the method of that name.
Records = list[AlertRecord]
Timeline = list[TimelineEvent]
Results = list[list[Change] | BaseException]
_Pending = list[list[Change] | BaseException | None]
_ScriptCalls = list[list[str]]
_Answers = list[object]
_Spans = list[tuple[int, int]]
"""An alert's place in the results, and how many script calls it made."""


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
        self._apply = redis.register_script(_APPLY)
        self._push_timeline = redis.register_script(_PUSH_TIMELINE)

    async def get(self, incident_id: str) -> Incident | None:
        raw = await self.redis.get(keys.incident(incident_id))
        return None if raw is None else Incident.model_validate_json(raw)

    async def list(self, limit: int = 100, offset: int = 0) -> list[Incident]:
        """Newest first; incidents opened in the same millisecond, newest id first. Expired
        incidents are dropped from the index as they are met."""
        if offset < 0:
            raise ValueError(f"offset must not be negative, got {offset}")
        if limit <= 0:
            # ZREVRANGE 0 -1 would be the whole index.
            return []
        members = await self.redis.zrevrange(keys.INCIDENT_INDEX, offset, offset + limit - 1)
        if not members:
            return []
        docs = await self.redis.mget([keys.incident(_index_id(m)) for m in members])
        expired = [m for m, doc in zip(members, docs, strict=True) if doc is None]
        if expired:
            await self.redis.zrem(keys.INCIDENT_INDEX, *expired)
        return [Incident.model_validate_json(doc) for doc in docs if doc is not None]

    async def alerts(
        self, incident_id: str, *, limit: int = 100, cursor: int = 0
    ) -> tuple[Records, int | None]:
        """A page of the incident's alerts, firing first, most recently seen first; and the
        cursor of the next page (``None`` after the last)."""
        if not 1 <= limit <= MAX_ALERTS_PAGE or cursor < 0:
            raise ValueError(f"limit must be 1..{MAX_ALERTS_PAGE} and cursor 0 or more")
        order = await self.redis.zrevrange(keys.incident_order(incident_id), cursor, cursor + limit)
        shown = order[:limit]
        raws = (
            await cast(
                Awaitable[Sequence[bytes | None]],
                self.redis.hmget(keys.incident_alerts(incident_id), shown),
            )
            if shown
            else []
        )
        records = [AlertRecord.model_validate_json(raw) for raw in raws if raw is not None]
        return records, cursor + limit if len(order) > limit else None

    async def timeline(self, incident_id: str) -> Timeline:
        raws = await cast(
            Awaitable[Sequence[bytes]],
            self.redis.lrange(keys.incident_timeline(incident_id), 0, -1),
        )
        return [TimelineEvent.model_validate_json(raw) for raw in raws]

    async def apply_alert(
        self, alert: Alert, routing: RoutingConfig, delivery_id: str | None = None
    ) -> Change:
        """The change on the alert's first route (see ``apply_alerts`` for all of them).
        ``delivery_id`` (the stream entry id) makes a redelivered entry change nothing."""
        results = await self.apply_alerts([(alert, delivery_id)], routing)
        result = results[0]
        if isinstance(result, BaseException):
            raise result
        return result[0]

    async def apply_alerts(
        self, batch: Sequence[tuple[Alert, str | None]], routing: RoutingConfig
    ) -> Results:
        """Apply each alert (with its stream entry id) on every route it lands on, in one
        round trip for the batch. Each alert gets its changes, one per route in tree order
        (``[UNROUTED]`` when none), or an error when any of them failed: the entry is then
        tried again whole, and the routes it was already applied on find it a duplicate.
        A store that cannot be reached raises."""
        results: _Pending = []
        spans: _Spans = []
        calls: _ScriptCalls = []
        for alert, delivery_id in batch:
            try:
                script_calls = self._script_calls(alert, routing, delivery_id)
            except Exception as error:
                results.append(error)
                continue
            if not script_calls:
                results.append([Change(Outcome.UNROUTED)])
                continue
            calls += script_calls
            spans.append((len(results), len(script_calls)))
            results.append(None)
        answers = await self._apply_all(calls) if calls else []
        start = 0
        for index, count in spans:
            mine = answers[start : start + count]
            start += count
            failed = next((answer for answer in mine if isinstance(answer, BaseException)), None)
            results[index] = [_change(answer) for answer in mine] if failed is None else failed
        return [result for result in results if result is not None]

    async def _apply_all(self, calls: _ScriptCalls) -> _Answers:
        """Every call in one round trip; the script is sent again only when the store does
        not have it (it restarted)."""
        answers = await self._evalsha(calls)
        missing = [i for i, answer in enumerate(answers) if isinstance(answer, NoScriptError)]
        if missing:
            await self.redis.script_load(_APPLY)
            again = await self._evalsha([calls[i] for i in missing])
            for index, answer in zip(missing, again, strict=True):
                answers[index] = answer
        return answers

    async def _evalsha(self, calls: _ScriptCalls) -> _Answers:
        async with self.redis.pipeline(transaction=False) as pipe:
            for args in calls:
                pipe.evalsha(self._apply.sha, 0, *args)
            return list(await pipe.execute(raise_on_error=False))

    def _script_calls(
        self, alert: Alert, routing: RoutingConfig, delivery_id: str | None
    ) -> _ScriptCalls:
        """One call of the script per route the alert lands on; each route has its own group,
        and the alert a record of its own in each route's incident."""
        now = alert.received_at
        placements = place(alert, routing)
        if not placements:
            return []
        # Severity is the alert's, whatever the route: one record serves every route.
        record = _record(alert, placements[0].severity, now).model_dump_json()
        common = {
            "dedup": alert.dedup_key,
            "firing": alert.is_firing,
            "now": now.isoformat(),
            "now_ms": _ms(now),
            "entry": delivery_id or "",
            "episode": _episode(alert) or "",
            "severity": placements[0].severity.value,
            "summary": alert.summary,
            "ended_ttl": int(ENDED_EPISODE_TTL.total_seconds()),
            "retention": int(routing.retention.total_seconds()),
            "max_events": TIMELINE_ALERT_EVENTS,
            "not_shown": alert.sender_not_shown,
            "inhibits": source_groups(routing.inhibit_rules, alert.labels),
        }
        calls: _ScriptCalls = []
        for placement in placements:
            route = placement.route
            head = _new_head(alert, placement, group_key(alert, route), now)
            own: dict[str, object] = {"group": head.group_key}
            if route.storm_limit is not None:
                own["storm"] = {
                    "limit": route.storm_limit,
                    "group": storm_group_key(route),
                    "name": group_name(alert, route),
                    "listed": STORM_LISTED,
                }
            fields = json.dumps({**common, **own})
            # The record and head are JSON already: spliced in, not encoded again. Only the
            # script gives a head its id, or makes it a storm's.
            new_head = head.model_dump_json(exclude={"id", "storm"})
            packed = f'{fields[:-1]},"record":{record},"head":{new_head}}}'
            calls.append([keys.PREFIX, packed])
        return calls

    async def inhibiting(
        self, rules: Sequence[InhibitRule], labels: Mapping[str, str]
    ) -> str | None:
        """The inhibition group whose firing sources hold an alert with these labels, if any."""
        groups = target_groups(rules, labels)
        if not groups:
            return None
        async with self.redis.pipeline(transaction=False) as pipe:
            for group in groups:
                pipe.exists(keys.inhibition_group(group))
            found = await pipe.execute()
        return next((group for group, n in zip(groups, found, strict=True) if n), None)

    async def acknowledge(self, incident_id: str, person: str, at: datetime) -> Incident:
        """Idempotent; raises ``IncidentNotFound`` or ``IllegalTransition`` (resolved)."""

        async def attempt(pipe: Pipeline) -> Incident:
            key = keys.incident(incident_id)
            await pipe.watch(key)
            raw = await pipe.get(key)
            if raw is None:
                raise IncidentNotFound(incident_id)
            incident = Incident.model_validate_json(raw)
            event = acknowledge(incident, person, at)
            if event is not None:
                pipe.multi()  # type: ignore[no-untyped-call]
                pipe.set(key, incident.model_dump_json())
                pipe.rpush(keys.incident_timeline(incident_id), event.model_dump_json())
                self.events.stage(
                    pipe,
                    IncidentEvent(
                        incident_id=incident_id, kind=IncidentEventKind.ACKNOWLEDGED, at=at
                    ),
                )
            return incident

        return await self._transact(attempt)

    async def add_timeline(self, incident_id: str, events: Sequence[TimelineEvent]) -> None:
        """Append what another stage did (pages sent, escalations) to the incident's story;
        raises ``IncidentNotFound`` when the incident is gone."""
        if not events:
            return
        try:
            await self._push_timeline(
                keys=[keys.incident(incident_id), keys.incident_timeline(incident_id)],
                args=[event.model_dump_json() for event in events],
            )
        except Exception as error:
            if "NOINCIDENT" in str(error):
                raise IncidentNotFound(incident_id) from None
            raise

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


def _change(answer: object) -> Change:
    assert isinstance(answer, list)  # the script's reply: {outcome, id, head}
    outcome = Outcome(answer[0].decode())
    incident_id = answer[1].decode() if len(answer) > 1 else None
    incident = Incident.model_validate_json(answer[2]) if len(answer) > 2 else None
    return Change(outcome, incident, incident_id)


def _new_head(alert: Alert, placement: Placement, gkey: str, now: datetime) -> Incident:
    return Incident(
        id="",
        title=alert.summary,
        severity=placement.severity,
        route=placement.route.name,
        policy=placement.route.policy,
        service=placement.route.service,
        group_key=gkey,
        group_labels=group_labels(alert, placement.route),
        created_at=now,
    )


def _record(alert: Alert, severity: Severity, now: datetime) -> AlertRecord:
    return AlertRecord(
        dedup_key=alert.dedup_key,
        status=alert.status,
        summary=alert.summary,
        labels=alert.labels,
        annotations=alert.annotations,
        generator_url=alert.generator_url,
        severity=severity,
        first_seen=now,
        last_seen=now,
    )


def _episode(alert: Alert) -> str | None:
    """One firing episode of an alert: its identity and when it started, where the source
    says (a re-fire after a resolution starts a new episode)."""
    return None if alert.starts_at is None else alert.starts_at.astimezone(UTC).isoformat()


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _index_id(member: bytes | str) -> str:
    """Index members are ids zero-padded to 20 digits (written by ``apply_alert.lua``), so
    ids opened in the same millisecond sort as numbers."""
    text = member.decode() if isinstance(member, bytes) else member
    return str(int(text))
