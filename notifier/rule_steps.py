"""The later steps of people's notification rules (``notifier.rules``): each a deferred job
with a fixed id per incident, paging run, step, person and rule step.

A rule step's job re-reads the incident and does nothing once it was acknowledged, resolved
or paged again from the start, so acknowledging stops every step still to come; while a
silence holds the incident, the step waits as a held page does. Its
deliveries are the step's page deliveries (what went out by a channel with the page is not
sent again by a rule step naming it), tried again with the page's backoff.

Handing an incident to someone is a page to them, so it goes by their rules too (the jobs of
its later steps are ``Followups``'); a notice only tells of what happened, so it goes by the
channels of their first step, not by those they keep for when nobody answers.
"""

from collections.abc import Sequence
from typing import TYPE_CHECKING

from notifier import keys
from notifier.channels import Kind, carries
from notifier.escalation import Step, is_current
from notifier.holds import HOLD_RECHECK
from notifier.rules import RuleStep, for_notices, later
from router.models import Incident

if TYPE_CHECKING:
    from notifier.paging import Pager


class RuleSteps:
    def __init__(self, pager: "Pager") -> None:
        self.pager = pager

    def of(self, incident: Incident, people: Sequence[str]) -> dict[str, Sequence[RuleStep]]:
        """The rule steps of each of ``people`` who has rules for the incident's urgency."""
        found = {}
        for person_id in people:
            person = self.pager.directory.people.get(person_id)
            steps = person.rules.steps(incident.severity) if person and person.rules else None
            if steps:
                found[person_id] = steps
        return found

    def for_notice(
        self, incident: Incident, people: Sequence[str], kind: Kind
    ) -> dict[str, frozenset[str]]:
        """The channels (by name) by which each of ``people`` with rules for the incident's
        urgency hears a notice of ``kind`` (``rules.for_notices``); the others, and those
        whose rules name no channel that carries it, get it by every method."""
        carrying = {c.name for c in self.pager.sender.channels if carries(c, kind)}
        found = {}
        for person, steps in self.of(incident, people).items():
            chosen = for_notices(steps, carrying)
            if chosen is not None:
                found[person] = chosen
        return found

    async def schedule(
        self, incident_id: str, step: Step, rules: dict[str, Sequence[RuleStep]]
    ) -> None:
        """Start the timers of the steps after the page (a second run asks for the same ids,
        which changes nothing)."""
        for person, steps in rules.items():
            for index, rule in later(steps):
                await self.pager.scheduler.schedule(
                    "notify_rule",
                    step,
                    incident_id,
                    job_id=keys.rule_job_id(incident_id, step, person, index),
                    delay=rule.after,
                    attempt=index,
                    person=person,
                )

    async def run(self, incident_id: str, step: Step, person: str, index: int) -> None:
        """Rule step ``index`` of ``person``, paged at ``step``, is due (or its retry)."""
        pager = self.pager
        incident = await pager.store.get(incident_id)
        if not is_current(incident, step):
            return
        steps = self.of(incident, [person]).get(person)
        if steps is None or index >= len(steps):
            return  # the rules changed since: the page went by the new ones
        level = pager.directory.policies[incident.policy].levels[step.level]
        now = pager.clock()
        held = await pager.holds.held_by(incident_id, now)
        if held is not None:
            # Silenced since the page: the step waits, as a held page does.
            due = now + min(held.until - now, HOLD_RECHECK)
            await pager.scheduler.schedule(
                "notify_rule",
                step,
                incident_id,
                job_id=keys.held_rule_job_id(incident_id, step, person, index, due),
                delay=due - now,
                attempt=index,
                person=person,
            )
            return
        tried = tries_field(step, person, index)
        attempt = await pager.deliveries.count(incident_id, tried) - 1
        only = {person: steps[index].notify}
        results = await pager.sender.deliver(incident, [person], "page", step, only=only)
        seed = f"{incident_id}:{step.key}:{person}:{index}"
        delay = pager.retry_delay(seed, attempt, results, level.ack_timeout)
        await pager.record(incident_id, step, attempt, results, delay, now)
        if delay is not None:
            await pager.scheduler.schedule(
                "notify_rule",
                step,
                incident_id,
                job_id=keys.rule_job_id(incident_id, step, person, index, attempt + 1),
                delay=delay,
                attempt=index,
                person=person,
            )
        elif index == len(steps) - 1:
            everyone = pager.directory.resolve(level, now, incident_id)
            await pager.unreachable(incident_id, step, [person], results, now, everyone)


def tries_field(step: Step, person: str, index: int) -> str:
    """Where the tries of a rule step are counted: there once it ran."""
    return f"tries:{step.key}:{person}:{index}"
