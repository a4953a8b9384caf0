"""The worker process: first pages straight from the router's event stream (a blocking read
wakes at once), escalation timers and retries as deferred arq jobs."""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any, Literal, TypedDict

from arq import Retry
from arq.connections import ArqRedis
from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms
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


class _JobFields(TypedDict):
    incident_id: str
    round: int
    level: int
    attempt: int
    epoch: int


class JobArgs(BaseModel):
    """A timer job's arguments, as kept in a dead letter to be scheduled again."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    job: Literal[
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


# The epoch comes last and defaults to the first run, so jobs queued before paging runs were
# counted still run.
async def escalate(
    ctx: dict[str, Any], incident_id: str, round_: int, level: int, attempt: int, epoch: int = 0
) -> None:
    pager: Pager = ctx["pager"]
    args = JobArgs(job="escalate", **_fields(incident_id, round_, level, attempt, epoch))
    await _retry_on_error(ctx, args, pager.escalate(incident_id, args.step))


async def retry_page(
    ctx: dict[str, Any], incident_id: str, round_: int, level: int, attempt: int, epoch: int = 0
) -> None:
    pager: Pager = ctx["pager"]
    args = JobArgs(job="retry_page", **_fields(incident_id, round_, level, attempt, epoch))
    await _retry_on_error(ctx, args, pager.page(incident_id, args.step, attempt))


async def report_alerts(
    ctx: dict[str, Any], incident_id: str, round_: int, level: int, attempt: int, epoch: int = 0
) -> None:
    """Step, attempt and epoch are unused: a report belongs to no escalation step."""
    pager: Pager = ctx["pager"]
    args = JobArgs(job="report_alerts", **_fields(incident_id, round_, level, attempt, epoch))
    await _retry_on_error(ctx, args, pager.report_alerts(incident_id))


async def escalate_now(
    ctx: dict[str, Any],
    incident_id: str,
    round_: int,
    level: int,
    attempt: int,
    epoch: int,
    person: str,
) -> None:
    pager: Pager = ctx["pager"]
    fields = _fields(incident_id, round_, level, attempt, epoch)
    args = JobArgs(job="escalate_now", person=person, **fields)
    await _retry_on_error(ctx, args, pager.followups.escalate_now(incident_id, args.step, person))


async def notify_rule(
    ctx: dict[str, Any],
    incident_id: str,
    round_: int,
    level: int,
    attempt: int,
    epoch: int,
    person: str,
) -> None:
    """``attempt``: the index of the person's rule step (its retries are counted apart)."""
    pager: Pager = ctx["pager"]
    fields = _fields(incident_id, round_, level, attempt, epoch)
    args = JobArgs(job="notify_rule", person=person, **fields)
    await _retry_on_error(ctx, args, pager.rule_steps.run(incident_id, args.step, person, attempt))


async def assigned_rule(
    ctx: dict[str, Any],
    incident_id: str,
    round_: int,
    level: int,
    attempt: int,
    epoch: int,
    person: str,
) -> None:
    """``attempt``: the index of the rule step of the person the incident was handed to;
    round and level are unused (a handover belongs to no escalation step)."""
    pager: Pager = ctx["pager"]
    fields = _fields(incident_id, round_, level, attempt, epoch)
    args = JobArgs(job="assigned_rule", person=person, **fields)
    work = pager.followups.assigned_rule(incident_id, epoch, person, attempt)
    await _retry_on_error(ctx, args, work)


async def delivery_failed(
    ctx: dict[str, Any],
    incident_id: str,
    round_: int,
    level: int,
    attempt: int,
    epoch: int,
    person: str,
) -> None:
    """A page of the step to ``person`` failed after it was sent (``attempt`` is unused)."""
    pager: Pager = ctx["pager"]
    fields = _fields(incident_id, round_, level, attempt, epoch)
    args = JobArgs(job="delivery_failed", person=person, **fields)
    await _retry_on_error(ctx, args, pager.bounces.check(incident_id, args.step, person))


async def snooze_over(
    ctx: dict[str, Any], incident_id: str, round_: int, level: int, attempt: int, epoch: int = 0
) -> None:
    """Step and attempt are unused: the incident itself says whether its snooze is over."""
    pager: Pager = ctx["pager"]
    args = JobArgs(job="snooze_over", **_fields(incident_id, round_, level, attempt, epoch))
    await _retry_on_error(ctx, args, pager.followups.snooze_over(incident_id))


async def ack_expired(
    ctx: dict[str, Any], incident_id: str, round_: int, level: int, attempt: int, epoch: int = 0
) -> None:
    """Step and attempt are unused: the incident itself says whether its acknowledgement
    ran out."""
    pager: Pager = ctx["pager"]
    args = JobArgs(job="ack_expired", **_fields(incident_id, round_, level, attempt, epoch))
    await _retry_on_error(ctx, args, pager.followups.ack_expired(incident_id))


def _fields(incident_id: str, round_: int, level: int, attempt: int, epoch: int) -> _JobFields:
    return {
        "incident_id": incident_id,
        "round": round_,
        "level": level,
        "attempt": attempt,
        "epoch": epoch,
    }


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
        functions=[
            escalate,
            retry_page,
            report_alerts,
            escalate_now,
            snooze_over,
            ack_expired,
            notify_rule,
            assigned_rule,
            delivery_failed,
        ],
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
