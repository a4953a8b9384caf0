"""The worker process: first pages straight from the router's event stream (a blocking read
wakes at once), escalation timers and retries as deferred arq jobs."""

import asyncio
import logging
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any

from arq import Retry, Worker
from arq.connections import ArqRedis

from ingest.stream import Entry, consume
from notifier import keys
from notifier.escalation import Step
from notifier.paging import Pager
from router.models import IncidentEvent, IncidentEventKind
from router.store import IncidentStore

log = logging.getLogger(__name__)

JOB_RETRY_DELAY = timedelta(seconds=5)
"""Before a timer job that failed (Redis unreachable, a bug) runs again."""
MAX_JOB_TRIES = 5
"""Runs of one timer job before arq gives up on it (arq's default, stated)."""
MAX_EVENT_DELIVERIES = 10
"""Reads of one incident event whose handling keeps failing (say its incident's policy was
removed from the configuration) before the consumer drops it: pending entries are read before
new ones, so until then it holds back every event after it."""


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


async def escalate(
    ctx: dict[str, Any], incident_id: str, round_: int, level: int, attempt: int
) -> None:
    pager: Pager = ctx["pager"]
    await _retry_on_error(ctx, pager.escalate(incident_id, Step(round_, level)))


async def retry_page(
    ctx: dict[str, Any], incident_id: str, round_: int, level: int, attempt: int
) -> None:
    pager: Pager = ctx["pager"]
    await _retry_on_error(ctx, pager.page(incident_id, Step(round_, level), attempt))


async def _retry_on_error(ctx: dict[str, Any], work: Awaitable[None]) -> None:
    """arq runs a job again only when it raises ``Retry``; any other error would drop the
    timer for good and the incident would never escalate further. The jobs are idempotent,
    so running one again is safe."""
    try:
        await work
    except Exception as exc:
        log.exception(
            "notifier job %s failed (try %s of %d)",
            ctx.get("job_id"),
            ctx.get("job_try"),
            MAX_JOB_TRIES,
        )
        raise Retry(defer=ctx["retry_delay"]) from exc


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


class EventsPending(Exception):
    """Some events of a batch failed and stay pending, to be read again."""

    def __init__(self, count: int) -> None:
        super().__init__(f"{count} incident event(s) failed; they will be read again")
        self.count = count


class EventConsumer:
    """Acts on the router's incident events; acknowledges each once acted on."""

    def __init__(
        self,
        store: IncidentStore,
        pager: Pager,
        consumer: str,
        *,
        block: timedelta = timedelta(seconds=1),
    ) -> None:
        self.events = store.events
        self.pager = pager
        self.consumer = consumer
        self.block = block

    async def run(self, stop: asyncio.Event) -> None:
        await self.events.ensure_group(keys.EVENTS_GROUP)
        # Failing events were logged one by one as they failed.
        await consume(stop, self.step, what="handling incident events", logged=EventsPending)

    async def step(self) -> int:
        """Handle one batch; returns its size. An event whose handling fails stays pending
        (read again first next time) while the rest of the batch goes on; then the step
        raises ``EventsPending``. After ``MAX_EVENT_DELIVERIES`` reads a failing event is
        dropped, so it cannot hold back every event after it."""
        entries = await self.events.read(keys.EVENTS_GROUP, self.consumer, block=self.block)
        failed = 0
        for entry in entries:
            try:
                await self._handle(entry)
            except Exception:
                reads = await self._reads(entry.id)
                if reads < MAX_EVENT_DELIVERIES:
                    log.exception("incident event %s failed (read %d times)", entry.id, reads)
                    failed += 1
                    continue
                log.exception("dropping incident event %s: failed %d times", entry.id, reads)
            await self.events.ack(keys.EVENTS_GROUP, [entry.id])
        if failed:
            raise EventsPending(failed)
        return len(entries)

    async def _handle(self, entry: Entry[IncidentEvent]) -> None:
        event = entry.model
        if event is None:
            log.error("dropping unreadable incident event %s: %s", entry.id, entry.error)
        elif event.kind is IncidentEventKind.OPENED:
            await self.pager.open(event.incident_id)
        elif event.kind is IncidentEventKind.RESOLVED:
            await self.pager.resolved(event.incident_id)
        # Acknowledged: nothing to send; pending escalations see it when they run.

    async def _reads(self, entry_id: str) -> int:
        """How often the group has handed out the entry (re-reads of pending entries count)."""
        pending = await self.events.redis.xpending_range(
            self.events.key, keys.EVENTS_GROUP, min=entry_id, max=entry_id, count=1
        )
        return int(pending[0]["times_delivered"]) if pending else 0
