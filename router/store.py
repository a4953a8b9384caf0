"""Incidents in Redis: a small head per incident, its alerts in a hash, its story in a list.

Applying an alert is one call of ``apply_alert.lua`` touching only the head, that alert's
record and short lists, so it costs the same whatever the incident holds; a batch of alerts
is one round trip. Resolving by hand is one call of ``resolve_incident.lua``, setting the
severity by hand one of ``set_severity.lua``; acknowledging is an optimistic MULTI/EXEC over
the head. The event that announces a change is written atomically with the change.
"""

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from importlib import resources
from itertools import chain
from typing import TypeVar, cast

from pydantic import TypeAdapter
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import NoScriptError, ResponseError, WatchError

from ingest.models import Alert, AlertStatus
from ingest.stream import TypedStream
from router import keys
from router.config import RoutingConfig, Severity
from router.incidents import (
    Change,
    Outcome,
    Resolution,
    SeverityChange,
    acknowledge,
    reassign,
    snooze,
)
from router.inhibition import InhibitRule, target_groups
from router.models import (
    AlertRecord,
    Incident,
    IncidentEvent,
    IncidentEventKind,
    IncidentStatus,
    TimelineEvent,
)
from router.script_args import ScriptArgs
from router.states import IllegalTransition

T = TypeVar("T")
_TIME = TypeAdapter(datetime)

MAX_ALERTS_PAGE = 1000


def _script(name: str) -> str:
    """The script after what every incident script shares (``incident.lua``)."""
    folder = resources.files("router")
    return (folder / "incident.lua").read_text() + (folder / name).read_text()


_APPLY = _script("apply_alert.lua")
_APPLY_MANY = f"""
local function apply(ARGV)
{_APPLY}
end
local prefix, results = ARGV[1], {{}}
for i = 2, #ARGV, 3 do
  local ok, result = pcall(apply, {{prefix, ARGV[i], ARGV[i + 1], ARGV[i + 2]}})
  if not ok then
    result = {{'error', type(result) == 'table' and result.err or tostring(result)}}
  end
  results[#results + 1] = result
end
return results
"""
"""``apply_alert.lua`` for many alerts in one call: a command costs the router and the store
more than applying a repeat does. Each alert's change is its own: one that fails leaves an
error in its place and the others go on."""
ALERTS_PER_CALL = 100
"""Alerts applied by one script call: few enough that the store, which runs nothing else
during a script, answers other clients within a few milliseconds."""
_RESOLVE = _script("resolve_incident.lua")
_RETRIGGER = _script("retrigger.lua")
_SET_SEVERITY = _script("set_severity.lua")
_PUSH_TIMELINE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return redis.error_reply('NOINCIDENT') end
redis.call('RPUSH', KEYS[2], unpack(ARGV))
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
return 1
"""

_ALERTS_PAGE = """
local order = redis.call('ZREVRANGE', KEYS[1], ARGV[1], ARGV[2])
local shown = math.min(#order, tonumber(ARGV[3]))
if shown == 0 then return {#order, {}} end
return {#order, redis.call('HMGET', KEYS[2], unpack(order, 1, shown))}
"""
"""KEYS: the incident's alert order and its alerts. ARGV: the first and last rank to read (one
past the page, to tell whether another follows), the page's size. Returns how many ranks were
read and the page's alerts: one round trip, where reading the order then the alerts took two
(every page sent lists the incident's alerts)."""
_TAKE_REPORT = """
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
local head = cjson.decode(raw)
local pending, joined = head.report_pending, head.alerts_unreported or 0
head.report_pending, head.alerts_unreported, head.last_report_at = false, 0, ARGV[1]
redis.call('SET', KEYS[1], cjson.encode(head), 'KEEPTTL')
if not pending then return false end
return {joined, cjson.encode(head)}
"""

__all__ = ["IllegalTransition", "IncidentNotFound", "IncidentStore"]

# Spelled here: inside the class, ``list`` is the method of that name.
Records = list[AlertRecord]
Timeline = list[TimelineEvent]
Incidents = list[Incident]
Results = list[list[Change] | BaseException]
_Pending = list[list[Change] | BaseException | None]
_ScriptCalls = list[list[str]]
_Chunks = list[_ScriptCalls]
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
        self._apply = redis.register_script(_APPLY_MANY)
        self._args: ScriptArgs | None = None
        self._push_timeline = redis.register_script(_PUSH_TIMELINE)
        self._take_report = redis.register_script(_TAKE_REPORT)
        self._alerts_page = redis.register_script(_ALERTS_PAGE)
        self._resolve = redis.register_script(_RESOLVE)
        self._retrigger = redis.register_script(_RETRIGGER)
        self._set_severity = redis.register_script(_SET_SEVERITY)

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
        ranked, raws = await self._alerts_page(
            keys=[keys.incident_order(incident_id), keys.incident_alerts(incident_id)],
            args=[cursor, cursor + limit, limit],
        )
        records = [AlertRecord.model_validate_json(raw) for raw in raws if raw is not None]
        return records, cursor + limit if ranked > limit else None

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
        if self._args is None or self._args.routing is not routing:
            self._args = ScriptArgs(routing)
        args = self._args
        results: _Pending = []
        spans: _Spans = []
        calls: _ScriptCalls = []
        for alert, delivery_id in batch:
            if alert.status is AlertStatus.ACKNOWLEDGED:
                results.append(ValueError("an acknowledgement is applied by acknowledge_alert"))
                continue
            try:
                script_calls = args.calls(alert, delivery_id)
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
        chunks = [
            calls[start : start + ALERTS_PER_CALL]
            for start in range(0, len(calls), ALERTS_PER_CALL)
        ]
        replies = await self._evalsha(chunks)
        missing = [i for i, reply in enumerate(replies) if isinstance(reply, NoScriptError)]
        if missing:
            await self.redis.script_load(_APPLY_MANY)
            again = await self._evalsha([chunks[i] for i in missing])
            for index, reply in zip(missing, again, strict=True):
                replies[index] = reply
        answers: _Answers = []
        for chunk, reply in zip(chunks, replies, strict=True):
            if isinstance(reply, BaseException):
                answers += [reply] * len(chunk)
            else:
                assert isinstance(reply, list)
                answers += [_failure(answer) or answer for answer in reply]
        return answers

    async def _evalsha(self, chunks: _Chunks) -> _Answers:
        async with self.redis.pipeline(transaction=False) as pipe:
            for chunk in chunks:
                pipe.evalsha(self._apply.sha, 0, keys.PREFIX, *chain.from_iterable(chunk))
            return list(await pipe.execute(raise_on_error=False))

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

    async def open_incidents(self, group_keys: Sequence[str]) -> dict[str, Incident]:
        """The open incident of each group that has one, by group key."""
        if not group_keys:
            return {}
        ids = await self.redis.mget([keys.open_group(gkey) for gkey in group_keys])
        found = {gkey: i.decode() for gkey, i in zip(group_keys, ids, strict=True) if i}
        heads = await self.redis.mget([keys.incident(i) for i in found.values()]) if found else []
        return {
            gkey: Incident.model_validate_json(head)
            for gkey, head in zip(found, heads, strict=True)
            if head is not None
        }

    async def acknowledge(self, incident_id: str, person: str, at: datetime) -> Incident:
        """Idempotent; raises ``IncidentNotFound`` or ``IllegalTransition`` (resolved)."""
        return await self._change_head(
            incident_id,
            lambda incident: acknowledge(incident, person, at),
            IncidentEventKind.ACKNOWLEDGED,
            at,
        )

    async def snooze(
        self, incident_id: str, person: str, at: datetime, until: datetime
    ) -> Incident:
        """Acknowledge as ``person`` until ``until``, when the notifier pages it again if
        nobody acknowledged it for good or resolved it meanwhile. Idempotent while the
        snooze runs; raises as ``acknowledge`` does."""
        return await self._change_head(
            incident_id,
            lambda incident: snooze(incident, person, at, until),
            IncidentEventKind.SNOOZED,
            at,
        )

    async def reassign(self, incident_id: str, to: str, by: str, at: datetime) -> Incident:
        """Make ``to`` the owner of an incident that waits for someone (the notifier pages
        them). Idempotent; raises ``IncidentNotFound`` or ``IllegalTransition`` (taken or
        resolved)."""
        return await self._change_head(
            incident_id,
            lambda incident: reassign(incident, to, by, at),
            IncidentEventKind.REASSIGNED,
            at,
        )

    async def retrigger(
        self, incident_id: str, acknowledged_at: datetime, at: datetime, detail: str
    ) -> Incident | None:
        """Put an incident acknowledged at ``acknowledged_at`` back to triggered under a new
        paging run, announced (``retrigger.lua``); ``None`` when it changed since (resolved,
        acknowledged again, gone), as then the acknowledgement that ran out is not its
        latest."""
        fields = {"now": at.isoformat(), "retention": 0}
        answer = await self._retrigger(
            args=[
                keys.PREFIX,
                json.dumps(
                    {
                        **fields,
                        "id": incident_id,
                        "acknowledged_at": _json_time(acknowledged_at),
                        "detail": detail,
                    }
                ),
            ]
        )
        return Incident.model_validate_json(answer) if answer else None

    async def _change_head(
        self,
        incident_id: str,
        change: Callable[[Incident], TimelineEvent | None],
        kind: IncidentEventKind,
        at: datetime,
    ) -> Incident:
        """Apply a pure change to the head, with its timeline event and its announcement,
        in one optimistic transaction; nothing is written when it changes nothing."""

        async def attempt(pipe: Pipeline) -> Incident:
            key = keys.incident(incident_id)
            await pipe.watch(key)
            raw = await pipe.get(key)
            if raw is None:
                raise IncidentNotFound(incident_id)
            incident = Incident.model_validate_json(raw)
            event = change(incident)
            if event is not None:
                pipe.multi()  # type: ignore[no-untyped-call]
                pipe.set(key, incident.model_dump_json(), keepttl=True)
                pipe.rpush(keys.incident_timeline(incident_id), event.model_dump_json())
                self.events.stage(
                    pipe,
                    IncidentEvent(
                        incident_id=incident_id, kind=kind, at=at, epoch=incident.page_epoch
                    ),
                )
            return incident

        return await self._transact(attempt)

    async def resolve(
        self, incident_id: str, by: str, at: datetime, *, retention: timedelta
    ) -> tuple[Resolution, Incident | None]:
        """Resolve an open incident whatever its alerts say (someone knows it is over), and
        keep it for ``retention`` (the routing configuration's). Its alerts that still fire
        then open a new incident. Idempotent; returns the incident as it now is."""
        if not by.strip():
            raise ValueError("say who resolves the incident")
        fields = {"now": at.isoformat(), "retention": int(retention.total_seconds())}
        answer = await self._resolve(
            args=[keys.PREFIX, json.dumps({**fields, "id": incident_id, "by": by})]
        )
        head = Incident.model_validate_json(answer[1]) if len(answer) > 1 else None
        return Resolution(answer[0].decode()), head

    async def set_severity(
        self, incident_id: str, severity: Severity, by: str, at: datetime
    ) -> tuple[SeverityChange, Incident | None]:
        """Set an open incident's severity by hand (``set_severity.lua``): a raise pages from
        level 1 again as a raise by an alert does, a lower is recorded and later pages go by
        it. Alerts joining later may raise it again but never lower it. Idempotent; returns
        the incident as it now is."""
        if not by.strip():
            raise ValueError("say who sets the severity")
        fields = {"now": at.isoformat(), "retention": 0}
        answer = await self._set_severity(
            args=[
                keys.PREFIX,
                json.dumps({**fields, "id": incident_id, "severity": severity.value, "by": by}),
            ]
        )
        head = Incident.model_validate_json(answer[1]) if len(answer) > 1 else None
        return SeverityChange(answer[0].decode()), head

    async def acknowledge_alert(
        self, dedup_key: str, group_keys: Sequence[str], person: str, at: datetime
    ) -> Incidents:
        """Acknowledge the open incidents of these groups in which the alert with this dedup
        key fires, as ``acknowledge`` does; the incidents, as they now are. None when it
        fires in none: acknowledging an alert that is not firing changes nothing, as
        PagerDuty has it."""
        incidents: Incidents = []
        for incident in (await self.open_incidents(group_keys)).values():
            if incident.status is IncidentStatus.RESOLVED:
                continue  # the key of a group a storm took in outlives its incident
            raw = await cast(
                Awaitable[bytes | None],
                self.redis.hget(keys.incident_alerts(incident.id), dedup_key),
            )
            if raw is None or AlertRecord.model_validate_json(raw).status is not AlertStatus.FIRING:
                continue
            try:
                incidents.append(await self.acknowledge(incident.id, person, at))
            except (IncidentNotFound, IllegalTransition):
                continue  # resolved or gone since it was read
        return incidents

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

    async def take_report(self, incident_id: str, at: datetime) -> tuple[Incident, int] | None:
        """Take the due report of alerts that joined the incident: how many joined since the
        last one, with the incident as the report leaves it; ``None`` when none is due. The
        next report counts from ``at`` either way. One atomic step, so alerts joining
        meanwhile count towards the next report."""
        taken = await self._take_report(keys=[keys.incident(incident_id)], args=[at.isoformat()])
        if not taken:
            return None
        joined, head = taken
        return Incident.model_validate_json(head), int(joined)

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


def _failure(answer: list[bytes]) -> ResponseError | None:
    """The error an alert's call ended in, as the store reports a failed command."""
    return ResponseError(answer[1].decode()) if answer[0] == b"error" else None


def _change(answer: object) -> Change:
    assert isinstance(answer, list)  # the script's reply: {outcome, id, head}
    outcome = Outcome(answer[0].decode())
    incident_id = answer[1].decode() if len(answer) > 1 else None
    incident = Incident.model_validate_json(answer[2]) if len(answer) > 2 else None
    return Change(outcome, incident, incident_id)


def _json_time(at: datetime) -> str:
    """A time as the head stores it (pydantic's JSON), for the scripts to compare."""
    return cast(str, _TIME.dump_python(at, mode="json"))


def _index_id(member: bytes | str) -> str:
    """Index members are ids zero-padded to 20 digits (written by ``apply_alert.lua``), so
    ids opened in the same millisecond sort as numbers."""
    text = member.decode() if isinstance(member, bytes) else member
    return str(int(text))
