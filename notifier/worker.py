"""The worker process: first pages straight from the router's event stream (a blocking read
wakes at once), escalation timers and retries as deferred arq jobs."""

import asyncio
import logging
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any, Literal

from arq import Retry, Worker
from arq.connections import ArqRedis
from prometheus_client import CollectorRegistry
from pydantic import BaseModel, ConfigDict
from redis.asyncio import Redis

from ingest.consuming import RETRY_AFTER, StreamConsumer, one_by_one
from ingest.deadletters import DeadLetter, DeadLetters
from ingest.stream import Entry
from notifier import keys
from notifier.escalation import Step
from notifier.paging import Pager
from router.models import IncidentEvent, IncidentEventKind
from router.store import IncidentStore

log = logging.getLogger(__name__)

JOB_RETRY_DELAY = timedelta(seconds=5)
"""Before a timer job that failed (Redis unreachable, a bug) runs again; doubled each try."""
MAX_JOB_TRIES = 8
"""Runs of one timer job before it is given up (dead letter and a page saying so): with the
doubling delay, about ten minutes of failures."""
JOBS = "jobs"
"""The ``group`` of dead letters that are timer jobs, not stream entries."""


class ArqScheduler:
    """``Scheduler`` on arq: deferred jobs on the notifier's queue, deduplicated by id."""

    def __init__(self, pool: ArqRedis) -> None:
        self.pool = pool

    async def schedule(
        self,
        job: str,
        step: Step,
        incident_id: str,
        *,
        job_id: str,
        delay: timedelta,
        attempt: int = 0,
    ) -> None:
        await self.pool.enqueue_job(
            job,
            incident_id,
            step.round,
            step.level,
            attempt,
            _job_id=job_id,
            _queue_name=keys.ARQ_QUEUE,
            _defer_by=delay,
        )


class JobArgs(BaseModel):
    """A timer job's arguments, as kept in a dead letter to be scheduled again."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    job: Literal["escalate", "retry_page"]
    incident_id: str
    round: int
    level: int
    attempt: int


async def escalate(
    ctx: dict[str, Any], incident_id: str, round_: int, level: int, attempt: int
) -> None:
    pager: Pager = ctx["pager"]
    args = JobArgs(
        job="escalate", incident_id=incident_id, round=round_, level=level, attempt=attempt
    )
    await _retry_on_error(ctx, args, pager.escalate(incident_id, Step(round_, level)))


async def retry_page(
    ctx: dict[str, Any], incident_id: str, round_: int, level: int, attempt: int
) -> None:
    pager: Pager = ctx["pager"]
    args = JobArgs(
        job="retry_page", incident_id=incident_id, round=round_, level=level, attempt=attempt
    )
    await _retry_on_error(ctx, args, pager.page(incident_id, Step(round_, level), attempt))


async def _retry_on_error(ctx: dict[str, Any], args: JobArgs, work: Awaitable[None]) -> None:
    """arq runs a job again only when it raises ``Retry``; any other error would drop the
    timer for good and the incident would never escalate further. The jobs are idempotent,
    so running one again is safe. The last try that fails leaves a dead letter and pages the
    policy's last level, rather than letting the escalation vanish."""
    try:
        await work
    except Exception as exc:
        tried = int(ctx.get("job_try") or 1)
        log.exception(
            "notifier job %s failed (try %d of %d)", ctx.get("job_id"), tried, MAX_JOB_TRIES
        )
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


async def replay_job(scheduler: "ArqScheduler", letter: DeadLetter) -> str:
    """Schedule a dead-lettered timer job again, due now; returns its new job id."""
    assert letter.payload is not None
    args = JobArgs.model_validate_json(letter.payload)
    job_id = f"{letter.entry_id}:replayed:{letter.at.timestamp():.0f}"
    await scheduler.schedule(
        args.job,
        Step(args.round, args.level),
        args.incident_id,
        job_id=job_id,
        delay=timedelta(0),
        attempt=args.attempt,
    )
    return job_id


def arq_worker(
    pool: ArqRedis,
    pager: Pager,
    *,
    poll_delay: timedelta,
    retry_delay: timedelta = JOB_RETRY_DELAY,
) -> Worker:
    return Worker(
        functions=[escalate, retry_page],
        queue_name=keys.ARQ_QUEUE,
        redis_pool=pool,
        ctx={"pager": pager, "retry_delay": retry_delay},
        handle_signals=False,
        poll_delay=poll_delay.total_seconds(),
        max_jobs=50,
        max_tries=MAX_JOB_TRIES,
        log_results=False,
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
            one_by_one(self._handle),
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
        """Handle one batch; returns how many events it is done with."""
        return await self.consumer.step()

    async def _handle(self, event: IncidentEvent, entry_id: str) -> None:
        if event.kind is IncidentEventKind.OPENED:
            await self.pager.open(event.incident_id)
        elif event.kind is IncidentEventKind.RESOLVED:
            await self.pager.resolved(event.incident_id)
        else:  # pending escalations see the acknowledgement when they run
            await self.pager.acknowledged(event.incident_id)

    async def _buried(self, entry: Entry[IncidentEvent], reason: str) -> None:
        incident_id = entry.model.incident_id if entry.model is not None else None
        await self.pager.could_not_process(incident_id, reason, f"event:{entry.id}")


def dead_letters(redis: Redis) -> DeadLetters:
    """Incident events the notifier could not act on."""
    return DeadLetters(redis, keys.DEAD_LETTERS)
