"""Where an escalation policy goes next: pure arithmetic over (round, level)."""

from dataclasses import dataclass

from notifier.config import EscalationPolicy


@dataclass(frozen=True, order=True)
class Step:
    round: int
    """0 for the first pass through the policy, then one more per repeat."""
    level: int
    """0-based index into the policy's levels (people see it 1-based)."""

    def __str__(self) -> str:
        return f"level {self.level + 1}" + (f" (repeat {self.round})" if self.round else "")


FIRST = Step(0, 0)


def next_step(policy: EscalationPolicy, step: Step) -> Step | None:
    """The step after ``step``, or ``None`` once the last repeat of the last level is done."""
    if step.level + 1 < len(policy.levels):
        return Step(step.round, step.level + 1)
    if step.round < policy.repeat:
        return Step(step.round + 1, 0)
    return None
