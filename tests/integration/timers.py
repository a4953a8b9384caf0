"""A ``Scheduler`` that keeps each job's due time and runs due jobs when the test moves the
clock, as arq would: one job per id, a job id used once is not scheduled again."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from notifier.escalation import Step
from notifier.paging import Pager
from notifier.worker import ACTIONS, EventConsumer, JobArgs
from tests.conftest import ManualClock


@dataclass(frozen=True)
class Timer:
    due: datetime
    job: str
    step: Step
    incident_id: str
    job_id: str
    attempt: int
    person: str | None = None


@dataclass
class Timers:
    clock: ManualClock
    pending: dict[str, Timer] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)

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
        if job_id not in self.used:
            self.used.add(job_id)
            self.pending[job_id] = Timer(
                self.clock() + delay, job, step, incident_id, job_id, attempt, person
            )

    def due(self, job: str) -> list[datetime]:
        """When the pending jobs of this name are due, earliest first."""
        return sorted(t.due for t in self.pending.values() if t.job == job)

    async def run_until(self, pager: Pager, until: datetime) -> None:
        """Move the clock to ``until``, running every job that falls due on the way at its
        due time (jobs those jobs schedule included)."""
        while True:
            ready = [t for t in self.pending.values() if t.due <= until]
            if not ready:
                break
            timer = min(ready, key=lambda t: (t.due, t.job_id))
            del self.pending[timer.job_id]
            self.clock.now = max(self.clock.now, timer.due)
            await run(pager, timer)
        self.clock.now = max(self.clock.now, until)


async def run(pager: Pager, timer: Timer) -> None:
    """What the worker's job of that name does."""
    args = JobArgs(
        job=timer.job,  # type: ignore[arg-type]  # checked as the model is made
        incident_id=timer.incident_id,
        round=timer.step.round,
        level=timer.step.level,
        attempt=timer.attempt,
        epoch=timer.step.epoch,
        person=timer.person,
    )
    await ACTIONS[args.job](pager, args)


@dataclass
class Worker:
    """The notifier as the worker runs it: the router's events read as they come, timers
    run when the test moves the clock to them."""

    consumer: EventConsumer
    timers: Timers

    async def settle(self) -> None:
        """Handle every incident event and every timer due by now."""
        clock = self.timers.clock
        while True:
            handled = await self.consumer.step()
            due = [t for t in self.timers.pending.values() if t.due <= clock()]
            if not handled and not due:
                return
            await self.timers.run_until(self.consumer.pager, clock())

    async def advance(self, delta: timedelta) -> None:
        """Move the clock; each timer runs at its due time, with the events it sets off."""
        clock = self.timers.clock
        until = clock() + delta
        while True:
            await self.settle()
            due = [t.due for t in self.timers.pending.values() if t.due <= until]
            if not due:
                break
            clock.now = max(clock.now, min(due))
        clock.now = until
        await self.settle()
