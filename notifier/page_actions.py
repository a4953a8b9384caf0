"""What the buttons of an incident page do: acknowledge, resolve, escalate now, snooze,
reassign and set the severity, each idempotent and answering in words what it did or why it
did nothing.

Changes of the incident itself go through the router's store (which announces them to the
notifier on its event stream); escalating changes no incident, so it is a notifier job of its
own, due at once. Which actions the page offers is decided here too, from the incident, the
link and the policy, so the page never shows a button that would only refuse.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from notifier import keys
from notifier.channels.render import format_time
from notifier.directory import Directory, schedule_targets
from notifier.escalation import Step, current_step, next_step
from notifier.paging import Scheduler
from notifier.signing import Action
from notifier.urgency import pages_nobody
from router.config import Severity
from router.incidents import Resolution, SeverityChange
from router.models import Incident, IncidentStatus
from router.store import IllegalTransition, IncidentNotFound, IncidentStore
from schedules.override_store import OverrideStore

SNOOZE_MINUTES = (15, 30, 60)


class BadRequest(ValueError):
    """A form that asks for something no page offers (the message names it)."""


@dataclass(frozen=True)
class Answer:
    message: str
    changed: bool
    incident: Incident
    status: int = 200
    """409 when the incident's state stops the action (resolved, already taken)."""


@dataclass(frozen=True)
class Offer:
    """What the page offers its person now."""

    actions: frozenset[Action]
    escalate_from: Step | None = None
    escalate_to: Step | None = None
    reassign_to: Sequence[str] = field(default_factory=tuple)
    """Person ids of the incident's policy, in level order."""
    severities: Sequence[Severity] = field(default_factory=tuple)
    """The severities it can be set to (not links': only the console and the API set it)."""


class PageActions:
    def __init__(
        self,
        store: IncidentStore,
        directory: Directory,
        scheduler: Scheduler,
        *,
        retention: timedelta,
    ) -> None:
        self.store = store
        self.directory = directory
        self.scheduler = scheduler
        self.retention = retention

    def name_of(self, person_id: str) -> str:
        person = self.directory.people.get(person_id)
        return person.name if person is not None else person_id

    async def offer(
        self, incident: Incident, allowed: frozenset[Action], viewer: str, now: datetime
    ) -> Offer:
        """The actions the link allows that make sense for the incident as it is."""
        if incident.status is IncidentStatus.RESOLVED:
            return Offer(frozenset())
        actions = {Action.RESOLVE, Action.SNOOZE}
        escalate_from = escalate_to = None
        people: list[str] = []
        if incident.status is IncidentStatus.TRIGGERED:
            actions.add(Action.ACKNOWLEDGE)
            escalate_from, escalate_to = await self._escalation(incident)
            if escalate_to is not None:
                actions.add(Action.ESCALATE)
            people = [p for p in await self._policy_people(incident, now) if p != viewer]
            if people:
                actions.add(Action.REASSIGN)
        elif incident.snoozed_until is not None:
            actions.add(Action.ACKNOWLEDGE)  # for good: no page when the snooze ends
        severities = tuple(s for s in Severity if s is not incident.severity)
        return Offer(
            frozenset(actions) & allowed, escalate_from, escalate_to, tuple(people), severities
        )

    async def act(
        self, incident: Incident, action: Action, person: str, form: dict[str, str], now: datetime
    ) -> Answer:
        """Raises ``BadRequest`` for a form no page sends, ``IncidentNotFound`` when the
        incident is gone."""
        match action:
            case Action.ACKNOWLEDGE:
                return await self._acknowledge(incident, person, now)
            case Action.RESOLVE:
                return await self._resolve(incident, person, now)
            case Action.ESCALATE:
                return await self._escalate(incident, person, form.get("step"))
            case Action.SNOOZE:
                return await self._snooze(incident, person, form.get("minutes"), now)
            case Action.REASSIGN:
                return await self._reassign(incident, person, form.get("to"), now)

    async def set_severity(
        self, incident: Incident, severity: Severity, person: str, now: datetime
    ) -> Answer:
        """Raises ``IncidentNotFound`` when the incident is gone."""
        outcome, after = await self.store.set_severity(incident.id, severity, person, now)
        if outcome is SeverityChange.NOT_FOUND or after is None:
            raise IncidentNotFound(incident.id)
        if outcome is SeverityChange.RESOLVED:
            return self._resolved_already(after)
        if outcome is SeverityChange.UNCHANGED:
            return Answer(f"Already {severity.value}.", False, after)
        if outcome is SeverityChange.LOWERED:
            stops = " Nobody is paged for it any more." if pages_nobody(severity) else ""
            return Answer(f"Lowered to {severity.value}.{stops}", True, after)
        if after.status is IncidentStatus.ACKNOWLEDGED:
            owner = after.acknowledged_by or ""
            # A tool that acknowledged is nobody to tell: those paged last hear instead.
            told = (
                f"{self.name_of(owner)} is"
                if owner in self.directory.people
                else "those paged last are"
            )
            return Answer(f"Raised to {severity.value}: {told} told.", True, after)
        return Answer(f"Raised to {severity.value}: paged again from level 1.", True, after)

    async def _acknowledge(self, incident: Incident, person: str, now: datetime) -> Answer:
        try:
            after = await self.store.acknowledge(incident.id, person, now)
        except IllegalTransition:
            return self._resolved_already(await self._reload(incident))
        if _taken(incident) != _taken(after):
            return Answer("Acknowledged: paging has stopped.", True, after)
        return Answer(f"Already {self._acknowledged(after)}.", False, after)

    async def _resolve(self, incident: Incident, person: str, now: datetime) -> Answer:
        outcome, after = await self.store.resolve(
            incident.id, person, now, retention=self.retention
        )
        if outcome is Resolution.NOT_FOUND or after is None:
            raise IncidentNotFound(incident.id)
        if outcome is Resolution.RESOLVED:
            return Answer("Resolved: everyone paged is told.", True, after)
        return Answer(f"Already {self._resolved(after)}.", False, after)

    async def _escalate(self, incident: Incident, person: str, seen: str | None) -> Answer:
        if incident.status is not IncidentStatus.TRIGGERED:
            return self._not_waiting(incident, "Not escalated")
        if pages_nobody(incident.severity):
            severity = incident.severity.value
            text = f"Not escalated: {severity} pages nobody; raise the severity to page."
            return Answer(text, False, incident, 409)
        step, after = await self._escalation(incident)
        if step is None:
            return Answer("Nobody has been paged yet: nothing to escalate.", False, incident, 409)
        if seen is not None and seen != step.key:
            # The form was for a step that has been escalated since (a second click).
            return Answer(f"Already escalated: {step} was paged.", False, incident)
        if after is None:
            text = f"Not escalated: {step} is the last of the policy."
            return Answer(text, False, incident, 409)
        await self.scheduler.schedule(
            "escalate_now",
            step,
            incident.id,
            job_id=keys.escalate_now_job_id(incident.id, step),
            delay=timedelta(0),
            person=person,
        )
        return Answer(f"Escalated: {after} is paged now.", True, incident)

    async def _snooze(
        self, incident: Incident, person: str, minutes: str | None, now: datetime
    ) -> Answer:
        if minutes not in {str(m) for m in SNOOZE_MINUTES}:
            allowed = ", ".join(str(m) for m in SNOOZE_MINUTES)
            raise BadRequest(f"snooze for {allowed} minutes, not {minutes!r}")
        until = now + timedelta(minutes=int(minutes))
        try:
            after = await self.store.snooze(incident.id, person, now, until)
        except IllegalTransition:
            return self._resolved_already(await self._reload(incident))
        again = format_time(after.snoozed_until or until)
        if _taken(incident) != _taken(after):
            return Answer(f"Snoozed: it pages again at {again} unless resolved.", True, after)
        return Answer(f"Already snoozed by you until {again}.", False, after)

    async def _reassign(
        self, incident: Incident, person: str, to: str | None, now: datetime
    ) -> Answer:
        if to is None or to not in await self._policy_people(incident, now):
            raise BadRequest(f"{to!r} is not a person of this incident's escalation policy")
        try:
            after = await self.store.reassign(incident.id, to, person, now)
        except IllegalTransition:
            return self._not_waiting(await self._reload(incident), "Not handed over")
        name = self.name_of(to)
        if incident.assigned_to != after.assigned_to:
            return Answer(f"Handed to {name}: they are paged now.", True, after)
        by = self.name_of(after.assigned_by or "someone")
        when = format_time(after.assigned_at) if after.assigned_at else ""
        return Answer(f"Already handed to {name} by {by} at {when}.", False, after)

    async def _escalation(self, incident: Incident) -> tuple[Step | None, Step | None]:
        """The step last paged in the incident's current run, and the one after it."""
        step = current_step(incident.page_epoch, await self.store.timeline(incident.id))
        policy = self.directory.policies.get(incident.policy)
        if step is None or policy is None:
            return step, None
        return step, next_step(policy, step)

    async def _policy_people(self, incident: Incident, now: datetime) -> list[str]:
        """Everyone the policy would page now, stored stand-ins included."""
        policy = self.directory.policies.get(incident.policy)
        levels = policy.levels if policy is not None else []
        schedules = [name for level in levels for name in schedule_targets(level)]
        stand_ins = await OverrideStore(self.store.redis).covers_of(schedules, now)
        found = [p for level in levels for p in self.directory.resolve(level, now, None, stand_ins)]
        return list(dict.fromkeys(found))

    async def _reload(self, incident: Incident) -> Incident:
        again = await self.store.get(incident.id)
        if again is None:
            raise IncidentNotFound(incident.id)
        return again

    def _not_waiting(self, incident: Incident, what: str) -> Answer:
        """The answer for an action only an incident nobody took allows."""
        if incident.status is IncidentStatus.RESOLVED:
            return self._resolved_already(incident)
        return Answer(f"{what}: already {self._acknowledged(incident)}.", False, incident, 409)

    def _resolved_already(self, incident: Incident) -> Answer:
        return Answer(f"Already {self._resolved(incident)}.", False, incident, 409)

    def _acknowledged(self, incident: Incident) -> str:
        who = self.name_of(incident.acknowledged_by or "someone")
        at = incident.acknowledged_at
        return f"acknowledged by {who}" + (f" at {format_time(at)}" if at else "")

    def _resolved(self, incident: Incident) -> str:
        who = f" by {self.name_of(incident.resolved_by)}" if incident.resolved_by else ""
        at = incident.resolved_at
        return f"resolved{who}" + (f" at {format_time(at)}" if at else "")


def _taken(incident: Incident) -> tuple[object, ...]:
    """What acknowledging or snoozing changes; the page's copy is from before the click."""
    return (incident.status, incident.acknowledged_by, incident.snoozed_until)


def parse_severity(text: str | None) -> Severity:
    """The severity a form asks for."""
    try:
        return Severity(text or "")
    except ValueError:
        choices = ", ".join(s.value for s in Severity)
        raise BadRequest(f"severity: one of {choices}, not {text!r}") from None


def parse_action(text: str | None) -> Action:
    """The form's ``action``; none: acknowledge (what the first pages' one button sent)."""
    if text is None:
        return Action.ACKNOWLEDGE
    try:
        return Action(text)
    except ValueError:
        choices = ", ".join(a.value for a in Action)
        raise BadRequest(f"unknown action {text!r}: one of {choices}") from None
