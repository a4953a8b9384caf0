"""Where an escalation policy goes next: pure arithmetic over (round, level), within one
paging run (epoch) of an incident; and how a step is told from an incident and its timeline."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeGuard

from notifier.config import EscalationPolicy
from router.models import Incident, IncidentStatus, TimelineEvent, TimelineKind


@dataclass(frozen=True, order=True)
class Step:
    # First, so steps of a later run sort after every step of an earlier one.
    epoch: int = field(default=0, kw_only=True)
    """The incident's paging run (``Incident.page_epoch``) the step belongs to: a severity
    raise or a reopening starts a new run from the first step."""
    round: int
    """0 for the first pass through the policy, then one more per repeat."""
    level: int
    """0-based index into the policy's levels (people see it 1-based)."""

    def __str__(self) -> str:
        return f"level {self.level + 1}" + (f" (repeat {self.round})" if self.round else "")

    @property
    def key(self) -> str:
        """How the step names its timers, deliveries and markers."""
        return f"{epoch_tag(self.epoch)}{self.round}:{self.level}"


FIRST = Step(0, 0)


def step_of(key: str) -> Step:
    """The step named ``key`` (``Step.key``): for a name that comes back to us, as a signed
    callback's. Raises ``ValueError`` for anything else."""
    parts = key.split(":")
    epoch = 0
    if len(parts) == 3 and parts[0].startswith("e"):
        epoch = _count(parts.pop(0)[1:])
        if not epoch:
            raise ValueError(f"not a step: {key!r}")
    if len(parts) != 2:
        raise ValueError(f"not a step: {key!r}")
    return Step(_count(parts[0]), _count(parts[1]), epoch=epoch)


def _count(text: str) -> int:
    if not (text.isascii() and text.isdigit()):
        raise ValueError(f"not a count: {text!r}")
    return int(text)


def first(epoch: int) -> Step:
    """Where a paging run starts."""
    return Step(0, 0, epoch=epoch)


def epoch_tag(epoch: int) -> str:
    """The paging run's part of a name: none for the first, spelled as before runs were
    counted, so timers and deliveries recorded then still count; ``e<epoch>:`` after it."""
    return f"e{epoch}:" if epoch else ""


def next_step(policy: EscalationPolicy, step: Step) -> Step | None:
    """The step after ``step``, or ``None`` once the last repeat of the last level is done."""
    if step.level + 1 < len(policy.levels):
        return Step(step.round, step.level + 1, epoch=step.epoch)
    if step.round < policy.repeat:
        return Step(step.round + 1, 0, epoch=step.epoch)
    return None


def current_step(epoch: int, story: Sequence[TimelineEvent]) -> Step | None:
    """The latest step of paging run ``epoch`` that paged someone, from the incident's
    timeline: where escalating by hand goes on from. ``None`` before anyone was paged."""
    steps = [
        Step(event.round or 0, event.level - 1, epoch=epoch)
        for event in story
        if event.kind is TimelineKind.PAGED and event.epoch == epoch and event.level
    ]
    return max(steps, default=None)


def is_current(incident: Incident | None, step: Step) -> TypeGuard[Incident]:
    """Whether ``step`` is still to be paged: the incident waits for someone, and no later
    paging run (a severity raise, a reopening) took over from the step's."""
    return (
        incident is not None
        and incident.status is IncidentStatus.TRIGGERED
        and incident.page_epoch == step.epoch
    )


def timeline_event(
    kind: TimelineKind,
    at: datetime,
    person: str,
    channel: str | None,
    step: Step | None,
    detail: str,
) -> TimelineEvent:
    """A delivery's entry on the incident's timeline, with the step it belongs to."""
    return TimelineEvent(
        at=at,
        kind=kind,
        person=person,
        channel=channel,
        detail=detail,
        level=step.level + 1 if step else None,
        round=step.round if step else None,
        epoch=step.epoch if step else None,
    )
