"""Paging an incident's escalation level, escalating, and telling people it is over.

Every operation re-reads the incident and does nothing once it moved on (another status, or
a later paging run: ``Incident.page_epoch``), and remembers each delivery, so a job that runs
late, twice, or after a crash sends nothing twice.
"""

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal, Protocol

from prometheus_client import CollectorRegistry, Histogram

from ingest.clock import Clock, epoch_ms
from notifier import keys
from notifier.backoff import MAX_TRIES, retry_delay, wait_for
from notifier.bounces import Bounces
from notifier.channels import Channel, Kind, Notification
from notifier.channels.render import alerts_count, format_time
from notifier.config import Level
from notifier.deliveries import SENDING_LEASE, Deliveries
from notifier.directory import Directory, schedule_targets
from notifier.escalation import (
    FIRST,
    Step,
    epoch_tag,
    first,
    is_current,
    next_step,
    timeline_event,
)
from notifier.followups import Followups
from notifier.holds import HOLD_RECHECK, Hold, Holds
from notifier.rule_steps import RuleSteps
from notifier.rules import RuleStep, due_now, later
from notifier.sending import TAKEN_ELSEWHERE, Delivered, Links, Sender
from notifier.urgency import page_time
from router.config import Severity
from router.models import Incident, IncidentStatus, TimelineEvent, TimelineKind
from router.store import IncidentStore
from schedules.oncall import Cover
from schedules.override_store import OverrideStore

log = logging.getLogger(__name__)

ZERO = timedelta(0)
DELIVERIES_KEPT = timedelta(days=7)
"""How long what was delivered for a resolved incident is remembered."""
_FAILURES = "failures"
"""The deliveries record of "could not process" pages, kept apart from any incident's."""
_MAX_TITLE = 500


class Scheduler(Protocol):
    """Runs a notifier job later (arq in production); ids make scheduling idempotent."""

    async def schedule(
        self,
        job: str,
        step: Step,
        incident_id: str,
        *,
        job_id: str,
        delay: timedelta,
        attempt: int = 0,
        person: str | None = None,
    ) -> None:
        """``person``: who asked, for the jobs someone starts from the incident page; whose
        rule step it is, for ``notify_rule`` (whose ``attempt`` is the rule step's index)."""
        ...


class Pager:
    def __init__(
        self,
        store: IncidentStore,
        directory: Directory,
        channels: Sequence[Channel],
        links: Links,
        scheduler: Scheduler,
        clock: Clock,
        registry: CollectorRegistry,
        *,
        name: str = "",
    ) -> None:
        """``name``: the process's stream consumer name (see ``Deliveries``)."""
        self.store = store
        self.holds = Holds(store, directory)
        self.deliveries = Deliveries(store.redis, name)
        self.overrides = OverrideStore(store.redis)
        self.sender = Sender(store, self.deliveries, directory, channels, links, clock, registry)
        self._directory = directory
        self.scheduler = scheduler
        self.clock = clock
        self.followups = Followups(self)
        """What follows someone acting from the incident page."""
        self.rule_steps = RuleSteps(self)
        """The later steps of people's notification rules."""
        self.bounces = Bounces(self)
        """Deliveries that failed after they were sent."""
        self._first_page = Histogram(
            "tocsin_alert_to_first_page_seconds",
            "From receiving the alert that opened an incident to its first delivered page.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=registry,
        )
        self._to_acknowledge = Histogram(
            "tocsin_time_to_acknowledge_seconds",
            "From an incident opening to its first acknowledgement, by severity.",
            ["severity"],
            buckets=(30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400),
            registry=registry,
        )

    @property
    def directory(self) -> Directory:
        return self._directory

    @directory.setter
    def directory(self, directory: Directory) -> None:
        """A new configuration: what holds and what sends pages read it too."""
        self._directory = self.holds.directory = self.sender.directory = directory

    async def open(self, incident_id: str) -> None:
        """Page the first level, once the route's ``group_wait`` has let a burst of alerts
        join the incident."""
        incident = await self.store.get(incident_id)
        if incident is None:
            return
        route = self.directory.routes.get(incident.route)
        due = incident.created_at + route.group_wait if route and route.group_wait else None
        now = self.clock()
        if due is not None and due > now:
            await self.scheduler.schedule(
                "retry_page",
                FIRST,
                incident_id,
                job_id=keys.group_wait_job_id(incident_id),
                delay=due - now,
            )
            return
        await self._page(incident, FIRST)

    async def reopened(self, incident_id: str, epoch: int) -> None:
        """Page from level 1 again; what was delivered is remembered for as long as the
        incident is, again, so nothing of the new run is sent twice."""
        await self.deliveries.keep(incident_id)
        await self.page(incident_id, first(epoch))

    async def severity_raised(self, incident_id: str, epoch: int) -> None:
        """Urgency went up: page from level 1 again, people already paged too; or, once
        someone acknowledged it, tell them instead (paging would only interrupt them)."""
        incident = await self.store.get(incident_id)
        if incident is None or incident.page_epoch != epoch:
            return
        if incident.status is IncidentStatus.TRIGGERED:
            await self.page(incident_id, first(epoch))
        elif incident.status is IncidentStatus.ACKNOWLEDGED:
            await self.tell(
                incident,
                await self._owners(incident),
                "severity_raised",
                TimelineKind.SEVERITY_RAISED_NOTICE,
            )

    async def page(self, incident_id: str, step: Step, attempt: int = 0) -> None:
        """Page everyone at ``step``, then start its acknowledgement timer."""
        await self._page(await self.store.get(incident_id), step, attempt)

    async def _page(self, incident: Incident | None, step: Step, attempt: int = 0) -> None:
        """``page``, with the incident as just read (an opening page reads it once)."""
        if not is_current(incident, step):
            return
        incident_id = incident.id
        policy = self.directory.policies[incident.policy]
        level = policy.levels[step.level]
        now = self.clock()
        if not await self._urgent_now(incident, step, attempt, now):
            return
        held = await self.holds.held_by(incident_id, now)
        if held is not None:
            await self._hold(incident_id, step, attempt, held, now)
            return
        people = self.directory.resolve(level, now, incident_id, await self._covers(level, now))
        if not people:
            await self.escalate(incident_id, step, f"{step} pages nobody (a gap in its schedules)")
            return
        rules = self.rule_steps.of(incident, people)
        only = {person: due_now(steps) for person, steps in rules.items()}
        results = await self.sender.deliver(incident, people, "page", step, only=only)
        seed = f"{incident_id}:{step.key}"
        delay = self.retry_delay(seed, attempt, results, level.ack_timeout)
        # What the page leaves behind is written at once, in one round trip when the store
        # client pipelines: each write is idempotent, and the page is done once all are.
        await asyncio.gather(
            self.record(incident_id, step, attempt, results, delay, now),
            self._first_page_out(incident, step, attempt, results),
            self._timers(incident_id, step, attempt, level, delay, rules),
        )
        if delay is None:
            # Whoever has rule steps still to come may yet be reached by them.
            waiting = {person for person, steps in rules.items() if later(steps)}
            done = [person for person in people if person not in waiting]
            await self.unreachable(incident_id, step, done, results, now, people)

    async def _timers(
        self,
        incident_id: str,
        step: Step,
        attempt: int,
        level: Level,
        retry: timedelta | None,
        rules: dict[str, Sequence[RuleStep]],
    ) -> None:
        """The page's retry, if any, its acknowledgement timer and its rule steps."""
        if retry is not None:
            await self.scheduler.schedule(
                "retry_page",
                step,
                incident_id,
                job_id=keys.retry_job_id(incident_id, step, attempt + 1),
                delay=retry,
                attempt=attempt + 1,
            )
        await self.scheduler.schedule(
            "escalate",
            step,
            incident_id,
            job_id=keys.escalate_job_id(incident_id, step),
            delay=level.ack_timeout,
        )
        await self.rule_steps.schedule(incident_id, step, rules)

    def retry_delay(
        self, seed: str, attempt: int, results: Delivered, ack_timeout: timedelta
    ) -> timedelta | None:
        """When to try the failed deliveries of try ``attempt`` (0: the first) again, if at
        all; ``seed`` names what is retried, for its jitter."""
        retry = [r for *_, r in results if not r.ok and r.retryable]
        if not retry or attempt + 1 >= MAX_TRIES:
            return None
        if all(r is TAKEN_ELSEWHERE for r in retry):
            # A delivery another run took is made by that run; if it died, by this retry,
            # once the run's hold on the delivery is over.
            return SENDING_LEASE
        now = self.clock()
        waits = [wait_for(r.retry_after, now) for r in retry if r.retry_after is not None]
        return retry_delay(
            attempt + 1, seed, retry_after=max(waits, default=None), budget=ack_timeout
        )

    async def record(
        self,
        incident_id: str,
        step: Step,
        attempt: int,
        results: Delivered,
        retry: timedelta | None,
        now: datetime,
    ) -> None:
        """Put the page's deliveries on the timeline: a failure on the first try and the
        last (``retry``: none to come), not on every one between."""
        events = [
            timeline_event(
                TimelineKind.PAGED if r.ok else TimelineKind.PAGE_FAILED,
                now,
                person,
                channel,
                step,
                _under_config(
                    r.detail if r.ok or not attempt else f"{r.detail} (try {attempt + 1})",
                    self.directory.version,
                ),
            )
            for person, channel, r in results
            if r is not TAKEN_ELSEWHERE and (r.ok or not attempt or retry is None)
        ]
        if events:
            await self.store.add_timeline(incident_id, events)

    async def unreachable(
        self,
        incident_id: str,
        step: Step,
        tried: Sequence[str],
        results: Delivered,
        now: datetime,
        everyone: Sequence[str],
    ) -> None:
        """With nothing more to come for the ``tried`` people: record who no page of the
        step got to, each once. When that is ``everyone`` at the level, waiting out its ack
        timeout would only lose time: escalate."""
        paged_now = {person for person, _, r in results if r.ok}
        if paged_now.issuperset(tried):
            return  # the common case: what was delivered before need not be read
        busy = {person for person, _, r in results if r is TAKEN_ELSEWHERE}
        reached = await self.sender.reached(incident_id, step, tried)
        missed = [p for p in tried if p not in reached and p not in busy]
        for person in missed:
            if await self.deliveries.claim(incident_id, _unreachable_marker(step, person)):
                ways = sorted({channel for who, channel, _ in results if who == person})
                detail = f"every way failed: {', '.join(ways)}" if ways else "no way to page"
                event = timeline_event(TimelineKind.UNREACHABLE, now, person, None, step, detail)
                await self.store.add_timeline(incident_id, [event])
                log.warning(
                    "incident %s: %s unreachable at %s, %s",
                    incident_id,
                    person,
                    step,
                    detail,
                    extra={"event": "unreachable", "incident": incident_id, "person": person},
                )
        if not missed:
            return
        marked = await self.deliveries.done(incident_id)
        if all(_unreachable_marker(step, p) in marked for p in everyone):
            await self.escalate(incident_id, step, f"nobody at {step} could be reached")

    async def _covers(self, level: Level, now: datetime) -> dict[str, list[Cover]]:
        """The stored overrides of the level's schedules at ``now``: one small read."""
        names = schedule_targets(level)
        return await self.overrides.covers_of(names, now) if names else {}

    async def _first_page_out(
        self, incident: Incident, step: Step, attempt: int, results: Delivered
    ) -> None:
        """Once the first step's page got to someone: time it from when it was due, not
        counting what group_wait and support hours put off on purpose; and as it listed the
        alerts that joined by then, the next report of joined alerts counts from now."""
        if step != FIRST or not any(r.ok for *_, r in results):
            return
        route = self.directory.routes.get(incident.route)
        if attempt == 0:
            due = incident.created_at + (route.group_wait if route and route.group_wait else ZERO)
            due = page_time(incident.severity, route.support_hours if route else (), due) or due
            self._first_page.observe((self.clock() - due).total_seconds())
        if route is not None and route.group_interval is not None:
            await self.store.take_report(incident.id, self.clock())

    async def _urgent_now(
        self, incident: Incident, step: Step, attempt: int, now: datetime
    ) -> bool:
        """Whether the incident's severity lets it page now. If not, say so on its timeline
        once, and page it again when support hours start."""
        route = self.directory.routes.get(incident.route)
        at = page_time(incident.severity, route.support_hours if route else (), now)
        if at is None:
            detail = f"{incident.severity.value}: pages nobody"
            marker = f"{epoch_tag(step.epoch)}not-paged"
            await self._record_once(incident.id, marker, TimelineKind.NOT_PAGED, detail)
            return False
        if at <= now:
            return True
        detail = f"{incident.severity.value} outside support hours; pages at {format_time(at)}"
        marker = f"deferred:{step.key}:{at.isoformat()}"
        await self._record_once(incident.id, marker, TimelineKind.PAGE_DEFERRED, detail, step)
        await self.scheduler.schedule(
            "retry_page",
            step,
            incident.id,
            job_id=keys.support_hours_job_id(incident.id, step, at),
            delay=at - now,
            attempt=attempt,
        )
        return False

    async def _record_once(
        self,
        incident_id: str,
        marker: str,
        kind: TimelineKind,
        detail: str,
        step: Step | None = None,
    ) -> None:
        """Add an event to the incident's timeline unless ``marker`` was recorded before."""
        if not await self.deliveries.claim(incident_id, marker):
            return
        event = TimelineEvent(
            at=self.clock(),
            kind=kind,
            level=step.level + 1 if step else None,
            round=step.round if step else None,
            detail=detail,
        )
        await self.store.add_timeline(incident_id, [event])
        log.info(
            "incident %s: %s, %s",
            incident_id,
            kind.value.replace("_", " "),
            detail,
            extra={"event": kind.value, "incident": incident_id},
        )

    async def _hold(
        self, incident_id: str, step: Step, attempt: int, hold: Hold, now: datetime
    ) -> None:
        """Record the hold once, and look again when it ends or within a minute (a silence
        can be expired early, a source alert resolve)."""
        marker = f"held:{step.key}:{hold.key}"
        await self._record_once(incident_id, marker, TimelineKind.PAGE_HELD, hold.reason, step)
        delay = min(hold.until - now, HOLD_RECHECK)
        await self.scheduler.schedule(
            "retry_page",
            step,
            incident_id,
            job_id=keys.held_job_id(incident_id, step, now + delay),
            delay=delay,
            attempt=attempt,
        )

    async def escalate(self, incident_id: str, expired: Step, reason: str | None = None) -> None:
        """``expired``'s acknowledgement timer ran out, or ``reason`` says why waiting for
        it is pointless: page the next step, if any."""
        incident = await self.store.get(incident_id)
        if not is_current(incident, expired):
            return
        policy = self.directory.policies[incident.policy]
        step = next_step(policy, expired)
        now = self.clock()
        marker = f"escalated:{expired.key}"
        # The first run records the escalation; a second run only repairs missing pages.
        if await self.deliveries.claim(incident_id, marker):
            kind = TimelineKind.ESCALATED if step else TimelineKind.POLICY_EXHAUSTED
            ack_timeout = policy.levels[expired.level].ack_timeout
            detail = reason or f"no acknowledgement within {ack_timeout}"
            log.info(
                "incident %s: %s, %s",
                incident_id,
                f"escalated to {step}" if step else "escalation policy exhausted",
                detail,
                extra={"event": kind.value, "incident": incident_id},
            )
            event = TimelineEvent(
                at=now,
                kind=kind,
                detail=detail,
                level=step.level + 1 if step else None,
                round=step.round if step else None,
            )
            await self.store.add_timeline(incident_id, [event])
        if step is not None:
            await self.page(incident_id, step)

    async def report_alerts(self, incident_id: str) -> None:
        """Alerts joined the incident: once its route's ``group_interval`` since the last
        report (or since it opened) is over, tell whoever has it how many, listing those seen
        last: whoever acknowledged it, else whoever was paged at its latest step. Nobody
        paged yet: their page will list the alerts."""
        if not await self._report_due(incident_id):
            return
        now = self.clock()
        taken = await self.store.take_report(incident_id, now)
        if taken is None:
            return
        incident, joined = taken
        if incident.status is IncidentStatus.RESOLVED:
            return
        owners = await self._owners(incident)
        tag = f"update:{epoch_ms(now)}"
        only = self.rule_steps.for_notice(incident, owners, "update")
        results = await self.sender.deliver(
            incident, owners, "update", None, tag, joined, only=only
        )
        detail = f"{alerts_count(joined)} joined"
        events = [
            timeline_event(TimelineKind.UPDATE_NOTICE, now, person, channel, None, detail)
            for person, channel, r in results
            if r.ok
        ]
        await self.store.add_timeline(incident_id, events)

    async def _report_due(self, incident_id: str) -> bool:
        """Whether a report of joined alerts is due now; when it is due later, its job is
        scheduled (a job can run early: the first page reported the alerts since)."""
        incident = await self.store.get(incident_id)
        if incident is None or not incident.report_pending:
            return False
        now = self.clock()
        route = self.directory.routes.get(incident.route)
        if route is None or route.group_interval is None:
            # The route stopped reporting since: the due report is dropped, not kept due.
            await self.store.take_report(incident_id, now)
            return False
        due = (incident.last_report_at or incident.created_at) + route.group_interval
        if due <= now:
            return True
        await self.scheduler.schedule(
            "report_alerts",
            FIRST,
            incident_id,
            job_id=keys.report_job_id(incident_id, due),
            delay=due - now,
        )
        return False

    async def _owners(self, incident: Incident) -> list[str]:
        """Whoever acknowledged it; else whoever it was handed to; else, or when that was
        a tool (an API token) rather than a person, everyone paged at its latest level."""
        for owner in (incident.acknowledged_by, incident.assigned_to):
            if owner is not None and owner in self.directory.people:
                return [owner]
        paged = [
            e
            for e in await self.store.timeline(incident.id)
            if e.kind is TimelineKind.PAGED and e.person
        ]
        latest = max(((e.round or 0, e.level or 0) for e in paged), default=None)
        return sorted(
            {e.person for e in paged if e.person and (e.round or 0, e.level or 0) == latest}
        )

    async def resolved(self, incident_id: str, epoch: int = 0) -> None:
        """Tell everyone who was paged for the incident that it is resolved."""
        notice = TimelineKind.RESOLVED_NOTICE
        if await self._tell_the_paged(incident_id, epoch, "resolved", notice) is not None:
            await self.deliveries.forget_after(incident_id, DELIVERIES_KEPT)

    async def acknowledged(self, incident_id: str, epoch: int = 0) -> None:
        """Tell the others who were paged that someone has it, so they can stand down; and
        look again when the route's ``ack_expiry`` is over; and time the acknowledgement,
        once, in the first paging run only: a later run (a reopening, a raise) starts long
        after the incident opened."""
        incident = await self._tell_the_paged(
            incident_id, epoch, "acknowledged", TimelineKind.ACKNOWLEDGED_NOTICE
        )
        if incident is None:
            return
        await self.followups.expire_later(incident_id)
        if epoch != 0 or incident.acknowledged_at is None:
            return
        if await self.deliveries.claim(incident_id, "acknowledgement-timed"):
            waited = incident.acknowledged_at - incident.created_at
            self._to_acknowledge.labels(incident.severity.value).observe(waited.total_seconds())

    async def _tell_the_paged(
        self,
        incident_id: str,
        epoch: int,
        kind: Literal["resolved", "acknowledged"],
        record: TimelineKind,
    ) -> Incident | None:
        """Send a notice to everyone paged for the incident (but whoever acknowledged it);
        the incident as read, ``None`` when it is gone, or reopened or raised since
        (``epoch``)."""
        incident = await self.store.get(incident_id)
        if incident is None or incident.page_epoch != epoch:
            return None
        but = [incident.acknowledged_by or ""] if kind == "acknowledged" else []
        await self.tell(incident, await self.paged(incident, but), kind, record)
        return incident

    async def paged(self, incident: Incident, but: Sequence[str] = ()) -> list[str]:
        """Everyone paged for the incident so far, but ``but``."""
        story = await self.store.timeline(incident.id)
        paged = {e.person for e in story if e.kind is TimelineKind.PAGED and e.person}
        return sorted(paged.difference(but))

    async def tell(
        self,
        incident: Incident,
        people: Sequence[str],
        kind: Kind,
        record: TimelineKind,
        *,
        step: Step | None = None,
        tag: str | None = None,
        by: str | None = None,
        assigned_to: str | None = None,
    ) -> None:
        """Send a notice (not a page), once per paging run (or ``step``, or ``tag``), by the
        channels of people's first rule step, and record who got it."""
        results = await self.sender.deliver(
            incident,
            people,
            kind,
            step,
            tag,
            by=by,
            assigned_to=assigned_to,
            only=self.rule_steps.for_notice(incident, people, kind),
        )
        now = self.clock()
        events = [
            timeline_event(record, now, person, channel, None, r.detail)
            for person, channel, r in results
            if r.ok
        ]
        await self.store.add_timeline(incident.id, events)

    async def could_not_process(self, incident_id: str | None, reason: str, tag: str) -> None:
        """Something about the incident could not be done (an event or a timer kept
        failing): page the last level of its policy, or of every policy when the incident
        cannot be read, so a failure inside Tocsin still wakes someone. Once per ``tag``."""
        incident = None
        with contextlib.suppress(Exception):
            incident = None if incident_id is None else await self.store.get(incident_id)
        policies = (
            [self.directory.policies[incident.policy]]
            if incident is not None and incident.policy in self.directory.policies
            else list(self.directory.policies.values())
        )
        now = self.clock()
        last_levels = [policy.levels[-1] for policy in policies]
        stand_ins: dict[str, list[Cover]] = {}
        # The files alone answer when the store does not: this page must go out.
        with contextlib.suppress(Exception):
            names = [name for level in last_levels for name in schedule_targets(level)]
            stand_ins = await self.overrides.covers_of(names, now)
        people = list(
            dict.fromkeys(
                p
                for level in last_levels
                for p in self.directory.resolve(level, now, None, stand_ins)
            )
        )
        title = f"Tocsin could not process incident {incident_id or '(unknown)'}: {reason}"
        for person_id in people:
            note = Notification(
                kind="page",
                incident_id=incident_id or "?",
                title=title[:_MAX_TITLE],
                severity=incident.severity if incident is not None else Severity.SEV1,
                status=IncidentStatus.TRIGGERED,
                level=max(len(policy.levels) for policy in policies),
                person=person_id,
                person_name=self.directory.people[person_id].name,
            )
            await self.sender.deliver_once(_FAILURES, tag, person_id, note, "failure")
        log.error("paged %s: %s", ", ".join(people) or "nobody (no policies)", title)


def _under_config(detail: str, version: str) -> str:
    """A page's detail names the configuration version that chose whom to page, so a page
    to the wrong person can be traced to the edit that made it."""
    return f"{detail}; config {version}" if version else detail


def _unreachable_marker(step: Step, person: str) -> str:
    return f"unreachable:{step.key}:{person}"
