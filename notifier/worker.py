"""The worker process: first pages straight from the router's event stream (a blocking read
wakes at once), escalation timers and retries as deferred arq jobs."""

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import Any

from arq import Worker
from arq.connections import ArqRedis

from notifier import keys
from notifier.escalation import Step
from notifier.paging import Pager
from router.models import IncidentEventKind
from router.store import IncidentStore

log = logging.getLogger(__name__)

RETRY_AFTER_ERROR = timedelta(seconds=1)


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
    await pager.escalate(incident_id, Step(round_, level))


async def retry_page(
    ctx: dict[str, Any], incident_id: str, round_: int, level: int, attempt: int
) -> None:
    pager: Pager = ctx["pager"]
    await pager.page(incident_id, Step(round_, level), attempt)


def arq_worker(pool: ArqRedis, pager: Pager, *, poll_delay: timedelta) -> Worker:
    return Worker(
        functions=[escalate, retry_page],
        queue_name=keys.ARQ_QUEUE,
        redis_pool=pool,
        ctx={"pager": pager},
        handle_signals=False,
        poll_delay=poll_delay.total_seconds(),
        max_jobs=50,
        log_results=False,
    )


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
        while not stop.is_set():
            try:
                await self.step()
            except Exception:
                # Unacknowledged events come back on the next read; pause so a persistent
                # fault (Redis down) does not spin.
                log.exception("handling incident events failed; retrying")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), RETRY_AFTER_ERROR.total_seconds())

    async def step(self) -> int:
        entries = await self.events.read(keys.EVENTS_GROUP, self.consumer, block=self.block)
        for entry in entries:
            event = entry.model
            if event is None:
                log.error("dropping unreadable incident event %s: %s", entry.id, entry.error)
            elif event.kind is IncidentEventKind.OPENED:
                await self.pager.open(event.incident_id)
            elif event.kind is IncidentEventKind.RESOLVED:
                await self.pager.resolved(event.incident_id)
            # Acknowledged: nothing to send; pending escalations see it when they run.
            await self.events.ack(keys.EVENTS_GROUP, [entry.id])
        return len(entries)
