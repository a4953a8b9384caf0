"""Personal notification rules: by which channels, and how long after being paged, a person
wants to hear of a page, by urgency. Pure: the models, their checks, and what is due when.

Urgency follows severity: SEV1 and SEV2 pages are ``high``, SEV3 pages ``low`` (SEV4 never
pages). A person without rules for an urgency is paged by every method at once, as everyone
is without rules. Each step of a rule lists channels by the name the channels go by, so a
person can say "Slack and mail at once, SMS after 3 minutes, a call after 6".
"""

import re
from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter

from router.config import Severity
from schedules.durations import Duration, format_duration

if TYPE_CHECKING:
    from notifier.config import Person

ChannelName = Literal[
    "email",
    "webhook",
    "console",
    "slack",
    "teams",
    "mattermost",
    "rocketchat",
    "apprise",
    "sms",
    "voice",
]
Urgency = Literal["high", "low"]


_DURATION: TypeAdapter[timedelta] = TypeAdapter(Duration)


def _zero_or_duration(value: object) -> object:
    """A duration, or none at all (``0m``): the step goes out with the page."""
    if isinstance(value, str) and re.fullmatch(r"\s*0+[smhdw]\s*", value):
        return timedelta(0)
    if value == timedelta(0):
        return value
    return _DURATION.validate_python(value)


class RuleStep(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    after: Annotated[timedelta, BeforeValidator(_zero_or_duration)]
    """How long after the person was paged at a level (``0m``: with the page)."""
    notify: list[ChannelName] = Field(min_length=1)


class NotificationRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    high: list[RuleStep] | None = Field(default=None, min_length=1)
    low: list[RuleStep] | None = Field(default=None, min_length=1)

    def steps(self, severity: Severity) -> Sequence[RuleStep] | None:
        """The steps for a page of ``severity``; ``None``: every method at once."""
        return self.high if urgency(severity) == "high" else self.low


def urgency(severity: Severity) -> Urgency:
    return "high" if severity in (Severity.SEV1, Severity.SEV2) else "low"


METHODS: dict[ChannelName, Callable[["Person"], object]] = {
    "email": lambda p: p.email,
    "webhook": lambda p: p.webhook,
    "console": lambda p: p.console,
    "slack": lambda p: p.slack_webhook or p.slack_target,
    "teams": lambda p: p.teams_webhook,
    "mattermost": lambda p: p.mattermost_webhook,
    "rocketchat": lambda p: p.rocketchat_webhook,
    "apprise": lambda p: p.apprise,
    "sms": lambda p: p.by_phone("sms"),
    "voice": lambda p: p.by_phone("voice"),
}
"""What a person needs for each channel to reach them."""


def problems(person: "Person") -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Each mistake in the person's rules: where, below the person, and what."""
    if person.rules is None:
        return
    for name in ("high", "low"):
        steps: list[RuleStep] = getattr(person.rules, name) or []
        for i, step in enumerate(steps):
            for j, channel in enumerate(step.notify):
                if not METHODS[channel](person):
                    yield ("rules", name, i, "notify", j), f"{channel}: {_missing(channel)}"
            if len(set(step.notify)) < len(step.notify):
                yield ("rules", name, i, "notify"), "name each channel once"
            if i and step.after <= steps[i - 1].after:
                earlier = steps[i - 1].after
                yield (
                    ("rules", name, i, "after"),
                    f"{_text(step.after)} is not later than the step before ({_text(earlier)}):"
                    " list the steps in order, each at its own time",
                )


def _missing(channel: ChannelName) -> str:
    if channel in ("sms", "voice"):
        return f"the person has no phone with {channel} in phone_methods"
    return "the person has no contact method for it"


def _text(delay: timedelta) -> str:
    return format_duration(delay) if delay else "0m"


def due_now(steps: Sequence[RuleStep]) -> frozenset[str]:
    """The channels of the steps that go out with the page itself."""
    return frozenset(c for step in steps if not step.after for c in step.notify)


def for_notices(steps: Sequence[RuleStep], carrying: Collection[str]) -> frozenset[str] | None:
    """The channels a notice goes by: those of the person's first step (in time) that names
    a channel ``carrying`` it, so someone whose rules start with a call, or a minute after
    the page, still hears that it is over; ``None`` when no step names one."""
    for step in steps:
        chosen = frozenset(c for c in step.notify if c in carrying)
        if chosen:
            return chosen
    return None


def later(steps: Sequence[RuleStep]) -> list[tuple[int, RuleStep]]:
    """The steps to run after the page, by index."""
    return [(i, step) for i, step in enumerate(steps) if step.after]


def methods(person: "Person") -> list[ChannelName]:
    """The channels the person has a contact method for: what a page without rules uses."""
    return [channel for channel, has in METHODS.items() if has(person)]


def plan(person: "Person", severity: Severity) -> list[tuple[timedelta, list[ChannelName]]] | None:
    """When after a page of ``severity`` and by which channels the person hears of it, as
    paging does it: what is due now, then each later step; ``None``: every method at once."""
    steps = person.rules.steps(severity) if person.rules else None
    if not steps:
        return None
    now = due_now(steps)
    first = [(timedelta(0), [c for c in METHODS if c in now])] if now else []
    return first + [(step.after, list(step.notify)) for _, step in later(steps)]
