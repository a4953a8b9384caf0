"""The worker process: first pages straight from the router's event stream (a blocking read
wakes at once), escalation timers and retries as deferred arq jobs."""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, Literal

from arq import Retry
from arq.connections import ArqRedis
from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms
from arq.worker import Function, func
from prometheus_client import CollectorRegistry
from pydantic import BaseModel, ConfigDict
from redis.asyncio import Redis

from ingest.consuming import RETRY_AFTER, Overlapping, StreamConsumer, store_outage
from ingest.deadletters import DeadLetter, DeadLetters
from ingest.stream import Entry
from notifier import keys
from notifier.escalation import Step
from notifier.job_lease import LEASE, LeasedWorker
from notifier.paging import Pager
from router.models import IncidentEvent, IncidentEventKind
from router.store import IncidentStore

log = logging.getLogger(__name__)

JOB_RETRY_DELAY = timedelta(seconds=5)
"""Before a timer job that failed (Redis unreachable, a bug) runs again; doubled each try."""
MAX_JOB_TRIES = 8
"""Runs of one timer job before it is given up (dead letter and a page saying so): with the
doubling delay, about ten minutes of failures."""
JOB_DEADLINE = timedelta(seconds=20)
"""Longest a timer job works before it is handed back to run again, like one that failed:
its pages go out in parallel, each channel within its own timeout, and each store command
within the client's."""
STORE_WAIT = timedelta(seconds=10)
"""Longest a job that lost the store waits for it before handing itself back. arq hands a job
back through the store; until it can, the job stays leased to this worker and no worker runs
it before the lease runs out."""
JOB_TIMEOUT = JOB_DEADLINE + STORE_WAIT + timedelta(seconds=5)
"""arq's own limit, never reached (arq would drop the job). Not how long a killed worker's job
waits for another: running jobs are leased for ``job_lease.LEASE`` at a time, renewed while
their worker lives."""
EVENTS_AT_ONCE = 32
"""Events in flight, those waiting behind their incident's included: a page mostly waits (on
the store, on a channel's server), so one waiting must not hold back the next incident's
first page, nor stop new events being read; an incident's own events still go in turn.
Bounded, as each may hold a connection to a channel's server (a mail server takes only so
many at once); in the worker process their store commands share one pipelined connection."""
JOBS = "jobs"
"""The ``group`` of dead letters that are timer jobs, not stream entries."""


_ENQUEUE = """
if redis.call('EXISTS', KEYS[1], KEYS[2]) > 0 then
  return 0
end
redis.call('PSETEX', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
return 1
"""
"""arq's enqueue, in one round trip where arq's own takes three (WATCH, EXISTS, MULTI/EXEC):
every page schedules its acknowledgement timer. KEYS: the job, its result, the queue. ARGV:
the job's lifetime in ms, the job as arq serializes it, when it is due (unix ms), its id."""


class ArqScheduler:
    """``Scheduler`` on arq: deferred jobs on the notifier's queue, deduplicated by id."""

    def __init__(self, pool: ArqRedis) -> None:
        self.pool = pool
        self._enqueue = pool.register_script(_ENQUEUE)

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
        # The person only where there is one, so each job takes the arguments it always did.
        asked = () if person is None else (person,)
        args = (incident_id, step.round, step.level, attempt, step.epoch, *asked)
        # As arq's enqueue_job: the enqueuing host's clock, a lifetime of the delay and a day.
        enqueued = timestamp_ms()
        delay_ms = round(delay.total_seconds() * 1000)
        serialized = serialize_job(
            job, args, {}, None, enqueued, serializer=self.pool.job_serializer
        )
        await self._enqueue(
            keys=[job_key_prefix + job_id, result_key_prefix + job_id, keys.ARQ_QUEUE],
            args=[delay_ms + self.pool.expires_extra_ms, serialized, enqueued + delay_ms, job_id],
        )


JobName = Literal[
    "escalate",
    "retry_page",
    "report_alerts",
    "escalate_now",
    "snooze_over",
    "ack_expired",
    "notify_rule",
    "assigned_rule",
    "delivery_failed",
]
Action = Callable[[Pager, "JobArgs"], Awaitable[None]]


class JobArgs(BaseModel):
    """A timer job's arguments, as kept in a dead letter to be scheduled again."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    job: JobName
    incident_id: str
    round: int
    level: int
    attempt: int
    """A retry's number; for a rule step, its index in the person's rules."""
    epoch: int = 0
    """Letters kept before paging runs were counted belong to the first."""
    person: str | None = None
    """Who asked, for a job started from the incident page; whose rule step it is."""

    @property
    def step(self) -> Step:
        return Step(self.round, self.level, epoch=self.epoch)

    @property
    def who(self) -> str:
        """The person of a job that has one."""
        if self.person is None:
            raise ValueError(f"a {self.job} job names no person")
        return self.person


ACTIONS: dict[JobName, Action] = {
    "escalate": lambda pager, a: pager.escalate(a.incident_id, a.step),
    "retry_page": lambda pager, a: pager.page(a.incident_id, a.step, a.attempt),
    # A report belongs to no escalation step.
    "report_alerts": lambda pager, a: pager.report_alerts(a.incident_id),
    "escalate_now": lambda pager, a: pager.followups.escalate_now(a.incident_id, a.step, a.who),
    # The attempt of a rule step is its index in the person's rules (its retries are
    # counted apart).
    "notify_rule": lambda pager, a: pager.rule_steps.run(a.incident_id, a.step, a.who, a.attempt),
    # A handover belongs to no escalation step: only its paging run counts.
    "assigned_rule": lambda pager, a: pager.followups.assigned_rule(
        a.incident_id, a.epoch, a.who, a.attempt
    ),
    # A page of the step to the person failed after it was sent.
    "delivery_failed": lambda pager, a: pager.bounces.check(a.incident_id, a.step, a.who),
    # The incident itself says whether its snooze, or its acknowledgement, ran out.
    "snooze_over": lambda pager, a: pager.followups.snooze_over(a.incident_id),
    "ack_expired": lambda pager, a: pager.followups.ack_expired(a.incident_id),
}
"""What each timer job does: the arq jobs and the tests' timers run the same."""


def _job(name: JobName) -> Function:
    # The epoch comes after the attempt and defaults to the first run, so jobs queued before
    # paging runs were counted still run; the person comes last, where there is one.
    async def run(
        ctx: dict[str, Any],
        incident_id: str,
        round_: int,
        level: int,
        attempt: int,
        epoch: int = 0,
        person: str | None = None,
    ) -> None:
        args = JobArgs(
            job=name,
            incident_id=incident_id,
            round=round_,
            level=level,
            attempt=attempt,
            epoch=epoch,
            person=person,
        )
        await _retry_on_error(ctx, args, ACTIONS[name](ctx["pager"], args))

    return func(run, name=name)


async def _retry_on_error(ctx: dict[str, Any], args: JobArgs, work: Awaitable[None]) -> None:
    """arq runs a job again only when it raises ``Retry``; any other error would drop the
    timer for good and the incident would never escalate further. The jobs are idempotent,
    so running one again is safe. The last try that fails leaves a dead letter and pages the
    policy's last level, rather than letting the escalation vanish."""
    deadline = asyncio.timeout(JOB_DEADLINE.total_seconds())
    try:
        async with deadline:
            await work
    except Exception as exc:
        tried = int(ctx.get("job_try") or 1)
        job = ctx.get("job_id")
        if deadline.expired():
            log.error("notifier job %s still running after %s (try %d)", job, JOB_DEADLINE, tried)
        elif store_outage(exc):
            # Expected while the store restarts or fails over: one line, no stack trace.
            log.warning("notifier job %s: storage unavailable (try %d): %s", job, tried, exc)
            await _wait_for_store(ctx["redis"])
        else:
            log.exception("notifier job %s failed (try %d of %d)", job, tried, MAX_JOB_TRIES)
        if tried < MAX_JOB_TRIES:
            raise Retry(defer=ctx["retry_delay"] * 2 ** (tried - 1)) from exc
        pager: Pager = ctx["pager"]
        reason = f"{type(exc).__name__}: {exc}"
        letter = DeadLetter(
            stream=keys.ARQ_QUEUE,
            group=JOBS,
            entry_id=str(ctx.get("job_id")),
            error=reason,
            deliveries=tried,
            at=pager.clock(),
            payload=args.model_dump_json(),
        )
        await dead_letters(pager.store.redis).add(letter)
        await pager.could_not_process(args.incident_id, reason, f"job:{ctx.get('job_id')}")


async def _wait_for_store(redis: Redis) -> None:
    """Until the store answers, for ``STORE_WAIT`` at most."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(STORE_WAIT.total_seconds()):
            while True:  # until the timeout at the latest
                try:
                    await redis.ping()
                    return
                except Exception as error:
                    if not store_outage(error):
                        raise
                await asyncio.sleep(0.2)


async def replay_job(scheduler: "ArqScheduler", letter: DeadLetter) -> str:
    """Schedule a dead-lettered timer job again, due now; returns its new job id."""
    assert letter.payload is not None
    args = JobArgs.model_validate_json(letter.payload)
    job_id = f"{letter.entry_id}:replayed:{letter.at.timestamp():.0f}"
    await scheduler.schedule(
        args.job,
        args.step,
        args.incident_id,
        job_id=job_id,
        delay=timedelta(0),
        attempt=args.attempt,
        person=args.person,
    )
    return job_id


def arq_worker(
    pool: ArqRedis,
    pager: Pager,
    *,
    poll_delay: timedelta,
    retry_delay: timedelta = JOB_RETRY_DELAY,
    lease: timedelta = LEASE,
) -> LeasedWorker:
    return LeasedWorker(
        functions=[_job(name) for name in ACTIONS],
        queue_name=keys.ARQ_QUEUE,
        redis_pool=pool,
        ctx={"pager": pager, "retry_delay": retry_delay},
        handle_signals=False,
        poll_delay=poll_delay.total_seconds(),
        max_jobs=50,
        max_tries=MAX_JOB_TRIES,
        job_timeout=JOB_TIMEOUT.total_seconds(),
        log_results=False,
        lease=lease,
    )


class EventConsumer:
    """Acts on the router's incident events; acknowledges each once acted on. An event that
    cannot be acted on goes to the notifier's dead letters and its incident is paged to the
    last level of its policy as "could not process", so it is never silently lost."""

    def __init__(
        self,
        store: IncidentStore,
        pager: Pager,
        consumer: str,
        registry: CollectorRegistry,
        *,
        block: timedelta = timedelta(seconds=1),
        retry_after: timedelta = RETRY_AFTER,
    ) -> None:
        self.pager = pager
        self.consumer = StreamConsumer(
            store.events,
            keys.EVENTS_GROUP,
            consumer,
            Overlapping(self._handle, _incident, limit=EVENTS_AT_ONCE),
            dead_letters(store.redis),
            pager.clock,
            registry,
            stage="notifier",
            buried=self._buried,
            block=block,
            retry_after=retry_after,
        )

    async def run(self, stop: asyncio.Event) -> None:
        await self.consumer.run(stop)

    async def step(self) -> int:
        """Handle the events read at once, to the last; returns how many it is done with."""
        done = await self.consumer.step()
        return done + await self.consumer.drain()

    async def _handle(self, event: IncidentEvent, entry_id: str) -> None:
        incident_id, epoch = event.incident_id, event.epoch
        match event.kind:
            case IncidentEventKind.OPENED:
                await self.pager.open(incident_id)
            case IncidentEventKind.REOPENED:
                await self.pager.reopened(incident_id, epoch)
            case IncidentEventKind.SEVERITY_RAISED:
                await self.pager.severity_raised(incident_id, epoch)
            case IncidentEventKind.RESOLVED:
                await self.pager.resolved(incident_id, epoch)
            case IncidentEventKind.ALERTS_ADDED:
                await self.pager.report_alerts(incident_id)
            case IncidentEventKind.ACKNOWLEDGED:
                # Pending escalations see the acknowledgement when they run.
                await self.pager.acknowledged(incident_id, epoch)
            case IncidentEventKind.SNOOZED:
                await self.pager.followups.snoozed(incident_id, epoch)
            case IncidentEventKind.REASSIGNED:
                await self.pager.followups.reassigned(incident_id, epoch)
            case IncidentEventKind.RETRIGGERED:
                # A snooze or an acknowledgement ran out: a new run, as a reopening starts.
                await self.pager.reopened(incident_id, epoch)

    async def _buried(self, entry: Entry[IncidentEvent], reason: str) -> None:
        incident_id = entry.model.incident_id if entry.model is not None else None
        await self.pager.could_not_process(incident_id, reason, f"event:{entry.id}")


def _incident(event: IncidentEvent) -> str:
    return event.incident_id


def dead_letters(redis: Redis) -> DeadLetters:
    """Incident events the notifier could not act on."""
    return DeadLetters(redis, keys.DEAD_LETTERS)
