"""What the notifier does after someone acted from the incident page, or when what they
did runs out: escalating at once, snoozes that end, acknowledgements that expire (the
route's ``ack_expiry``), and handing an incident to someone (a page to them, by their
notification rules, whose later steps are jobs of their own).

Like paging, each step re-reads the incident and does nothing once it moved on, and remembers
what it sent, so a job run late or twice changes nothing more.
"""

import logging
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ingest.clock import epoch_ms
from notifier import keys
from notifier.escalation import Step, epoch_tag, first, is_current, next_step, timeline_event
from notifier.rules import due_now, later
from notifier.sending import TAKEN_ELSEWHERE
from router.models import Incident, IncidentStatus, TimelineEvent, TimelineKind
from schedules.durations import format_duration

if TYPE_CHECKING:
    from notifier.paging import Pager

log = logging.getLogger(__name__)

ZERO = timedelta(0)


class Followups:
    def __init__(self, pager: "Pager") -> None:
        self.pager = pager

    async def escalate_now(self, incident_id: str, step: Step, by: str) -> None:
        """Someone asked from the incident page to escalate from ``step`` at once: what its
        acknowledgement timer would do, recorded as theirs, and the others paged told. The
        timer, when it runs, finds the escalation made."""
        incident = await self.pager.store.get(incident_id)
        if not is_current(incident, step):
            return
        after = next_step(self.pager.directory.policies[incident.policy], step)
        if after is None:
            return
        if await self.pager.deliveries.claim(incident_id, f"escalated:{step.key}"):
            event = TimelineEvent(
                at=self.pager.clock(),
                kind=TimelineKind.ESCALATED_BY_HAND,
                person=by,
                detail=f"escalated to {after} by {self.pager.sender.name(by)}",
                level=after.level + 1,
                round=after.round,
            )
            await self.pager.store.add_timeline(incident_id, [event])
            log.info(
                "incident %s: escalated to %s by %s",
                incident_id,
                after,
                by,
                extra={"event": event.kind.value, "incident": incident_id, "person": by},
            )
        others = await self.pager.paged(incident, [by])
        await self.pager.tell(
            incident, others, "escalated", TimelineKind.ESCALATED_NOTICE, step=after, by=by
        )
        await self.pager.page(incident_id, after)

    async def snoozed(self, incident_id: str, epoch: int) -> None:
        """Someone snoozed the incident: tell the others paged, and page it again when the
        snooze ends."""
        incident = await self.pager.store.get(incident_id)
        if incident is None or incident.page_epoch != epoch or incident.snoozed_until is None:
            return
        until = incident.snoozed_until
        await self.pager.scheduler.schedule(
            "snooze_over",
            first(epoch),
            incident_id,
            job_id=keys.snooze_job_id(incident_id, until),
            delay=max(until - self.pager.clock(), ZERO),
        )
        by = incident.acknowledged_by
        others = await self.pager.paged(incident, [by or ""])
        tag = f"{epoch_tag(epoch)}snoozed:{epoch_ms(until)}"
        await self.pager.tell(
            incident, others, "snoozed", TimelineKind.SNOOZED_NOTICE, tag=tag, by=by
        )

    async def snooze_over(self, incident_id: str) -> None:
        """A snooze ended: unless someone acknowledged the incident for good, snoozed it
        again or resolved it since, it waits for someone again (``retriggered``)."""
        incident = await self.pager.store.get(incident_id)
        now = self.pager.clock()
        if (
            incident is None
            or incident.status is not IncidentStatus.ACKNOWLEDGED
            or incident.snoozed_until is None
            or incident.snoozed_until > now
            or incident.acknowledged_at is None
        ):
            return
        detail = f"snooze by {self.pager.sender.name(incident.acknowledged_by)} ended"
        await self.pager.store.retrigger(incident_id, incident.acknowledged_at, now, detail)

    async def expire_later(self, incident_id: str) -> None:
        """Look at the acknowledgement again when its route's ``ack_expiry`` is over."""
        incident = await self.pager.store.get(incident_id)
        expiry = self._ack_expiry(incident)
        if incident is None or incident.acknowledged_at is None or expiry is None:
            return
        await self.pager.scheduler.schedule(
            "ack_expired",
            first(incident.page_epoch),
            incident_id,
            job_id=keys.ack_expiry_job_id(incident_id, incident.acknowledged_at),
            delay=max(incident.acknowledged_at + expiry - self.pager.clock(), ZERO),
        )

    async def ack_expired(self, incident_id: str) -> None:
        """An acknowledgement's ``ack_expiry`` is over: an incident still firing waits for
        someone again and pages from level 1, as PagerDuty does. Nothing when it was
        acknowledged again, snoozed or resolved since, or no alert fires any more."""
        incident = await self.pager.store.get(incident_id)
        expiry = self._ack_expiry(incident)
        now = self.pager.clock()
        if (
            incident is None
            or expiry is None
            or incident.acknowledged_at is None
            or incident.acknowledged_at + expiry > now
            or incident.alerts_firing == 0
        ):
            return
        who = self.pager.sender.name(incident.acknowledged_by)
        detail = f"acknowledgement by {who} expired after {format_duration(expiry)}, still firing"
        await self.pager.store.retrigger(incident_id, incident.acknowledged_at, now, detail)

    def _ack_expiry(self, incident: Incident | None) -> timedelta | None:
        """How long the incident's plain acknowledgement holds (a snooze has its own end)."""
        if (
            incident is None
            or incident.status is not IncidentStatus.ACKNOWLEDGED
            or incident.snoozed_until is not None
        ):
            return None
        route = self.pager.directory.routes.get(incident.route)
        return route.ack_expiry if route is not None else None

    async def reassigned(self, incident_id: str, epoch: int) -> None:
        """Someone handed the incident to a person: page them now with their own link, by
        their rules as a page goes (the later steps follow unless someone acknowledges), and
        tell the others paged."""
        incident = await self.pager.store.get(incident_id)
        if (
            incident is None
            or incident.page_epoch != epoch
            or incident.status is not IncidentStatus.TRIGGERED
            or incident.assigned_at is None
        ):
            return
        to, by = incident.assigned_to, incident.assigned_by
        if to is None or to not in self.pager.directory.people:
            return
        steps = self.pager.rule_steps.of(incident, [to]).get(to, ())
        await self._hand_over(incident, to, incident.assigned_at, due_now(steps) if steps else None)
        for index, rule in later(steps):
            await self.pager.scheduler.schedule(
                "assigned_rule",
                first(epoch),
                incident_id,
                job_id=keys.assigned_rule_job_id(incident_id, incident.assigned_at, to, index),
                delay=max(incident.assigned_at + rule.after - self.pager.clock(), ZERO),
                attempt=index,
                person=to,
            )
        others = await self.pager.paged(incident, [to, by or ""])
        await self.pager.tell(
            incident,
            others,
            "reassigned",
            TimelineKind.REASSIGNED_NOTICE,
            tag=f"reassigned:{epoch_ms(incident.assigned_at)}",
            by=by,
            assigned_to=to,
        )

    async def assigned_rule(self, incident_id: str, epoch: int, person: str, index: int) -> None:
        """Rule step ``index`` of the person the incident was handed to is due: unless they
        or someone acknowledged or resolved it, or it was handed on since."""
        incident = await self.pager.store.get(incident_id)
        if (
            not is_current(incident, first(epoch))
            or incident.assigned_to != person
            or incident.assigned_at is None
        ):
            return
        steps = self.pager.rule_steps.of(incident, [person]).get(person)
        if steps is None or index >= len(steps):
            return  # the rules changed since: the handover went by the new ones
        if incident.assigned_at + steps[index].after > self.pager.clock():
            return  # a job of an earlier handover to them: this one's own comes later
        await self._hand_over(incident, person, incident.assigned_at, steps[index].notify)

    async def _hand_over(
        self, incident: Incident, to: str, at: datetime, channels: Collection[str] | None
    ) -> None:
        """Page ``to`` about the incident handed to them at ``at``, by ``channels``
        (``None``: every method), each once per handover, and put it on the timeline."""
        by = incident.assigned_by
        tag = f"assigned:{epoch_ms(at)}"
        only = None if channels is None else {to: channels}
        results = await self.pager.sender.deliver(
            incident, [to], "assigned", None, tag, by=by, only=only
        )
        now, detail = self.pager.clock(), f"handed over by {self.pager.sender.name(by)}"
        events = [
            timeline_event(
                TimelineKind.PAGED if r.ok else TimelineKind.PAGE_FAILED,
                now,
                person,
                channel,
                None,
                detail if r.ok else r.detail,
            )
            for person, channel, r in results
            if r is not TAKEN_ELSEWHERE
        ]
        await self.pager.store.add_timeline(incident.id, events)
