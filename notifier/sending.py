"""Sending notifications to people, each delivery once.

A delivery (one kind of notice, to one person, by one channel, for one step of one paging
run) is recorded once made, and taken while it is being made, so a run that comes late,
twice or after a crash sends nothing twice.
"""

import asyncio
import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram

from ingest.clock import Clock
from notifier.channels import (
    ACTION_KINDS,
    MAX_ALERTS,
    Channel,
    DeliveryResult,
    Kind,
    Notification,
    carries,
)
from notifier.config import Person
from notifier.deliveries import Deliveries, Taking
from notifier.directory import Directory
from notifier.escalation import Step, epoch_tag
from notifier.signing import action_url
from router.models import Incident
from router.store import IncidentStore

log = logging.getLogger(__name__)

TAKEN_ELSEWHERE = DeliveryResult.failed("being sent by another run", retryable=True)
"""The result of a delivery left to the run that took it first (not in the timeline)."""

Delivered = list[tuple[str, str, DeliveryResult]]
"""Per delivery tried: the person, the channel and what came of it."""


@dataclass(frozen=True)
class Links:
    """Where the incident pages are served and the key that signs their links (which last
    as long as their incident, and a grace period after it resolved: ``notifier.ack_web``)."""

    public_url: str
    secret: bytes


class Sender:
    def __init__(
        self,
        store: IncidentStore,
        deliveries: Deliveries,
        directory: Directory,
        channels: Sequence[Channel],
        links: Links,
        clock: Clock,
        registry: CollectorRegistry,
    ) -> None:
        self.store = store
        self.deliveries = deliveries
        self.directory = directory
        self.channels = channels
        self.links = links
        self.clock = clock
        self._sent = Counter(
            "tocsin_notifications",
            "Notifications attempted, by channel, kind and result.",
            ["channel", "kind", "result"],
            registry=registry,
        )
        self._latency = Histogram(
            "tocsin_delivery_seconds",
            "How long a channel took to deliver a notification or fail, by channel.",
            ["channel"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15),
            registry=registry,
        )

    async def deliver(
        self,
        incident: Incident,
        people: Sequence[str],
        kind: Kind,
        step: Step | None,
        tag: str | None = None,
        alerts_added: int = 0,
        *,
        by: str | None = None,
        assigned_to: str | None = None,
        only: Mapping[str, Collection[str]] | None = None,
    ) -> Delivered:
        """Send to every contact method of every person at once, skipping what was sent
        under ``tag`` (by default, the kind and step). ``by`` and ``assigned_to``: person
        ids, for notices of what someone did from the incident page. ``only``: for the
        people in it, the channels (by name) their notification rules want now."""
        if tag is None:
            tag = f"{kind}:{step.key}" if step else f"{epoch_tag(incident.page_epoch)}{kind}"
        records, _ = await self.store.alerts(incident.id, limit=MAX_ALERTS)
        sends = []
        for person_id in people:
            person = self.directory.people[person_id]
            note = Notification.from_incident(
                kind,
                incident,
                records,
                person_id,
                person,
                level=step.level + 1 if step else None,
                ack_url=self.ack_url(incident, person_id) if kind in ACTION_KINDS else None,
                acknowledged_by=self.name(incident.acknowledged_by),
                alerts_added=alerts_added,
                by=self.name(by),
                assigned_to=self.name(assigned_to),
                delivery_tag=tag,
            )
            wanted = only.get(person_id) if only is not None else None
            for channel in self.channels:
                if wanted is not None and channel.name not in wanted:
                    continue
                if channel.reaches(person) and carries(channel, kind):
                    field = f"{tag}:{person_id}:{channel.name}"
                    sends.append((person_id, channel, field, person, note))
        # Two runs of one step at once (an event and a retry job) must not both send: each
        # delivery is taken before it is sent (a taken one is in flight elsewhere), and one
        # already delivered, maybe by the other run just now, is not taken.
        taken = await self.deliveries.take(incident.id, [field for _, _, field, *_ in sends])
        results = [
            (person_id, channel.name, TAKEN_ELSEWHERE)
            for (person_id, channel, *_), taking in zip(sends, taken, strict=True)
            if taking is Taking.HELD
        ]
        ours = [send for send, taking in zip(sends, taken, strict=True) if taking is Taking.MINE]
        fields = [field for _, _, field, *_ in ours]
        sending = [self._timed(channel, person, note) for _, channel, _, person, note in ours]
        try:
            # One send, as most pages are, is awaited as it is: a task of its own would cost
            # two more turns of the event loop.
            outcomes = [await sending[0]] if len(sending) == 1 else await asyncio.gather(*sending)
        except BaseException:
            # A deadline cut this run short: a later run must be free to make what this one
            # did not record.
            await self.deliveries.release(incident.id, fields)
            raise
        delivered = [send[2] for send, result in zip(ours, outcomes, strict=True) if result.ok]
        await self.deliveries.settle(incident.id, delivered, fields)
        return results + self._recorded(incident, kind, step, ours, outcomes)

    def _recorded(
        self,
        incident: Incident,
        kind: Kind,
        step: Step | None,
        sends: Sequence[tuple[str, Channel, str, Person, Notification]],
        outcomes: Sequence[DeliveryResult],
    ) -> Delivered:
        """Count and log the deliveries this run made, once recorded."""
        results = []
        for (person_id, channel, *_), result in zip(sends, outcomes, strict=True):
            self._sent.labels(channel.name, kind, "ok" if result.ok else "failed").inc()
            facts = {"incident": incident.id, "person": person_id, "channel": channel.name}
            where = f"incident {incident.id}: {person_id} by {channel.name}"
            if step is not None:
                facts["level"] = str(step.level + 1)
                where += f", {step}"
            if result.ok:
                event = "paged" if kind == "page" else f"{kind}_notice"
                log.info("%s %s", event.replace("_", " "), where, extra={"event": event, **facts})
            else:
                event = f"{kind}_failed"
                log.warning(
                    "%s failed %s: %s",
                    kind,
                    where,
                    result.detail,
                    extra={"event": event, **facts},
                )
            results.append((person_id, channel.name, result))
        return results

    async def reached(self, incident_id: str, step: Step, people: Sequence[str]) -> set[str]:
        """Who of ``people`` a page of ``step`` got to, by any channel, in any run (one its
        provider reported failed after taking it did not)."""
        done = await self.deliveries.done(incident_id)
        tag = f"page:{step.key}"
        fields = [(p, f"{tag}:{p}:{c.name}") for p in people for c in self.channels]
        return {p for p, field in fields if field in done and bounced(field) not in done}

    async def _timed(self, channel: Channel, person: Person, note: Notification) -> DeliveryResult:
        # Wall time, not the injected clock: this measures the channel, not the incident.
        with self._latency.labels(channel.name).time():
            return await _send(channel, person, note)

    def name(self, person_id: str | None) -> str | None:
        person = self.directory.people.get(person_id or "")
        return person.name if person is not None else person_id

    def ack_url(self, incident: Incident, person: str) -> str:
        """The person's link to the incident page, with every action."""
        return action_url(
            self.links.public_url, self.links.secret, incident.id, incident.created_at, person
        )

    async def deliver_once(
        self, record: str, tag: str, person_id: str, note: Notification, kind: str
    ) -> None:
        """Send ``note`` by every channel that reaches the person, once per ``tag`` in the
        deliveries ``record`` (one apart from any incident's)."""
        person = self.directory.people[person_id]
        done = await self.deliveries.done(record)
        for channel in self.channels:
            field = f"{tag}:{person_id}:{channel.name}"
            if not (channel.reaches(person) and carries(channel, note.kind)) or field in done:
                continue
            result = await _send(channel, person, note)
            self._sent.labels(channel.name, kind, "ok" if result.ok else "failed").inc()
            if result.ok:
                await self.deliveries.mark(record, field)


async def _send(channel: Channel, person: Person, note: Notification) -> DeliveryResult:
    """A channel that raises has a bug; count it as a failed send so the deliveries that did
    go out are still remembered (not repeated) and the escalation timer still starts."""
    try:
        return await channel.send(person, note)
    except Exception as exc:
        log.exception("%s channel raised instead of reporting a failure", channel.name)
        return DeliveryResult.failed(f"{channel.name} channel error: {exc!r}", retryable=False)


def bounced(field: str) -> str:
    """The marker of a delivery its provider took, then reported failed (a text that never
    reached the phone, a call nobody answered)."""
    return f"bounced:{field}"
